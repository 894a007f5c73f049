"""The worker runtime in-process against the real Redis: acknowledgement, retries, dead letters,
leases, bounded in-flight work, graceful stop."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from hub.bootstrap import Services
from hub.errors import AgencyRejected
from hub.settings import Settings
from hub.worker import Entry, QueueHandler, Reject, RetryLater
from hub.worker.heartbeat import live_workers
from hub.worker.runtime import Worker, WorkerOptions
from hub.worker.streams import WorkQueue
from tests.worker.support import fresh_queue_name, until, with_services

Behaviour = Callable[[Entry], Awaitable[None]]


class Scripted(QueueHandler):
    """A handler whose behaviour each test writes; it logs every call."""

    def __init__(self, services: Services, queue: str, behaviour: Behaviour, **settings: Any) -> None:
        super().__init__(services)
        self.queue, self.behaviour = queue, behaviour
        self.calls: list[Entry] = []
        for name, value in settings.items():
            setattr(self, name, value)

    async def handle(self, entry: Entry) -> None:
        self.calls.append(entry)
        await self.behaviour(entry)


async def succeed(entry: Entry) -> None:
    return None


def fast(consumer: str, **kw: Any) -> WorkerOptions:
    values: dict[str, Any] = {"consumer": consumer, "lease_s": 0.2, "claim_every_s": 0.05, "block_s": 0.1,
                              "heartbeat_s": 0.1, "grace_s": 5.0}
    values.update(kw)
    return WorkerOptions(**values)


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        # asyncio.wait, not wait_for: wait_for would cancel a late worker and could hide that it was late
        done, _ = await asyncio.wait([task], timeout=30)
        assert done, "the worker did not stop"
        task.result()


def _queue(services: Services, handler: QueueHandler) -> WorkQueue:
    return WorkQueue(services.redis, services.settings.redis_key_prefix, handler.queue, capacity=handler.capacity)


async def _drained(queue: WorkQueue) -> bool:
    return (await queue.stats()).backlog == 0


def test_every_entry_is_handled_once_within_the_slots(settings: Settings) -> None:
    async def test(services: Services) -> None:
        in_flight, peak = 0, {"handlers": 0, "pending": 0}

        async def behaviour(entry: Entry) -> None:
            nonlocal in_flight
            in_flight += 1
            peak["handlers"] = max(peak["handlers"], in_flight)
            peak["pending"] = max(peak["pending"], (await queue.stats()).pending)
            await asyncio.sleep(0.01)
            in_flight -= 1

        handler = Scripted(services, fresh_queue_name(), behaviour, concurrency=4)
        queue = _queue(services, handler)
        await queue.enqueue_many([{"n": str(i)} for i in range(40)])
        async with running(Worker(services, [handler], fast("w1"))) as worker:
            await until(lambda: _drained(queue), what="queue drained")
            live = await live_workers(services.redis, services.settings.redis_key_prefix)
            assert [w["consumer"] for w in live] == ["w1"] and handler.queue in live[0]["queues"]
        assert sorted(int(e.fields["n"]) for e in handler.calls) == list(range(40))
        assert worker.counters.handled == 40
        # Never more delivered to this worker than it had free slots: memory bounded by concurrency.
        assert peak == {"handlers": 4, "pending": 4}
        stats = await queue.stats()
        assert (stats.pending, stats.consumers, stats.dead_letters) == (0, 0, 0)
        assert await live_workers(services.redis, services.settings.redis_key_prefix) == []

    with_services(settings, test)


def test_transient_failures_wait_their_backoff_then_succeed(settings: Settings) -> None:
    async def test(services: Services) -> None:
        attempts: list[tuple[int, float]] = []

        async def behaviour(entry: Entry) -> None:
            attempts.append((entry.deliveries, time.monotonic()))
            if entry.deliveries < 3:
                raise RetryLater("agency busy")

        handler = Scripted(services, fresh_queue_name(), behaviour, retry_base_s=0.05)
        queue = _queue(services, handler)
        await queue.enqueue({"n": "1"})
        async with running(Worker(services, [handler], fast("w1"))) as worker:
            await until(lambda: _drained(queue), what="queue drained")
        assert [n for n, _ in attempts] == [1, 2, 3]
        gaps = [b - a for (_, a), (_, b) in itertools.pairwise(attempts)]
        assert all(gap >= 0.2 for gap in gaps), gaps  # never sooner than the lease
        assert (worker.counters.retried, worker.counters.handled, worker.counters.dead_lettered) == (2, 1, 0)

    with_services(settings, test)


def test_permanent_failures_are_dead_lettered_at_once(settings: Settings) -> None:
    async def test(services: Services) -> None:
        async def behaviour(entry: Entry) -> None:
            if entry.fields["n"] == "1":
                raise Reject("decision reference unknown")
            raise AgencyRejected("no such account", rule="account")

        handler = Scripted(services, fresh_queue_name(), behaviour)
        queue = _queue(services, handler)
        await queue.enqueue_many([{"n": "1"}, {"n": "2"}])
        async with running(Worker(services, [handler], fast("w1"))):
            await until(lambda: _drained(queue), what="queue drained")
        assert len(handler.calls) == 2
        letters = {d.fields["n"]: d for d in await queue.dead_letters()}
        assert letters["1"].reason == "Reject: decision reference unknown" and letters["1"].deliveries == 1
        assert letters["2"].reason == "AgencyRejected [AGENCY_REJECTED]: no such account"

    with_services(settings, test)


def test_gives_up_after_max_attempts(settings: Settings) -> None:
    async def test(services: Services) -> None:
        async def behaviour(entry: Entry) -> None:
            raise ConnectionResetError("agency dropped the connection")

        handler = Scripted(services, fresh_queue_name(), behaviour, max_attempts=3, retry_base_s=0.01)
        queue = _queue(services, handler)
        await queue.enqueue({"n": "1"})
        async with running(Worker(services, [handler], fast("w1", lease_s=0.1))):
            await until(lambda: _drained(queue), what="queue drained")
        assert [e.deliveries for e in handler.calls] == [1, 2, 3]
        (dead,) = await queue.dead_letters()
        assert dead.deliveries == 3
        assert dead.reason == "gave up after 3 attempts; last: ConnectionResetError: agency dropped the connection"

    with_services(settings, test)


def test_an_entry_whose_workers_keep_dying_is_dead_lettered_unhandled(settings: Settings) -> None:
    async def test(services: Services) -> None:
        handler = Scripted(services, fresh_queue_name(), succeed, max_attempts=3, retry_base_s=0.01)
        queue = _queue(services, handler)
        await queue.enqueue({"n": "poison"})
        await queue.read("died-1", count=1)
        await queue.claim_stale("died-2", min_idle_ms=0, count=1)
        await queue.claim_stale("died-3", min_idle_ms=0, count=1)  # three deliveries, no outcome
        async with running(Worker(services, [handler], fast("w1"))):
            await until(lambda: _drained(queue), what="queue drained")
        assert handler.calls == []
        (dead,) = await queue.dead_letters()
        assert dead.deliveries == 4 and dead.reason.startswith("no outcome after 3 deliveries")

    with_services(settings, test)


def test_a_crashed_workers_entries_are_taken_over_after_the_lease(settings: Settings) -> None:
    async def test(services: Services) -> None:
        handler = Scripted(services, fresh_queue_name(), succeed, retry_base_s=0.01)
        queue = _queue(services, handler)
        await queue.enqueue_many([{"n": str(i)} for i in range(3)])
        await queue.read("crashed", count=3)
        async with running(Worker(services, [handler], fast("survivor"))) as worker:
            await until(lambda: _drained(queue), what="queue drained")
        assert sorted((e.fields["n"], e.deliveries) for e in handler.calls) == [("0", 2), ("1", 2), ("2", 2)]
        assert worker.counters.claimed == 3

    with_services(settings, test)


def test_a_restarted_worker_takes_back_its_own_entries_without_waiting_for_the_lease(settings: Settings) -> None:
    async def test(services: Services) -> None:
        handler = Scripted(services, fresh_queue_name(), succeed, retry_base_s=0)  # no backoff: due at once
        queue = _queue(services, handler)
        await queue.enqueue_many([{"n": str(i)} for i in range(3)])
        await queue.read("pod-7", count=3)  # then pod-7 was killed
        async with running(Worker(services, [handler], fast("pod-7", lease_s=600))) as worker:
            await until(lambda: _drained(queue), what="own entries handled, long before the lease")
        assert worker.counters.claimed == 3 and len(handler.calls) == 3

    with_services(settings, test)


def test_a_running_entry_keeps_its_lease_against_other_workers(settings: Settings) -> None:
    async def test(services: Services) -> None:
        async def slow(entry: Entry) -> None:
            await asyncio.sleep(1.5)  # three leases long

        name = fresh_queue_name()
        first = Scripted(services, name, slow, concurrency=1)
        second = Scripted(services, name, slow, concurrency=1)
        queue = _queue(services, first)
        await queue.enqueue({"n": "1"})
        # A lease of 0.5 s rather than the other tests' 0.2 s: a loaded machine can stall a loop for 0.2 s.
        async with running(Worker(services, [first], fast("a", lease_s=0.5))) as a, running(
                Worker(services, [second], fast("b", lease_s=0.5))) as b:
            await until(lambda: _drained(queue), what="queue drained")
        assert len(first.calls) + len(second.calls) == 1
        assert a.counters.lost_leases == b.counters.lost_leases == 0

    with_services(settings, test)


async def _busy_worker(services: Services, behaviour: Behaviour, *, concurrency: int, entries: int
                       ) -> tuple[Scripted, WorkQueue, Worker, asyncio.Task[None]]:
    """A worker started on ``entries`` entries, returned once every slot holds one."""
    handler = Scripted(services, fresh_queue_name(), behaviour, concurrency=concurrency)
    queue = _queue(services, handler)
    await queue.enqueue_many([{"n": str(i)} for i in range(entries)])
    worker = Worker(services, [handler], fast("w1"))
    task = asyncio.create_task(worker.run())
    await until(lambda: len(handler.calls) == concurrency, what="every slot busy")
    return handler, queue, worker, task


def test_stop_finishes_in_flight_entries_and_reads_no_more(settings: Settings) -> None:
    async def test(services: Services) -> None:
        release = asyncio.Event()

        async def held(entry: Entry) -> None:
            await release.wait()

        handler, queue, worker, task = await _busy_worker(services, held, concurrency=2, entries=10)
        worker.stop()
        release.set()
        assert (await asyncio.wait([task], timeout=30))[0], "the worker did not stop"
        assert len(handler.calls) == 2 and worker.counters.handled == 2
        stats = await queue.stats()
        assert (stats.backlog, stats.pending, stats.lag, stats.consumers) == (8, 0, 8, 0)
        assert await live_workers(services.redis, services.settings.redis_key_prefix) == []

    with_services(settings, test)


def test_forced_stop_leaves_in_flight_entries_pending(settings: Settings) -> None:
    async def test(services: Services) -> None:
        async def forever(entry: Entry) -> None:
            await asyncio.Event().wait()

        _, queue, worker, task = await _busy_worker(services, forever, concurrency=3, entries=3)
        worker.stop(force=True)
        assert (await asyncio.wait([task], timeout=30))[0], "the worker did not stop"
        stats = await queue.stats()
        assert (stats.backlog, stats.pending, stats.consumers) == (3, 3, 1)  # kept for another delivery

    with_services(settings, test)


def test_connectors_are_built_only_for_a_handler_that_needs_them(settings: Settings) -> None:
    async def test(services: Services) -> None:
        seen: list[object] = []

        async def behaviour(entry: Entry) -> None:
            seen.append(services.connectors)

        plain = Scripted(services, fresh_queue_name(), behaviour)
        queue = _queue(services, plain)
        await queue.enqueue({"n": "1"})
        async with running(Worker(services, [plain], fast("w1"))):
            await until(lambda: _drained(queue), what="queue drained")
        needy = Scripted(services, fresh_queue_name(), behaviour, needs_connectors=True)
        queue = _queue(services, needy)
        await queue.enqueue({"n": "1"})
        async with running(Worker(services, [needy], fast("w2"))):
            await until(lambda: _drained(queue), what="queue drained")
        assert seen[0] is None and type(seen[1]).__name__ == "ConnectorSet"
        assert services.connectors is None  # closed and dropped with the worker

    with_services(settings, test)


class Beside:
    """A companion (like the outbox relay): runs until the worker stops, or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.started, self.finished, self.fail = asyncio.Event(), False, fail

    async def run(self, stopping: asyncio.Event) -> None:
        self.started.set()
        if self.fail:
            raise RuntimeError("relay lost its database")
        await stopping.wait()
        self.finished = True


def test_companions_run_beside_the_handlers_and_stop_with_them(settings: Settings) -> None:
    async def test(services: Services) -> None:
        handler = Scripted(services, fresh_queue_name(), succeed)
        companion = Beside()
        async with running(Worker(services, [handler], fast("w1"), [companion])):
            await asyncio.wait_for(companion.started.wait(), 5)
            assert not companion.finished
        assert companion.finished

    with_services(settings, test)


def test_a_failing_companion_stops_the_worker_loudly(settings: Settings) -> None:
    async def test(services: Services) -> None:
        handler = Scripted(services, fresh_queue_name(), succeed)
        worker = Worker(services, [handler], fast("w1"), [Beside(fail=True)])
        try:
            await asyncio.wait_for(worker.run(), 5)
        except* RuntimeError as failed:
            assert "relay lost its database" in str(failed.exceptions[0])
        else:
            raise AssertionError("the worker went on without its companion")
        assert await live_workers(services.redis, services.settings.redis_key_prefix) == []

    with_services(settings, test)
