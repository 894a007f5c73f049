"""Pooled HTTP clients for agencies: one httpx.AsyncClient per agency, bounded and timed out."""

from __future__ import annotations

from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx


class NoCookies(CookieJar):
    """A jar that keeps nothing. A call to an agency stands on its own credentials (certificate, signature,
    bearer token): a cookie one answer sets must not ride along on the next call, which may be made for
    another case and another officer. Not parsing Set-Cookie on every answer also saves CPU."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


def pooled_client(base_url: str, *, timeout_s: float, connect_timeout_s: float,
                  max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,  # a redirect from an agency is a configuration error, not something to follow
        cookies=NoCookies(),
    )
