"""A per-agency rate limit shared by every process through Redis (GCRA, the generic cell rate algorithm).

GCRA keeps one number per agency, the theoretical arrival time (TAT) of the next call. A call may go at
``max(now, TAT - burst)``; taking the slot moves TAT on by one emission interval. Unlike a fixed window
it never lets 2x the rate through at a window boundary, and unlike a token bucket it needs no refill
job. The script runs atomically in Redis and uses Redis's clock, so process clocks do not matter.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

# gcra(key, interval µs, burst µs) -> the µs the caller must wait before its slot (0 = go now). The slot is
# reserved either way, so callers queue fairly instead of stampeding when the limit is reached. Kept as a
# Lua function so the agency guard can run it in the same script as the breaker check (one round trip).
GCRA_LUA = """
local function gcra(key, interval, burst)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local start = tat - burst
  local wait = 0
  if start > now then wait = start - now end
  local new_tat = tat + interval
  redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
  return wait
end
"""
_GCRA = GCRA_LUA + "return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))\n"


class RateLimiter:
    def __init__(self, redis: Any, key: str, rate_per_s: float, burst: int = 1) -> None:
        self.redis = redis
        self.key = key
        self.interval_us = int(1_000_000 / rate_per_s)
        self.burst_us = max(0, burst - 1) * self.interval_us
        self._script = redis.register_script(_GCRA)

    async def reserve(self) -> float:
        """Reserve the next slot; returns the seconds to wait before using it."""
        wait_us = await self._script(keys=[self.key], args=[self.interval_us, self.burst_us])
        return int(wait_us) / 1_000_000

    async def acquire(self, deadline: float | None = None) -> None:
        """Wait for a slot. Refuses at once (TimeoutError) if the slot comes after ``deadline``
        (a time.monotonic() value): better to say so now than to sleep past the caller's deadline."""
        wait = await self.reserve()
        if deadline is not None and time.monotonic() + wait > deadline:
            raise TimeoutError("the agency's rate limit leaves no slot before the deadline")
        if wait > 0:
            await asyncio.sleep(wait)
