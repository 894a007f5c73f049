"""The one place an exchange is logged: a context manager wrapped around the transport call.

Connectors and inbound routes do not write log entries themselves; they open an exchange, report the
request and response they sent or received, and the recorder writes both entries (with the outcome,
the error code of a refusal and the latency) even when the call fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from adapters.envelope import EnvelopeFields
from adapters.refusal import Refusal
from hub.audit.group_commit import GroupCommitter
from hub.audit.log import Direction, LogRecord, MessageLog, Outcome
from hub.ops.metrics import observe_exchange


@dataclass
class Exchange:
    direction: Direction
    agency: str
    operation: str
    service: str | None = None
    subject_person_id: str | None = None
    records: list[LogRecord] = field(default_factory=list)

    def _add(self, kind: str, payload: bytes | None, header: EnvelopeFields | None, payload_hash: str | None,
             outcome: Outcome = "ok") -> None:
        self.records.append(LogRecord(direction=self.direction, kind=kind, agency=self.agency,  # type: ignore[arg-type]
                                      operation=self.operation, service=self.service, header=header,
                                      subject_person_id=self.subject_person_id, payload=payload,
                                      payload_hash=payload_hash, outcome=outcome))

    def request(self, payload: bytes | None, header: EnvelopeFields | None = None,
                payload_hash: str | None = None) -> None:
        self._add("request", payload, header, payload_hash)

    def response(self, payload: bytes | None, header: EnvelopeFields | None = None,
                 payload_hash: str | None = None, outcome: Outcome = "ok") -> None:
        self._add("response", payload, header, payload_hash, outcome)


def _close(ex: Exchange, started: float, error: BaseException | None) -> list[LogRecord]:
    latency = int((time.perf_counter() - started) * 1000)
    if not ex.records:
        ex.request(None)
    if error is not None:
        outcome: Outcome = ("refused" if isinstance(error, Refusal) else
                            "timeout" if isinstance(error, TimeoutError | asyncio.CancelledError) else "failed")
        code = error.code if isinstance(error, Refusal) else (
            "AGENCY_UNAVAILABLE" if outcome == "timeout" else type(error).__name__)
        ex.records.append(LogRecord(direction=ex.direction, kind="response", agency=ex.agency,
                                    operation=ex.operation, service=ex.service,
                                    subject_person_id=ex.subject_person_id, outcome=outcome, error_code=code))
    ex.records[-1].latency_ms = latency
    last = ex.records[-1]
    observe_exchange(ex.direction, ex.agency, ex.operation, last.outcome, last.error_code,
                     time.perf_counter() - started)
    return ex.records


class HeldExchanges:
    """The entries of exchanges that end inside a unit of work which commits log entries of its own (a
    verification and its report): they wait for that unit's transaction instead of each committing alone.

    An agency's answer is used only through the unit's result, and the result is returned only after its
    transaction (these entries included) has committed, so the rule that no answer is used before the log
    shows it still holds, and the unit lands in the log whole or not at all. Each exchange committing on
    its own would put one more commit (an fsync) on the path of every source, queued behind the others.
    Once the unit has taken them (``close``), an exchange still ending (a call cancelled at the deadline,
    unwinding) commits on its own as usual."""

    def __init__(self) -> None:
        self._records: list[LogRecord] = []
        self._open = True

    def hold(self, records: list[LogRecord]) -> bool:
        if not self._open:
            return False
        self._records.extend(records)
        return True

    def close(self) -> list[LogRecord]:
        """Everything held so far, for the unit's transaction; nothing is held after this."""
        self._open = False
        records, self._records = self._records, []
        return records


_held: ContextVar[HeldExchanges | None] = ContextVar("held_exchanges", default=None)


@contextmanager
def holding_exchanges() -> Iterator[HeldExchanges]:
    """Hold the entries of the exchanges that end in this block (and in the tasks it starts); the caller
    must write what ``close()`` returns in its own transaction."""
    held = HeldExchanges()
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


class ExchangeRecorder:
    def __init__(self, log: MessageLog) -> None:
        self.log = log
        self._committers: dict[asyncio.AbstractEventLoop, GroupCommitter] = {}

    def committer(self) -> GroupCommitter:
        """The group committer of the running loop (a recorder may outlive a test's loop)."""
        loop = asyncio.get_running_loop()
        committer = self._committers.get(loop)
        if committer is None:
            for old in [lp for lp in self._committers if lp.is_closed()]:
                del self._committers[old]
            committer = self._committers[loop] = GroupCommitter(self.log, loop)
        return committer

    @contextmanager
    def exchange(self, direction: Direction, agency: str, operation: str, *, service: str | None = None,
                 subject_person_id: str | None = None) -> Iterator[Exchange]:
        ex = Exchange(direction, agency, operation, service, subject_person_id)
        started, error = time.perf_counter(), None
        try:
            yield ex
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.log.append_many(_close(ex, started, error))

    @asynccontextmanager
    async def exchange_async(self, direction: Direction, agency: str, operation: str, *,
                             service: str | None = None,
                             subject_person_id: str | None = None) -> AsyncIterator[Exchange]:
        ex = Exchange(direction, agency, operation, service, subject_person_id)
        started, error = time.perf_counter(), None
        try:
            yield ex
        except BaseException as exc:
            error = exc
            raise
        finally:
            records = _close(ex, started, error)
            held = _held.get()
            if held is None or not held.hold(records):
                # Written even when the caller was cancelled (a deadline): shielded so the entry is not lost.
                await asyncio.shield(self.committer().append(records))
