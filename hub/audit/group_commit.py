"""Group commit for the message log: concurrent exchanges share one transaction.

An exchange's entries must be durable before its answer is used (a look-up the log does not show must
not have happened), so every exchange waits for its commit. Committing each exchange alone costs one
fsync and one turn of the chain head's lock per exchange, and the exchanges of one verification (four
agencies answering within a millisecond of each other) then queue behind each other on that lock. Here
the entries that arrive while a commit is in flight wait for the next one and go together: one
transaction, one fsync, one head update, however many exchanges it carries. Under no load a batch is a
single exchange, so nothing waits longer than it did before.
"""

from __future__ import annotations

import asyncio
import logging

from hub.audit.log import LogRecord, MessageLog

log = logging.getLogger("thads.audit")

# A bound on one transaction's size keeps a burst from holding the head lock (and other writers of the
# same partition) for long.
MAX_BATCH_RECORDS = 400


class GroupCommitter:
    """One per event loop; ``append`` resolves once the records are committed, with their positions."""

    def __init__(self, log_: MessageLog, loop: asyncio.AbstractEventLoop) -> None:
        self.log = log_
        self.loop = loop
        self._queue: list[tuple[list[LogRecord], asyncio.Future[list[tuple[int, int]]]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0  # transactions written, for tests and metrics

    async def append(self, records: list[LogRecord]) -> list[tuple[int, int]]:
        future: asyncio.Future[list[tuple[int, int]]] = self.loop.create_future()
        self._queue.append((records, future))
        if self._writer is None or self._writer.done():
            self._writer = self.loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch: list[tuple[list[LogRecord], asyncio.Future[list[tuple[int, int]]]]] = []
            size = 0
            while self._queue and (not batch or size + len(self._queue[0][0]) <= MAX_BATCH_RECORDS):
                records, future = self._queue.pop(0)
                batch.append((records, future))
                size += len(records)
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[list[LogRecord], asyncio.Future[list[tuple[int, int]]]]]) -> None:
        try:
            positions = await asyncio.to_thread(self.log.append_many, [r for records, _ in batch for r in records])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            # One bad exchange must not fail the others that happened to share its transaction.
            log.warning("message log group commit of %d exchanges failed (%s); committing them one by one",
                        len(batch), type(exc).__name__)
            for one in batch:
                await self._commit([one])
            return
        self.commits += 1
        start = 0
        for records, future in batch:
            _settle(future, result=positions[start:start + len(records)])
            start += len(records)


def _settle(future: asyncio.Future[list[tuple[int, int]]], *, result: list[tuple[int, int]] | None = None,
            exc: BaseException | None = None) -> None:
    if future.done():  # the waiter went away (its own cancellation); the records are committed regardless
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result or [])
