"""One agency's guard: every connector call goes through ``AgencyGuard.call``.

Order per attempt: breaker (fail fast while open) -> concurrency slot (this process) -> rate-limit slot
(all processes, via Redis) -> the call under ``min(operation timeout, remaining deadline)``.
Retries (tenacity, exponential backoff with jitter) happen only when the operation is idempotent or
carries an idempotency key, only for errors that say they are transient (AgencyUnavailable,
AgencyTimeout), never for CancelledError, and never past the caller's deadline: a retry that could not
finish in time is not started.
"""

from __future__ import annotations

import asyncio
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
from hub.resilience.breaker import CircuitBreaker
from hub.resilience.context import CallContext
from hub.resilience.rate_limit import RateLimiter

T = TypeVar("T")


class _OutOfTime(stop_base):
    """Starting another attempt that cannot finish before the caller's deadline only adds load."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.ctx.remaining() - retry_state.upcoming_sleep < 0.05


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, AgencyError) and exc.transient


class AgencyGuard:
    def __init__(self, agency_id: str, config: AgencyConfig, redis: Any, key_prefix: str) -> None:
        self.agency_id = agency_id
        self.config = config
        self.semaphore = asyncio.Semaphore(config.concurrency)
        self.limiter = RateLimiter(redis, f"{key_prefix}rate:{agency_id}", config.rate_limit_per_s,
                                   burst=max(1, int(config.rate_limit_per_s // 10)))
        self.breaker = CircuitBreaker(redis, f"{key_prefix}breaker:{agency_id}", failures=config.breaker.failures,
                                      reset_s=config.breaker.reset_s, trial_timeout_s=config.timeout_s * 2)
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
                return await self._once(fn, ctx)
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _once(self, fn: Callable[[float], Awaitable[T]], ctx: CallContext) -> T:
        await self.breaker.admit(self.agency_id)
        async with self.semaphore:
            try:
                await self.limiter.acquire(deadline=ctx.deadline)
            except TimeoutError:
                raise AgencyTimeout(f"{self.agency_id}: no rate-limit slot before the deadline",
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
                await self.breaker.record(ok=exc.code in ("NOT_FOUND", "AGENCY_REJECTED"))
                raise
            await self.breaker.record(ok=True)
            return result
