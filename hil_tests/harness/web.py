"""An agent in a browser, as far as the bench needs one: log in and book a car through the real pages
(login form, CSRF token, the booking form), over HTTP on loopback."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

CSRF_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class WebAgent:
    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=10) as r:
            return r.status, r.geturl(), r.read().decode("utf-8", "replace")

    def post(self, path, fields):
        status, _url, page = self.get(path)
        token = CSRF_RE.search(page)
        data = dict(fields)
        if token:
            data["csrf_token"] = token.group(1)
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=10) as r:
                return r.status, r.geturl(), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, path, exc.read().decode("utf-8", "replace")

    def login(self, email, password):
        status, url, page = self.post("/connexion", {"email": email, "password": password})
        if "/connexion" in url and status != 200 or "incorrect" in page:
            raise AssertionError("login refused for %s" % email)
        return status

    def book(self, vehicle_id, start, end, purpose="Mission", destination="Préfecture"):
        """Book through /reserver (local Paris time fields); returns the page the booking redirects to."""
        from server import timeutil

        s, e = timeutil.local(start), timeutil.local(end)
        fields = {"date": s.date().isoformat(), "start": s.strftime("%H:%M"), "end_date": e.date().isoformat(),
                  "end": e.strftime("%H:%M"), "vehicle_id": str(vehicle_id), "purpose": purpose,
                  "destination": destination}
        status, url, page = self.post("/reserver", fields)
        if status != 200 or "mes-reservations" not in url:
            raise AssertionError("booking refused (%d %s): %s" % (status, url, _errors(page)))
        return page


def _errors(page):
    found = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', page)
    return "; ".join(f.strip() for f in found)[:400] or page[:400]
