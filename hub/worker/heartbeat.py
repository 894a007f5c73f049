"""Each worker process announces itself in one Redis key with a TTL; ops list the live ones.

A key per worker (rather than one hash) lets Redis expire a killed worker's announcement by itself:
nothing has to notice the death and clean up.
"""

from __future__ import annotations

import json
import re
from typing import Any

import redis.asyncio as aioredis


def heartbeat_key(key_prefix: str, consumer: str) -> str:
    return f"{key_prefix}worker:{consumer}"


async def beat(redis: aioredis.Redis, key_prefix: str, consumer: str, state: dict[str, Any], ttl_ms: int) -> None:
    await redis.set(heartbeat_key(key_prefix, consumer), json.dumps(state), px=ttl_ms)


async def leave(redis: aioredis.Redis, key_prefix: str, consumer: str) -> None:
    await redis.delete(heartbeat_key(key_prefix, consumer))


async def live_workers(redis: aioredis.Redis, key_prefix: str) -> list[dict[str, Any]]:
    """The last announcement of every worker whose heartbeat has not expired, by consumer name."""
    pattern = heartbeat_key(re.sub(r"([*?\[\]\\])", r"\\\1", key_prefix), "*")
    keys = sorted([k async for k in redis.scan_iter(match=pattern, count=500)])
    if not keys:
        return []
    values = await redis.mget(keys)
    return [json.loads(v) for v in values if v is not None]  # expired between SCAN and MGET: gone
