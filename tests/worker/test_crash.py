"""Worker processes killed with SIGKILL mid-run lose nothing: the real `thads-hub worker` command.

Two workers share 200 entries. One is killed twice: the first time it comes back under the same
consumer name (it takes back its own entries at start), the second time under a new name (the
survivor takes the dead consumer's entries over once their lease runs out). Every entry must finish;
an entry may be handled twice only if it was in flight in a killed worker, so the duplicates are
bounded by what the killed consumer held at each kill.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import redis.asyncio as aioredis

from hub.settings import Settings
from hub.store.migrate import upgrade
from hub.worker.heartbeat import heartbeat_key
from hub.worker.streams import WorkQueue
from tests.conftest import REDIS_URL
from tests.worker.handlers import CRASH_QUEUE, RecordingHandler

ROOT = Path(__file__).parents[2]
ENTRIES = 200


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


@contextmanager
def _workers(settings: Settings) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "THADS_DATA_DIR": str(settings.data_dir),
           "THADS_REDIS_URL": settings.redis_url, "THADS_REDIS_KEY_PREFIX": settings.redis_key_prefix,
           "THADS_TEST_HANDLER_SLEEP": "0.1"}
    started: list[subprocess.Popen[bytes]] = []

    def start(consumer: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "thads-hub"), "worker", "--handler",
             "tests.worker.handlers:RecordingHandler", "--queue", CRASH_QUEUE, "--consumer", consumer,
             "--lease", "3", "--log-level", "warning"], env=env, cwd=ROOT, stderr=subprocess.PIPE)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_kill_9_loses_nothing_and_repeats_only_what_was_in_flight(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)  # every worker also runs its companions (the outbox relay) on the database
    r = redis.Redis.from_url(REDIS_URL)
    run = uuid.uuid4().hex[:8]
    key = lambda *parts: settings.redis_key_prefix + ":".join(parts)  # noqa: E731 - Services.key's rule
    queue = WorkQueue(aioredis.Redis.from_url(REDIS_URL), settings.redis_key_prefix, CRASH_QUEUE)  # never connects
    done = lambda: int(r.get(key("test", run, "done-total")) or 0)  # noqa: E731

    def held_by(consumer: str) -> int:
        return len(r.xpending_range(queue.key, queue.group, "-", "+", 100, consumername=consumer))

    try:
        queue.enqueue_many_sync(r, [{"run": run, "n": str(i)} for i in range(ENTRIES)])
        with _workers(settings) as start:
            victim, survivor = start("crash-a"), start("crash-b")
            held_at_kills = []
            _wait(lambda: done() >= 40, 10, "40 entries done")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            held_at_kills.append(held_by("crash-a"))
            # Back under its name within the lease (3 s; a start takes about 1 s): it takes back its own
            # entries at start, before the survivor may.
            victim = start("crash-a")

            def restarted_and_busy() -> bool:
                beat = json.loads(r.get(heartbeat_key(settings.redis_key_prefix, "crash-a")) or "{}")
                return (beat.get("pid") == victim.pid and beat["counters"]["claimed"] >= held_at_kills[0]
                        and done() >= 100 and held_by("crash-a") > 0)

            _wait(restarted_and_busy, 10, "the restarted worker to take back its entries and go on")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            held_at_kills.append(held_by("crash-a"))
            replacement = start("crash-a2")  # a new name: crash-a's entries wait out their lease, then are taken over
            _wait(lambda: done() == ENTRIES and r.xlen(queue.key) == 0, 15, "every entry done and acknowledged")
            for proc in (survivor, replacement):
                proc.send_signal(signal.SIGTERM)
            for proc in (survivor, replacement):
                assert proc.wait(10) == 0, proc.stderr.read().decode() if proc.stderr else ""

        calls = [int(r.get(key("test", run, "calls", str(i))) or 0) for i in range(ENTRIES)]
        repeated = sum(calls) - ENTRIES
        print(f"\nheld by the killed worker at each kill: {held_at_kills}; handle() calls repeated: {repeated}")
        assert min(calls) == 1
        assert held_at_kills[0] >= 1 and held_at_kills[1] >= 1, held_at_kills  # the kills did hit work in flight
        assert all(held <= RecordingHandler.concurrency for held in held_at_kills)
        assert repeated <= sum(held_at_kills)
        summary = r.xpending(queue.key, queue.group)
        assert (summary["pending"], r.xlen(queue.key), r.xlen(queue.dlq_key)) == (0, 0, 0)
    finally:
        test_keys = list(r.scan_iter(match=key("test", run, "*"), count=1000))
        r.delete(queue.key, queue.dlq_key, *test_keys)
        r.close()
