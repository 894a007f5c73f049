"""A circuit breaker per agency, its state in Redis so every process sees the same one.

closed -> (``failures`` consecutive failures) -> open: calls fail fast with CIRCUIT_OPEN
open -> (after ``reset_s``) -> half-open: exactly one trial call is let through (a SET NX lock)
half-open -> trial succeeds -> closed; trial fails -> open again for ``reset_s``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hub.errors import CircuitOpen

# admit(key, trial timeout ms) -> 'closed' | 'trial' | 'open'. A Lua function so the agency guard can run
# it in the same script as the rate-limit reservation (one round trip per attempt).
ADMIT_LUA = """
local function admit(key, trial_timeout)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local state = redis.call('HGET', key, 'state') or 'closed'
  if state == 'closed' then return 'closed' end
  local until_ms = tonumber(redis.call('HGET', key, 'open_until') or 0)
  if now < until_ms then return 'open' end
  if redis.call('HSETNX', key, 'trial', now) == 1 then return 'trial' end
  local trial_at = tonumber(redis.call('HGET', key, 'trial'))
  if now - trial_at > trial_timeout then
    redis.call('HSET', key, 'trial', now)
    return 'trial'
  end
  return 'open'
end
"""
_ADMIT = ADMIT_LUA + "return admit(KEYS[1], tonumber(ARGV[1]))\n"

# KEYS[1] = state hash; ARGV = outcome ('ok'|'fail'), failure threshold, reset ms.
_RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'ok' then
  redis.call('DEL', KEYS[1])
  return 'closed'
end
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state ~= 'closed' or failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', now + tonumber(ARGV[3]))
  redis.call('HDEL', KEYS[1], 'trial')
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 10)
  return 'open'
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 10)
return 'closed'
"""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, redis: Any, key: str, *, failures: int, reset_s: float, trial_timeout_s: float = 30.0) -> None:
        self.redis = redis
        self.key = key
        self.failures = failures
        self.reset_ms = int(reset_s * 1000)
        self.trial_timeout_ms = int(trial_timeout_s * 1000)
        self._admit = redis.register_script(_ADMIT)
        self._record = redis.register_script(_RECORD)

    async def admit(self, agency: str) -> bool:
        """True when this call is the half-open trial; raises CircuitOpen while the breaker is open."""
        return self.judge(_text(await self._admit(keys=[self.key], args=[self.trial_timeout_ms])), agency)

    @staticmethod
    def judge(verdict: str, agency: str) -> bool:
        if verdict == "open":
            raise CircuitOpen(f"{agency}: circuit open after repeated failures; failing fast",
                              rule="breaker_open", agency=agency)
        return verdict == "trial"

    async def record(self, ok: bool) -> None:
        await self._record(keys=[self.key], args=["ok" if ok else "fail", self.failures, self.reset_ms])

    async def state(self) -> BreakerState:
        raw = await self.redis.hgetall(self.key)
        data = {_text(k): _text(v) for k, v in raw.items()}
        if data.get("state") != "open":
            return BreakerState.CLOSED
        return BreakerState.HALF_OPEN if "trial" in data else BreakerState.OPEN


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
