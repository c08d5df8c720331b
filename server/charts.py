"""Server-rendered SVG charts (no JavaScript, no external library): horizontal bars with labels."""

from markupsafe import Markup, escape


def bar_chart(items, title, unit="", width=640, bar_h=22):
    """`items`: [(label, value)] with value >= 0. Returns an inline <svg> as Markup."""
    items = [(str(label), max(0, value or 0)) for label, value in items]
    label_w, pad = 150, 6
    height = 30 + len(items) * (bar_h + pad) + 10
    top = max([v for _l, v in items] + [1])
    span = width - label_w - 90
    parts = ['<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" '
             'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
             % (escape(title), width, height, width, height),
             '<title>%s</title>' % escape(title),
             '<text x="0" y="16" font-weight="bold">%s</text>' % escape(title)]
    for i, (label, value) in enumerate(items):
        y = 30 + i * (bar_h + pad)
        w = int(span * value / top)
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_w - 8, y + bar_h - 6, escape(label)))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#000091"><title>%s : %s %s</title></rect>'
                     % (label_w, y, w, bar_h, escape(label), escape(_num(value)), escape(unit)))
        parts.append('<text x="%d" y="%d">%s %s</text>' % (label_w + w + 6, y + bar_h - 6, escape(_num(value)),
                                                           escape(unit)))
    parts.append("</svg>")
    return Markup("".join(parts))


def _num(value):
    if isinstance(value, float):
        return ("%.1f" % value).replace(".", ",")
    return "{:,}".format(value).replace(",", "\u202f")
