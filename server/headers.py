"""Security headers on every page (issue 13): no inline script, no framing, no sniffing, no referrer
leaving the site, and no caching of a page that shows a secret (a box key, the iCal address).

A view that shows a secret sets `g.no_store = True`. The box API is left alone: its answers are binary
frames read by a modem, and every header byte travels over GPRS.
"""

from flask import g, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def init_app(app):
    @app.after_request
    def _security_headers(response):
        if request.blueprint == "box_api":
            return response
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if g.get("no_store"):
            response.headers["Cache-Control"] = "no-store"
        return response
