"""The hub's asyncio Redis client queues commands for a connection instead of failing them."""

from __future__ import annotations

import asyncio
import time

from adapters.redis_client import async_client
from tests.conftest import REDIS_PREFIX, REDIS_URL


async def _hold_connections(n: int, max_connections: int) -> tuple[list[object], float]:
    client = async_client(REDIS_URL, max_connections=max_connections)
    key = f"{REDIS_PREFIX}pool:{time.monotonic_ns()}"  # never pushed to: each BLPOP holds its connection 0.2 s
    began = time.monotonic()
    try:
        results = await asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(n)),
                                       return_exceptions=True)
    finally:
        await client.aclose()
    return list(results), time.monotonic() - began


def test_more_concurrent_commands_than_connections_wait_for_one() -> None:
    # 30 commands on 10 connections: three rounds of 0.2 s. redis-py's default asyncio pool fails the 11th
    # at once with "Too many connections".
    results, took = asyncio.run(_hold_connections(30, 10))
    assert results == [None] * 30
    assert took >= 0.55

