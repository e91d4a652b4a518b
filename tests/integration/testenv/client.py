# Minimal HTTP client for tests: no redirects followed, cookies returned,
# TCP or Unix socket.  Standard library only.
import http.client
import json
import socket
import urllib.parse
from http.cookies import SimpleCookie


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    @property
    def cookies(self):
        """{name: value} from every Set-Cookie header."""
        jar = SimpleCookie()
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                jar.load(v)
        return {k: m.value for k, m in jar.items()}

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:80])


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def request(url, method="GET", data=None, cookies=None, headers=None,
            timeout=10.0, unix_socket=None):
    """Send one request to URL and return a Response (never raises on 4xx/5xx).

    DATA (dict → form-encoded, or bytes) is the body; COOKIES a dict.
    With UNIX_SOCKET the URL's host is only used for the Host header.
    """
    u = urllib.parse.urlsplit(url)
    if unix_socket:
        conn = _UnixConnection(str(unix_socket), timeout)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                          timeout=timeout)
    hdrs = {"Host": u.netloc or "localhost", "Connection": "close"}
    if cookies:
        hdrs["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    body = None
    if isinstance(data, dict):
        body = urllib.parse.urlencode(data).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = data
    hdrs.update(headers or {})
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    try:
        conn.request(method, target, body=body, headers=hdrs)
        resp = conn.getresponse()
        return Response(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def get(url, **kw):
    return request(url, "GET", **kw)


def post(url, data=None, **kw):
    return request(url, "POST", data=data, **kw)
