"""Worker processes killed with SIGKILL mid-run lose nothing: the real `thads-hub worker` command.

Two workers share 200 entries. The first is killed and comes back under the same consumer name (it
takes back at start what it held); later the second is killed and replaced under a new name (its
entries wait out their lease, then a live worker takes them over). Every entry must finish; an entry
may be handled twice only if it was in flight in a killed worker (or a live worker lost its lease,
which the workers count), so the repeats are bounded by what the killed consumers held at each kill.
The waits are for conditions, with room for a loaded machine: the file takes under 10 s on a quiet one.
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
from typing import Any

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


def _log_tail(settings: Settings) -> str:
    path = settings.data_dir / "workers.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _wait(settings: Settings, condition: Callable[[], bool], what: str, state: Callable[[], object]) -> None:
    # Long enough for a machine where a worker takes many seconds to start; a quiet one needs a few.
    deadline = time.monotonic() + 120
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; state: {state()}; workers said:\n"
                                 + _log_tail(settings))
        time.sleep(0.01)


@contextmanager
def _workers(settings: Settings) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "THADS_DATA_DIR": str(settings.data_dir),
           "THADS_REDIS_URL": settings.redis_url, "THADS_REDIS_KEY_PREFIX": settings.redis_key_prefix,
           "THADS_TEST_HANDLER_SLEEP": "0.1"}
    started: list[subprocess.Popen[bytes]] = []

    def start(consumer: str) -> subprocess.Popen[bytes]:
        # A file, not a pipe: nobody reads a pipe while the test runs, and a full one would block the worker.
        with (settings.data_dir / "workers.log").open("ab") as log:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "thads-hub"), "worker", "--handler",
                 "tests.worker.handlers:RecordingHandler", "--queue", CRASH_QUEUE, "--consumer", consumer,
                 "--lease", "3", "--log-level", "warning"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
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

    def beat_of(consumer: str) -> dict[str, Any]:
        return dict(json.loads(r.get(heartbeat_key(settings.redis_key_prefix, consumer)) or "{}"))

    def held_by(consumer: str) -> int:
        return len(r.xpending_range(queue.key, queue.group, "-", "+", 100, consumername=consumer))

    def state() -> dict[str, object]:
        return {"done": done(), "open": r.xlen(queue.key), "pending": r.xpending(queue.key, queue.group),
                "workers": {c: {k: beat_of(c).get(k) for k in ("pid", "counters", "queues")}
                            for c in ("crash-a", "crash-b", "crash-b2")}}

    try:
        queue.enqueue_many_sync(r, [{"run": run, "n": str(i)} for i in range(ENTRIES)])
        with _workers(settings) as start:
            first, second = start("crash-a"), start("crash-b")
            held_at_kills = []
            _wait(settings, lambda: done() >= 40 and held_by("crash-a") > 0, "40 entries done, crash-a busy", state)
            first.send_signal(signal.SIGKILL)
            first.wait()
            held_at_kills.append(held_by("crash-a"))
            # Back under its name: it takes back at start what it still holds, unless crash-b took that over
            # first (a start slower than the lease, on a loaded machine): either way nothing waits for long.
            restarted = start("crash-a")
            _wait(settings, lambda: done() >= 100 and held_by("crash-b") > 0, "100 entries done, crash-b busy", state)
            second.send_signal(signal.SIGKILL)
            second.wait()
            held_at_kills.append(held_by("crash-b"))
            # A new name: crash-b's entries wait out their lease, then a live worker takes them over.
            replacement = start("crash-b2")
            _wait(settings, lambda: done() == ENTRIES and r.xlen(queue.key) == 0, "every entry done and acknowledged",
                  state)
            # A live worker whose event loop stalled past its lease loses entries to the others: those
            # repeats are not the kills', and the workers count them.
            lost_leases = sum(beat_of(c).get("counters", {}).get("lost_leases", 0) for c in ("crash-a", "crash-b2"))
            for proc in (restarted, replacement):
                proc.send_signal(signal.SIGTERM)
            for proc in (restarted, replacement):
                assert proc.wait(30) == 0, _log_tail(settings)

        calls = [int(r.get(key("test", run, "calls", str(i))) or 0) for i in range(ENTRIES)]
        repeated = sum(calls) - ENTRIES
        print(f"\nheld by the killed workers at each kill: {held_at_kills}; handle() calls repeated: {repeated}; "
              f"leases lost by live workers: {lost_leases}")
        assert min(calls) == 1
        assert sum(held_at_kills) >= 1, held_at_kills  # the kills did hit work in flight
        assert all(held <= RecordingHandler.concurrency for held in held_at_kills)
        assert repeated <= sum(held_at_kills) + lost_leases
        summary = r.xpending(queue.key, queue.group)
        assert (summary["pending"], r.xlen(queue.key), r.xlen(queue.dlq_key)) == (0, 0, 0)
    finally:
        test_keys = list(r.scan_iter(match=key("test", run, "*"), count=1000))
        r.delete(queue.key, queue.dlq_key, *test_keys)
        r.close()
