"""The agency guard against the real Redis: retries only what is safe, deadlines, breaker, shared rate."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid

import pytest
import redis.asyncio as aioredis

from hub.agencies import AgencyConfig, BreakerPolicy, RetryPolicy
from hub.errors import AgencyNotFound, AgencyTimeout, AgencyUnavailable, CircuitOpen
from hub.resilience.breaker import BreakerState
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from tests.conftest import REDIS_URL


def _config(**kw: object) -> AgencyConfig:
    values: dict[str, object] = {"protocol": "rest", "base_url": "http://agency.invalid", "timeout_s": 2.0,
                                 "rate_limit_per_s": 1000.0,
                                 "retry": RetryPolicy(attempts=4, backoff_initial_s=0.01, backoff_max_s=0.05),
                                 "breaker": BreakerPolicy(failures=3, reset_s=0.4)}
    values.update(kw)
    return AgencyConfig(**values)  # type: ignore[arg-type]


def run(coro_fn, *args):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            return await coro_fn(client, *args)
        finally:
            await client.aclose()

    return asyncio.run(main())


def _guard(client: aioredis.Redis, prefix: str, **kw: object) -> AgencyGuard:
    return AgencyGuard("bank-970436", _config(**kw), client, f"{prefix}{uuid.uuid4().hex[:8]}:")


class Flaky:
    def __init__(self, failures: int, error: type[Exception] = AgencyUnavailable) -> None:
        self.left, self.error, self.calls = failures, error, 0

    async def __call__(self, timeout_s: float) -> str:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            raise self.error("injected")
        return "answer"


def test_a_transient_error_is_retried_and_succeeds(redis_prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        guard, flaky = _guard(client, redis_prefix), Flaky(2)
        assert await guard.call(flaky, CallContext.within(5), idempotent=True) == "answer"
        assert flaky.calls == 3

    run(scenario)


def test_a_non_idempotent_operation_without_a_key_is_not_retried(redis_prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        guard, flaky = _guard(client, redis_prefix), Flaky(1)
        with pytest.raises(AgencyUnavailable):
            await guard.call(flaky, CallContext.within(5), idempotent=False)
        assert flaky.calls == 1
        keyed = Flaky(1)
        assert await guard.call(keyed, CallContext.within(5, idempotency_key="freeze-45/QD"), idempotent=False)
        assert keyed.calls == 2

    run(scenario)


def test_answers_are_not_retried(redis_prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        guard, flaky = _guard(client, redis_prefix), Flaky(5, AgencyNotFound)
        with pytest.raises(AgencyNotFound):
            await guard.call(flaky, CallContext.within(5), idempotent=True)
        assert flaky.calls == 1

    run(scenario)


def test_the_deadline_bounds_a_slow_agency(redis_prefix: str) -> None:
    async def slow(timeout_s: float) -> str:
        await asyncio.sleep(30)
        return "too late"

    async def scenario(client: aioredis.Redis) -> float:
        guard = _guard(client, redis_prefix)
        start = time.monotonic()
        with pytest.raises(AgencyTimeout):
            await guard.call(slow, CallContext.within(0.3), idempotent=True)
        return time.monotonic() - start

    elapsed = run(scenario)
    assert elapsed < 0.3 + 0.15, elapsed  # no retry was started that could not finish in time


def test_cancellation_is_never_retried(redis_prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> int:
        guard = _guard(client, redis_prefix)
        calls = 0

        async def hang(timeout_s: float) -> None:
            nonlocal calls
            calls += 1
            await asyncio.sleep(30)

        task = asyncio.create_task(guard.call(hang, CallContext.within(10), idempotent=True))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return calls

    assert run(scenario) == 1


def test_the_breaker_opens_fails_fast_half_opens_and_closes(redis_prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        guard = _guard(client, redis_prefix, retry=RetryPolicy(attempts=1))
        other_process = AgencyGuard("bank-970436", guard.config, client, guard.breaker.key.rsplit("breaker:", 1)[0])
        failing = Flaky(100)
        for _ in range(3):
            with pytest.raises(AgencyUnavailable):
                await guard.call(failing, CallContext.within(5), idempotent=True)
        assert await guard.breaker.state() is BreakerState.OPEN
        with pytest.raises(CircuitOpen):
            await other_process.call(failing, CallContext.within(5), idempotent=True)  # shared state
        assert failing.calls == 3  # failed fast: the agency was not called
        await asyncio.sleep(0.45)
        healthy = Flaky(0)
        assert await guard.call(healthy, CallContext.within(5), idempotent=True) == "answer"  # the trial
        assert await guard.breaker.state() is BreakerState.CLOSED
        # a failed trial opens it again
        for _ in range(3):
            with pytest.raises(AgencyUnavailable):
                await guard.call(failing, CallContext.within(5), idempotent=True)
        await asyncio.sleep(0.45)
        with pytest.raises(AgencyUnavailable):
            await guard.call(failing, CallContext.within(5), idempotent=True)
        with pytest.raises(CircuitOpen):
            await guard.call(healthy, CallContext.within(5), idempotent=True)

    run(scenario)


def test_a_success_forgets_failures_and_a_healthy_agency_leaves_no_breaker_state(redis_prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        guard = _guard(client, redis_prefix, retry=RetryPolicy(attempts=1))
        for _ in range(5):  # healthy: nothing to forget, so nothing is written for the breaker
            assert await guard.call(Flaky(0), CallContext.within(5), idempotent=True) == "answer"
        assert not await client.exists(guard.breaker.key)
        for _ in range(2):  # below the threshold of 3
            with pytest.raises(AgencyUnavailable):
                await guard.call(Flaky(1), CallContext.within(5), idempotent=True)
        assert await client.hget(guard.breaker.key, "failures") == b"2"
        assert await guard.call(Flaky(0), CallContext.within(5), idempotent=True) == "answer"
        assert not await client.exists(guard.breaker.key)  # the success reset the count ...
        for _ in range(2):
            with pytest.raises(AgencyUnavailable):
                await guard.call(Flaky(1), CallContext.within(5), idempotent=True)
        assert await guard.breaker.state() is BreakerState.CLOSED  # ... so two more failures do not open it

    run(scenario)


def _worker(prefix: str, calls: int, stamps_key: str) -> None:
    async def main() -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        guard = AgencyGuard("land", _config(rate_limit_per_s=20.0), client, prefix)

        async def agency(timeout_s: float) -> None:
            await client.rpush(stamps_key, time.time())

        for _ in range(calls):
            await guard.call(agency, CallContext.within(30), idempotent=True)
        await client.aclose()

    asyncio.run(main())


def test_the_rate_limit_holds_across_two_processes(redis_prefix: str) -> None:
    prefix = f"{redis_prefix}{uuid.uuid4().hex[:8]}:"
    stamps_key = prefix + "stamps"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(prefix, 20, stamps_key)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    async def stamps(client: aioredis.Redis) -> list[float]:
        return sorted(float(s) for s in await client.lrange(stamps_key, 0, -1))

    times = run(stamps)
    assert len(times) == 40
    # Skip the initial burst allowance (2 slots); the rest must be paced at 20/s across both processes.
    paced = times[2:]
    rate = (len(paced) - 1) / (paced[-1] - paced[0])
    assert rate <= 20 * 1.1, rate
    assert rate >= 20 * 0.8, rate


def test_no_rolling_second_holds_more_sends_than_the_paced_quota(redis_prefix: str) -> None:
    """A quota of 10/s is paced at 9.6/s: GCRA alone would let 10 calls into a rolling second (ten slots span
    0.94 s), one more than the pace; the send window holds every rolling second to 9, by Redis's clock."""

    async def main(client: aioredis.Redis) -> list[float]:
        guard = _guard(client, redis_prefix, rate_limit_per_s=10.0)
        assert guard.limiter.window_cap == 9
        sent: list[float] = []

        async def call(timeout_s: float) -> None:
            seconds, micros = await client.time()
            sent.append(seconds + micros / 1e6)

        ctx = CallContext.within(30)
        await asyncio.gather(*(guard.call(call, ctx, idempotent=True) for _ in range(20)))
        return sorted(sent)

    sent = run(main)
    assert len(sent) == 20
    # Each stamp is read a little after its send was admitted (by a Redis round trip, jitter well under
    # 10 ms), so windows of 0.99 s are counted: ten sends admitted GCRA's way fit in 0.94 s, ten admitted
    # through the window need a full second.
    busiest = max(sum(1 for t in sent if start <= t < start + 0.99) for start in sent)
    assert busiest <= 9, busiest
    assert (len(sent) - 1) / (sent[-1] - sent[0]) >= 9.6 * 0.75


def test_the_send_window_waits_for_the_oldest_send_to_leave(redis_prefix: str) -> None:
    async def main(client: aioredis.Redis) -> list[float]:
        from hub.resilience.rate_limit import RateLimiter

        limiter = RateLimiter(client, f"{redis_prefix}{uuid.uuid4().hex[:8]}:rate", 1000.0, window_cap=3)
        out = []
        for i in range(6):
            await limiter.send_slot(f"m{i}")
            out.append(time.monotonic())
        with pytest.raises(TimeoutError):
            await limiter.send_slot("late", deadline=time.monotonic() + 0.2)
        return out

    t = run(main)
    assert t[2] - t[0] < 0.5  # the first three go at once
    assert t[3] - t[0] >= 0.95  # the fourth waits until the first has left the rolling second
    assert t[5] - t[3] < 0.5  # and the other two follow as their elders leave; the seventh would wait

