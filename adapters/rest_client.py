"""Pooled HTTP clients for REST agencies: one httpx.AsyncClient per agency, bounded and timed out."""

from __future__ import annotations

import httpx


def pooled_client(base_url: str, *, timeout_s: float, connect_timeout_s: float,
                  max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,  # a redirect from an agency is a configuration error, not something to follow
    )
