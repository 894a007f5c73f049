"""Redis connections: one client per process, bounded by timeouts so a dead Redis fails fast."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

# A readiness probe or an API call must not hang on a Redis that accepts TCP but never answers.
_SOCKET_TIMEOUT_S = 2.0


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=_SOCKET_TIMEOUT_S,
                                socket_connect_timeout=_SOCKET_TIMEOUT_S, decode_responses=False)


def async_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_timeout=_SOCKET_TIMEOUT_S,
                                   socket_connect_timeout=_SOCKET_TIMEOUT_S, decode_responses=False)
