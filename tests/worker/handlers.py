"""A handler for the subprocess tests: records each call and each effect in Redis.

Each entry carries ``n``. Every call increments ``calls:<n>`` (so the test counts deliveries that
reached the handler) and, after a short pause standing in for an agency call, sets ``done:<n>`` (the
effect, idempotent by key, as the contract in docs/worker.md asks of real handlers) and counts the
entries done in ``done-total``.
"""

from __future__ import annotations

import asyncio
import os

from hub.worker import Entry, QueueHandler

CRASH_QUEUE = "crash-test"


class RecordingHandler(QueueHandler):
    queue = CRASH_QUEUE
    concurrency = 4
    max_attempts = 10  # every kill counts a delivery; the test must not dead-letter what a kill interrupted
    retry_base_s = 0.1

    async def handle(self, entry: Entry) -> None:
        redis, key = self.services.redis, self.services.key
        run = entry.fields["run"]
        await redis.incr(key("test", run, "calls", entry.fields["n"]))
        await asyncio.sleep(float(os.environ.get("THADS_TEST_HANDLER_SLEEP", "0.05")))
        if await redis.set(key("test", run, "done", entry.fields["n"]), "1", nx=True):
            await redis.incr(key("test", run, "done-total"))
