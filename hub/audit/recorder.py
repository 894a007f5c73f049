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
            # Written even when the caller was cancelled (a deadline): shielded so the entry is not lost.
            await asyncio.shield(self.committer().append(_close(ex, started, error)))
