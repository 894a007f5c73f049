"""A per-agency rate limit shared by every process through Redis (GCRA, the generic cell rate algorithm).

GCRA keeps one number per agency, the theoretical arrival time (TAT) of the next call. A call may go at
``max(now, TAT - burst)``; taking the slot moves TAT on by one emission interval. Unlike a fixed window
it never lets 2x the rate through at a window boundary, and unlike a token bucket it needs no refill
job. The script runs atomically in Redis and uses Redis's clock, so process clocks do not matter.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import socket
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

# window(key, member, cap) -> 0 when the call may be sent now (and it is counted as sent), else the µs until
# the oldest send of the last second leaves the window. GCRA spaces the reservations, but a call can leave
# later than its slot (a busy event loop, a slow signature) and then go out right beside the next one: two
# such late calls put one second at the agency two calls over the pace. So the moment of sending is checked
# too: never more than ``cap`` sends in any rolling second, counted by Redis's clock over every process.
WINDOW_LUA = """
local function window(key, member, cap)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - 1000000)
  if redis.call('ZCARD', key) < cap then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, 2000)
    return 0
  end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + 1000000 - now + 1
end
"""
_WINDOW = WINDOW_LUA + "return window(KEYS[1], ARGV[1], tonumber(ARGV[2]))\n"


# Names of sends in the window: unique across processes and hosts without asking the kernel for
# randomness on every call (os.urandom showed up at 2.5% of a verification's event-loop time).
_HOST = socket.gethostname()
_sends = itertools.count()


def send_name() -> str:
    return f"{_HOST}:{os.getpid()}:{next(_sends)}"  # the pid read each time: a forked child is another sender


class RateLimiter:
    """GCRA pacing at ``rate_per_s`` and a cap of ``window_cap`` sends in any rolling second (default: the
    rate, rounded down), both shared by every process through Redis. The GCRA slot is reserved by the
    agency guard's own script (with the breaker, one round trip); the window is checked here."""

    def __init__(self, redis: Any, key: str, rate_per_s: float, burst: int = 1, window_cap: int | None = None) -> None:
        self.redis = redis
        self.key = key
        self.interval_us = int(1_000_000 / rate_per_s)
        self.burst_us = max(0, burst - 1) * self.interval_us
        self.window_key = f"{key}:sent"
        self.window_cap = window_cap if window_cap is not None else max(1, math.floor(rate_per_s))
        self._window = redis.register_script(_WINDOW)

    async def send_slot(self, member: str, deadline: float | None = None) -> None:
        """Wait until the call may be sent without putting more than ``window_cap`` sends in a rolling second,
        and count it as sent. ``member`` names this send (unique). TimeoutError when that comes after
        ``deadline`` (a time.monotonic() value)."""
        while True:
            wait_us = int(await self._window(keys=[self.window_key], args=[member, self.window_cap]))
            if wait_us <= 0:
                return
            wait = wait_us / 1_000_000
            if deadline is not None and time.monotonic() + wait > deadline:
                raise TimeoutError("the agency's quota leaves no slot before the deadline")
            await asyncio.sleep(wait)
