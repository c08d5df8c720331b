"""Security headers on every page (issue 13): no inline script, no framing, no sniffing, no referrer
leaving the site, and no caching of a page that shows a secret (a box key, the iCal address).

A view that shows a secret sets `g.no_store = True`. The box API is left alone: its answers are binary
frames read by a modem, and every header byte travels over GPRS.
"""

from urllib.parse import urlsplit

from flask import g, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:%s; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def csp(tile_url):
    """The policy; a configured map tile server (MAP_TILE_URL) is the one origin images may come from."""
    if not tile_url:
        return CSP % ""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    return CSP % (" %s://%s" % (parts.scheme, parts.netloc))


def init_app(app):
    headers = dict(HEADERS, **{"Content-Security-Policy": csp(app.config.get("MAP_TILE_URL"))})

    @app.after_request
    def _security_headers(response):
        if request.blueprint == "box_api":
            return response
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if g.get("no_store"):
            response.headers["Cache-Control"] = "no-store"
        return response
