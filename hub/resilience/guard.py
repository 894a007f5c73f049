"""One agency's guard: every connector call goes through ``AgencyGuard.call``.

Order per attempt: concurrency slot (this process) -> breaker (fail fast while open) and rate-limit slot
(all processes, via Redis, one script and one round trip) -> after waiting for that slot, the send window
(never more sends in a rolling second than the paced quota; a call free to go at once was counted by the
first script) -> the call under ``min(operation timeout, remaining deadline)`` -> the outcome to the
breaker. A success is reported only when the breaker had something to forget (failures counted, or a
trial under way): the common case, a healthy agency, then costs one Redis round trip per attempt instead
of three.
Retries (tenacity, exponential backoff with jitter) happen only when the operation is idempotent or
carries an idempotency key, only for errors that say they are transient (AgencyUnavailable,
AgencyTimeout), never for CancelledError, and never past the caller's deadline: a retry that could not
finish in time is not started.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from hub.agencies import AgencyConfig
from hub.errors import AgencyError, AgencyTimeout
from hub.ops.metrics import RETRIES
from hub.resilience.breaker import ADMIT_LUA, CircuitBreaker
from hub.resilience.context import CallContext
from hub.resilience.rate_limit import GCRA_LUA, WINDOW_LUA, RateLimiter, send_name

T = TypeVar("T")

QUOTA_HEADROOM = 0.96


class _OutOfTime(stop_base):
    """Starting another attempt that cannot finish before the caller's deadline only adds load."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.ctx.remaining() - retry_state.upcoming_sleep < 0.05


# KEYS = breaker hash, rate-limit TAT key, send window; ARGV = trial timeout ms, emission interval µs, burst
# µs, this send's window member, window cap. Returns {verdict, µs to wait for the rate slot, 1 when the
# breaker hash exists, the send window's answer (0: counted as sent now; -1: not asked, the call waits for
# its slot first; more: the window is full, the call waits for it)}. No slot is taken while the breaker is
# open: a call that will not be made must not use up the agency's quota. A call free to go at once is
# counted in the send window by the same round trip.
_ADMIT_AND_RESERVE = ADMIT_LUA + GCRA_LUA + WINDOW_LUA + """
local verdict = admit(KEYS[1], tonumber(ARGV[1]))
if verdict == 'open' then return {verdict, 0, 1, 0} end
local wait = gcra(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]))
local sent = -1
if wait == 0 then sent = window(KEYS[3], ARGV[4], tonumber(ARGV[5])) end
return {verdict, wait, redis.call('EXISTS', KEYS[1]), sent}
"""


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, AgencyError) and exc.transient


class AgencyGuard:
    def __init__(self, agency_id: str, config: AgencyConfig, redis: Any, key_prefix: str) -> None:
        self.agency_id = agency_id
        self.config = config
        self.semaphore = asyncio.Semaphore(config.concurrency)
        # The configured rate is the agency's quota, and a quota is counted at the agency: no burst above
        # it, paced with 4% headroom, and never more than that many sends in any rolling second at the hub,
        # so that a call reaching the agency up to ~40 ms later than its neighbours (the network, the
        # agency's own queue) cannot put one call more than the quota into a one-second window there.
        paced = config.rate_limit_per_s * QUOTA_HEADROOM
        self.limiter = RateLimiter(redis, f"{key_prefix}rate:{agency_id}", paced, burst=1,
                                   window_cap=max(1, math.floor(paced + 1e-9)))
        self.breaker = CircuitBreaker(redis, f"{key_prefix}breaker:{agency_id}", failures=config.breaker.failures,
                                      reset_s=config.breaker.reset_s, trial_timeout_s=config.timeout_s * 2)
        self._admit_and_reserve = redis.register_script(_ADMIT_AND_RESERVE)
        self.attempts_made = 0  # for tests and metrics: how many attempts (including retries) went out

    async def call(self, fn: Callable[[float], Awaitable[T]], ctx: CallContext, *, idempotent: bool) -> T:
        """Run ``fn(timeout_s)`` under the guard; ``fn`` does one attempt of the agency call."""
        retryable = idempotent or ctx.idempotency_key is not None
        policy = self.config.retry

        retrying = AsyncRetrying(
            stop=stop_any(stop_after_attempt(policy.attempts if retryable else 1), _OutOfTime(ctx)),
            wait=wait_exponential_jitter(multiplier=policy.backoff_initial_s, max=policy.backoff_max_s,
                                         jitter=policy.backoff_initial_s),
            retry=retry_if_exception(_is_transient), reraise=True)
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    RETRIES.labels(self.agency_id).inc()
                return await self._once(fn, ctx)
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _once(self, fn: Callable[[float], Awaitable[T]], ctx: CallContext) -> T:
        async with self.semaphore:
            member = send_name()
            verdict, wait_us, tracked, window_us = await self._admit_and_reserve(
                keys=[self.breaker.key, self.limiter.key, self.limiter.window_key],
                args=[self.breaker.trial_timeout_ms, self.limiter.interval_us, self.limiter.burst_us, member,
                      self.limiter.window_cap])
            CircuitBreaker.judge(verdict.decode() if isinstance(verdict, bytes) else str(verdict), self.agency_id)
            wait = int(wait_us) / 1_000_000
            if time.monotonic() + wait > ctx.deadline:
                raise AgencyTimeout(f"{self.agency_id}: no rate-limit slot before the deadline",
                                    rule="rate_limit_deadline")
            if wait > 0:
                await asyncio.sleep(wait)
            if int(window_us) != 0:  # not yet counted as sent: the moment of sending is checked now
                try:
                    await self.limiter.send_slot(member, ctx.deadline)
                except TimeoutError:
                    raise AgencyTimeout(f"{self.agency_id}: no quota slot before the deadline",
                                        rule="rate_limit_deadline") from None
            budget = min(self.config.timeout_s, ctx.remaining())
            if budget <= 0:
                raise AgencyTimeout(f"{self.agency_id}: the deadline passed before the call", rule="deadline")
            self.attempts_made += 1
            try:
                async with asyncio.timeout(budget):
                    result = await fn(budget)
            except TimeoutError:
                await self.breaker.record(ok=False)
                raise AgencyTimeout(f"{self.agency_id} did not answer within {budget:.2f} s", rule="timeout") from None
            except AgencyError as exc:
                # A clean refusal or "not found" is the agency working; only failures count against it.
                ok = exc.code in ("NOT_FOUND", "AGENCY_REJECTED")
                if not ok or tracked:
                    await self.breaker.record(ok=ok)
                raise
            if tracked:
                await self.breaker.record(ok=True)
            return result
