"""Redis connections: one client per process, bounded by timeouts so a dead Redis fails fast."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

# A readiness probe or an API call must not hang on a Redis that accepts TCP but never answers.
_SOCKET_TIMEOUT_S = 2.0
# Connections one process opens at most. redis-py's asyncio pool has a bound of 100 by default and fails
# the 101st concurrent command at once ("Too many connections"): a worker with many entries in flight, or
# an API process under a burst, would then fail work that only had to wait a moment. The blocking pool
# makes a command wait for a free connection instead, for at most the socket timeout.
MAX_CONNECTIONS = 256


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=_SOCKET_TIMEOUT_S,
                                socket_connect_timeout=_SOCKET_TIMEOUT_S, decode_responses=False)


def async_client(url: str, *, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=_SOCKET_TIMEOUT_S, socket_timeout=_SOCKET_TIMEOUT_S,
        socket_connect_timeout=_SOCKET_TIMEOUT_S, decode_responses=False)
    return aioredis.Redis.from_pool(pool)
