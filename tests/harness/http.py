"""One way for tests to ask a Jupyter server (or anything behind a forward) for /api/status."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request


def api_status(url: str, timeout: float = 10) -> int:
    """GET <base_url>api/status at the host:port of a copied URL, with the URL's token as a header.

    The token goes in an Authorization header, as a browser's first request
    would carry it in the URL; a 403 is returned, not raised.
    """
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
    base = parts.path if parts.path.endswith("/") else parts.path + "/"
    return status_of(parts.port, token, base, host=parts.hostname or "127.0.0.1", timeout=timeout)


# No proxy, whatever the environment says: these requests are for this machine only.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status_of(port: int, token: str = "", base: str = "/", host: str = "127.0.0.1", timeout: float = 10) -> int:
    """GET http://HOST:PORT<base>api/status; the HTTP status (403 and 404 too)."""
    host = "127.0.0.1" if host == "localhost" else host
    return get(f"http://{host}:{port}{base}api/status", token, timeout)


def get(url: str, token: str = "", timeout: float = 10) -> int:
    """The HTTP status of GET `url`, with `token` in an Authorization header (403 and 404 too)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with _DIRECT.open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def answers(url: str, fetch=get) -> bool:
    """Whether `fetch(url)` (get, or api_status for a copied URL) gives 200; False, not an error,
    while nothing answers there yet (refused, reset)."""
    try:
        return fetch(url) == 200
    except OSError:
        return False
