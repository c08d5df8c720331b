"""Server-rendered SVG charts (no JavaScript, no external library, nothing a strict CSP blocks): horizontal
bars with the category axis labelled on the left, a value axis with gridlines, ticks and its title (unit
included) at the bottom, and each bar's value at its end.

An SVG scales its text with its width, so one drawing cannot be readable both at 360 px and at 900 px:
`bar_chart` returns two drawings of the same data, one laid out for a desk (900 units wide, shown from
40rem and at least 600 px wide) and one for a phone (360 units, full width); CSS shows one of them.
"""

from markupsafe import Markup, escape

LAYOUTS = {  # name: (width, label column, font size, bar height)
    "desk": (900, 130, 15, 26),
    "phone": (360, 64, 12, 20),
}
COLOR = "#000091"
GRID = "#8a8a8a"  # 3.5:1 on white: gridlines are not text (WCAG 1.4.11 asks 3:1 for graphics)


def nice_step(top, ticks=4):
    """A round step (1, 2 or 5 x 10^n) giving about `ticks` intervals up to `top`."""
    raw = max(top, 1) / ticks
    magnitude = 1
    while magnitude * 10 <= raw:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def bar_chart(items, title, unit="", axis_label="", category_label=""):
    """`items`: [(label, value)] with value >= 0; `axis_label`: the value axis' title (its unit in it).
    Returns the two inline <svg> drawings (desk and phone) as Markup."""
    items = [(str(label), max(0, value or 0)) for label, value in items]
    return Markup("".join(_svg(items, title, unit, axis_label or unit, category_label, name)
                          for name in ("desk", "phone")))


def _svg(items, title, unit, axis_label, category_label, layout):
    width, label_w, font, bar_h = LAYOUTS[layout]
    pad, top_y = bar_h // 3, font * 3
    value_w = font * 5  # room for the value written after the longest bar
    span = width - label_w - value_w
    step = nice_step(max([v for _l, v in items] + [0]))
    axis_top = step * max(1, -(-max([v for _l, v in items] + [0]) // step))
    plot_h = len(items) * (bar_h + pad)
    height = top_y + plot_h + font * 4
    x = lambda v: label_w + int(span * v / axis_top)  # noqa: E731
    parts = ['<svg class="chart chart-%s" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" '
             'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" '
             'font-size="%d" fill="#161616">' % (layout, escape(title), width, height, width, height, font),
             '<title>%s</title>' % escape(title),
             '<text x="0" y="%d" font-weight="bold" font-size="%d">%s</text>' % (font + 2, font + 2, escape(title))]
    if category_label:
        parts.append('<text x="%d" y="%d" text-anchor="end" font-style="italic">%s</text>'
                     % (label_w - 8, top_y - 6, escape(category_label)))
    # value axis: gridlines, ticks and their values, then the axis title
    tick = 0
    while tick <= axis_top:
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1"/>'
                     % (x(tick), top_y - 2, x(tick), top_y + plot_h + 4, GRID))
        parts.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
                     % (x(tick), top_y + plot_h + font + 6, escape(_num(tick))))
        tick += step
    parts.append('<text x="%d" y="%d" text-anchor="middle" font-style="italic">%s</text>'
                 % (label_w + span // 2, top_y + plot_h + 2 * font + 12, escape(axis_label)))
    for i, (label, value) in enumerate(items):
        y = top_y + i * (bar_h + pad)
        w = x(value) - label_w
        text = "%s %s" % (_num(value), unit) if unit else _num(value)
        baseline = y + bar_h * 3 // 4
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_w - 8, baseline, escape(label)))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s : %s</title></rect>'
                     % (label_w, y, w, bar_h, COLOR, escape(label), escape(text)))
        parts.append('<text x="%d" y="%d">%s</text>' % (label_w + w + 6, baseline, escape(text)))
    parts.append("</svg>")
    return "".join(parts)


def _num(value):
    if isinstance(value, float):
        return ("%.1f" % value).replace(".", ",")
    return "{:,}".format(value).replace(",", "\u202f")
