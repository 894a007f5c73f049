"""The worker: runs queue handlers over their Redis streams, at least once, with bounded memory.

Per handler (a lane) one loop: first this consumer's own pending entries (a restarted worker that
kept its name picks up what it held when it died), then, every ``claim_every_s``, entries of other
consumers idle past their due time (crashed workers, and failed entries whose backoff is over), then
new entries. It never reads more entries than it has free slots, so a worker's memory holds at most
``concurrency`` entries per handler whatever the backlog.

A delivered entry is leased by its idle time in the group: while ``handle`` runs, a ticker resets it
every third of ``lease_s``; if the worker dies, the entry's idle time grows past ``lease_s`` and a
survivor claims it. A failed entry is simply left pending, its lease no longer renewed: it becomes
due again when its idle time passes ``max(lease, backoff(deliveries))``. So a retry holds no slot and
no timer, survives the worker's death, and the delivery counter Redis keeps is the attempt count.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Coroutine, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from redis.exceptions import RedisError

from adapters.heap import startup_heap_frozen
from hub.errors import HubError
from hub.worker import heartbeat
from hub.worker.acks import AckBatcher
from hub.worker.handler import QueueHandler, is_permanent
from hub.worker.streams import Entry, WorkQueue

if TYPE_CHECKING:
    from hub.bootstrap import Services

log = logging.getLogger("thads.worker")


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class WorkerOptions:
    consumer: str = field(default_factory=default_consumer_name)
    lease_s: float = 15.0  # how long a dead worker's entries wait before survivors take them over
    claim_every_s: float = 1.0  # how often the pending list is scanned for due entries
    block_s: float = 1.0  # longest wait for new entries; also bounds how late a stop is noticed
    heartbeat_s: float = 2.0
    grace_s: float = 30.0  # on stop, how long in-flight entries may take to finish before they are abandoned
    concurrency: int | None = None  # overrides every handler's own

    def __post_init__(self) -> None:
        if self.block_s >= 2.0:  # adapters.redis_client gives every command a 2 s socket timeout
            raise ValueError("block_s must stay under the Redis socket timeout of 2 s")
        if self.lease_s <= 0 or self.claim_every_s <= 0:
            raise ValueError("lease_s and claim_every_s must be positive")


@dataclass
class Counters:
    handled: int = 0
    retried: int = 0
    dead_lettered: int = 0
    claimed: int = 0  # entries taken over from the pending list (own at start, others' when stale)
    lost_leases: int = 0  # entries another worker took over while this one still ran them


class _Lane:
    def __init__(self, handler: QueueHandler, queue: WorkQueue, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError(f"handler for {handler.queue!r}: concurrency must be at least 1")
        self.handler, self.queue, self.concurrency = handler, queue, concurrency
        self.acks = AckBatcher(queue)
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.slot_freed = asyncio.Event()
        self.scan_from = "-"
        self.next_scan = 0.0

    @property
    def free(self) -> int:
        return self.concurrency - len(self.in_flight)


def _reason(exc: BaseException) -> str:
    code = f" [{exc.code}]" if isinstance(exc, HubError) else ""
    return f"{type(exc).__name__}{code}: {exc}"[:2000]


class Companion(Protocol):
    """Work a worker process runs beside its handlers (the outbox relay): ``run`` returns once
    ``stopping`` is set. It runs in the same task group as the handlers' loops, so a companion that
    fails stops the worker (and its supervisor restarts it) rather than dying unseen."""

    async def run(self, stopping: asyncio.Event) -> None: ...


class Worker:
    def __init__(self, services: Services, handlers: list[QueueHandler], options: WorkerOptions | None = None,
                 companions: Sequence[Companion] = ()) -> None:
        self.services = services
        self.companions = list(companions)
        self.options = options or WorkerOptions()
        self.consumer = self.options.consumer
        prefix = services.settings.redis_key_prefix
        self.lanes = [_Lane(h, WorkQueue(services.redis, prefix, h.queue, capacity=h.capacity),
                            self.options.concurrency or h.concurrency) for h in handlers]
        self.counters = Counters()
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._stopping = asyncio.Event()
        self._ticker_done = asyncio.Event()

    # -- life cycle --------------------------------------------------------------------------------

    def stop(self, *, force: bool = False) -> None:
        """Stop reading; in-flight entries finish (within grace_s). ``force`` abandons them at once:
        they stay pending and are delivered again, so nothing is lost either way."""
        self._stopping.set()
        for lane in self.lanes:
            lane.slot_freed.set()
            if force:
                for task in lane.in_flight.values():
                    task.cancel()

    async def run(self) -> None:
        built_connectors = await self._connectors_if_needed()
        with startup_heap_frozen():
            await self._serve(built_connectors)

    async def _serve(self, built_connectors: bool) -> None:
        ticker = asyncio.create_task(self._tick_forever(), name="worker-ticker")
        try:
            for lane in self.lanes:
                await lane.queue.ensure_group()
            await self._beat()
            log.info("worker %s consuming %s", self.consumer, ", ".join(lane.handler.queue for lane in self.lanes))
            async with asyncio.TaskGroup() as group:
                for lane in self.lanes:
                    group.create_task(self._stop_all_if_failing(self._lane_loop(lane)),
                                      name=f"lane-{lane.handler.queue}")
                for companion in self.companions:
                    group.create_task(self._stop_all_if_failing(companion.run(self._stopping)),
                                      name=f"companion-{type(companion).__name__}")
        finally:
            self._stopping.set()  # a lane that failed stops the others' reading too
            await self._finish_in_flight()  # leases are still renewed meanwhile: the ticker runs on
            # Stopped by an event, not by cancel(): redis-py (8.1 here) can swallow a cancellation that
            # lands inside a command (a third of the time in a probe; cf. redis/redis-py#2028, #2666),
            # and the ticker would then tick on for ever.
            self._ticker_done.set()
            await asyncio.wait([ticker], timeout=5)
            ticker.cancel()
            await self._leave()
            if built_connectors:
                await self.services.connectors.aclose()
                self.services.connectors = None
        log.info("worker %s stopped: %s", self.consumer, self.counters)

    async def _stop_all_if_failing(self, work: Coroutine[Any, Any, None]) -> None:
        """The task group cancels the others when one fails, but a cancellation that redis-py swallows
        would leave a lane reading on; the stop flag ends every loop whatever happens to the cancel."""
        try:
            await work
        except BaseException:
            self.stop()
            raise

    async def run_until_signalled(self) -> None:
        """Run until SIGTERM or SIGINT (a graceful stop); a second signal abandons what is in flight."""
        loop = asyncio.get_running_loop()
        seen = 0

        def on_signal() -> None:
            nonlocal seen
            seen += 1
            log.info("worker %s: %s", self.consumer, "stopping" if seen == 1 else "abandoning in-flight entries")
            self.stop(force=seen > 1)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        try:
            await self.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    async def _connectors_if_needed(self) -> bool:
        if self.services.connectors is not None or not any(lane.handler.needs_connectors for lane in self.lanes):
            return False
        from hub.connectors_runtime import build_connectors

        connectors = build_connectors(self.services.settings, self.services.redis, self.services.db)
        await connectors.start()
        self.services.connectors = connectors
        return True

    async def _finish_in_flight(self) -> None:
        tasks = [t for lane in self.lanes for t in lane.in_flight.values()]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.options.grace_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("worker %s abandoned %d in-flight entries after %.0f s; they stay pending and will be "
                        "delivered again", self.consumer, len(late), self.options.grace_s)
            await asyncio.wait(late, timeout=5)  # a handler that swallows cancellation must not hold the exit

    async def _leave(self) -> None:
        """A clean exit removes the heartbeat and, when it holds nothing, the consumer from each group
        (entries still waiting for a retry keep the consumer: deleting it would drop them)."""
        try:
            await heartbeat.leave(self.services.redis, self.services.settings.redis_key_prefix, self.consumer)
            for lane in self.lanes:
                await lane.queue.forget_consumer(self.consumer)
        except (RedisError, OSError) as exc:
            log.warning("worker %s could not clean up on exit: %s", self.consumer, exc)

    # -- the loop ----------------------------------------------------------------------------------

    async def _lane_loop(self, lane: _Lane) -> None:
        own_from: str | None = "-"  # scan position in this consumer's own pending entries; None once done
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._wait_for_slot(lane)
                if self._stopping.is_set():
                    break
                if own_from is not None:
                    page = await lane.queue.claim_stale(self.consumer, min_idle_ms=0, count=lane.free,
                                                        owner=self.consumer, start=own_from,
                                                        due_after_ms=lane.handler.retry_after_ms)
                    own_from = page.next_start
                    await self._dispatch(lane, page.entries, claimed=True)
                    continue
                if time.monotonic() >= lane.next_scan:
                    await self._claim_due(lane)
                    if lane.free <= 0:
                        continue
                entries = await lane.queue.read(self.consumer, lane.free, int(self.options.block_s * 1000))
                await self._dispatch(lane, entries)
                failures = 0
            except (RedisError, OSError) as exc:
                failures += 1
                pause = min(5.0, 0.1 * 2**failures)
                log.warning("worker %s, queue %s: Redis failed (%s); again in %.1f s", self.consumer,
                            lane.handler.queue, exc, pause)
                await self._pause(pause)

    async def _claim_due(self, lane: _Lane) -> None:
        page = await lane.queue.claim_stale(self.consumer, min_idle_ms=int(self.options.lease_s * 1000),
                                            count=lane.free, start=lane.scan_from,
                                            due_after_ms=lane.handler.retry_after_ms)
        # A scan that stopped early continues at once; one that reached the end waits claim_every_s.
        lane.scan_from = page.next_start or "-"
        lane.next_scan = time.monotonic() + (0 if page.next_start else self.options.claim_every_s)
        await self._dispatch(lane, page.entries, claimed=True)

    async def _wait_for_slot(self, lane: _Lane) -> None:
        while True:
            lane.slot_freed.clear()
            if lane.free > 0 or self._stopping.is_set():
                return
            await lane.slot_freed.wait()

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _dispatch(self, lane: _Lane, entries: list[Entry], *, claimed: bool = False) -> None:
        for entry in entries:
            if entry.id in lane.in_flight:  # our own lease lapsed and we claimed it back: it is running
                continue
            if claimed:
                self.counters.claimed += 1
            if entry.deliveries > lane.handler.max_attempts:
                # Every earlier delivery ended without an outcome: a worker died on it or lost it each
                # time. An entry that kills its worker must not go round the fleet for ever.
                reason = (f"no outcome after {entry.deliveries - 1} deliveries (the worker died or lost the entry "
                          "each time)")
                try:
                    # The handler's own records first (a command row must not stay "sent" for ever): were the
                    # worker to die between the two, the entry comes round again and this runs again.
                    await lane.handler.dead_lettered_unhandled(entry, reason)
                except Exception:
                    log.exception("queue %s, entry %s: recording its end failed; it stays pending",
                                  lane.handler.queue, entry.id)
                    continue
                await self._dead_letter(lane, entry, reason)
                continue
            lane.in_flight[entry.id] = asyncio.create_task(self._process(lane, entry),
                                                           name=f"{lane.handler.queue}:{entry.id}")

    async def _process(self, lane: _Lane, entry: Entry) -> None:
        try:
            try:
                await lane.handler.handle(entry)
            except Exception as exc:
                await self._failed(lane, entry, exc)
            else:
                await lane.acks.ack(entry.id)
                self.counters.handled += 1
        except (RedisError, OSError) as exc:
            log.warning("queue %s, entry %s: its outcome could not be recorded (%s); it will be delivered again",
                        lane.handler.queue, entry.id, exc)
        except Exception:
            log.exception("queue %s, entry %s: recording its outcome failed; it will be delivered again",
                          lane.handler.queue, entry.id)
        finally:
            lane.in_flight.pop(entry.id, None)
            lane.slot_freed.set()

    async def _failed(self, lane: _Lane, entry: Entry, exc: Exception) -> None:
        handler = lane.handler
        if is_permanent(exc):
            await self._dead_letter(lane, entry, _reason(exc))
        elif entry.deliveries >= handler.max_attempts:
            await self._dead_letter(lane, entry, f"gave up after {entry.deliveries} attempts; last: {_reason(exc)}")
        else:
            self.counters.retried += 1
            await lane.queue.renew(self.consumer, [entry.id])  # the backoff counts from the failure
            log.info("queue %s, entry %s: attempt %d of %d failed (%s); retry in about %.1f s", handler.queue,
                     entry.id, entry.deliveries, handler.max_attempts, _reason(exc),
                     max(self.options.lease_s * 1000, handler.retry_after_ms(entry.id, entry.deliveries)) / 1000)

    async def _dead_letter(self, lane: _Lane, entry: Entry, reason: str) -> None:
        if await lane.queue.dead_letter(entry, reason, self.consumer) is not None:
            self.counters.dead_lettered += 1
            log.warning("queue %s, entry %s dead-lettered: %s", lane.handler.queue, entry.id, reason)

    # -- leases and heartbeat ----------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        interval = min(self.options.heartbeat_s, self.options.lease_s / 3)
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._ticker_done.wait(), interval)
            if self._ticker_done.is_set():
                return
            try:
                await self._renew_leases()
                await self._beat()
            except (RedisError, OSError) as exc:
                log.warning("worker %s: lease renewal or heartbeat failed: %s", self.consumer, exc)

    async def _renew_leases(self) -> None:
        for lane in self.lanes:
            running = list(lane.in_flight)
            # Only entries another worker holds now: one acknowledged while the renewal was on its way is
            # no longer pending for anyone, and counting it would be a false alarm.
            taken = (await lane.queue.renew(self.consumer, running)).taken
            lost = [eid for eid in running if eid in taken and eid in lane.in_flight]
            if lost:
                self.counters.lost_leases += len(lost)
                log.warning("queue %s: %d entries were taken over by another worker while still running here "
                            "(lease_s too short for the event loop's stalls?): %s", lane.handler.queue,
                            len(lost), ", ".join(lost[:10]))

    def state(self) -> dict[str, Any]:
        return {"consumer": self.consumer, "host": socket.gethostname(), "pid": os.getpid(),
                "started": self.started_at, "beat": datetime.now(UTC).isoformat(timespec="seconds"),
                "queues": {lane.handler.queue: {"in_flight": len(lane.in_flight), "concurrency": lane.concurrency}
                           for lane in self.lanes},
                "counters": vars(self.counters).copy()}

    async def _beat(self) -> None:
        ttl_ms = int(3 * min(self.options.heartbeat_s, self.options.lease_s / 3) * 1000) + 1000
        await heartbeat.beat(self.services.redis, self.services.settings.redis_key_prefix, self.consumer,
                             self.state(), ttl_ms)
