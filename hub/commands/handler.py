"""The worker side of commands: one queue entry carries one command to its agency, once in effect.

The command's row decides what is done (``transitions``); the agency decides what is applied: each
connector sends the decision and target as the agency's idempotency key with every attempt, so an entry
delivered twice (a worker killed after the agency acted and before the row was written, a relay that
published twice) asks again and gets the first receipt back, never a second freeze. The entry is
acknowledged only after the outcome is in the row.

Failures: an agency's refusal, or a command no attempt can carry, ends the command as ``failed`` with
its error code and dead-letters the entry with the reason (``Reject``). Anything transient (the agency
down, its breaker open, a time-out) puts it back to ``queued`` with the code, and the runtime delivers
the entry again after its backoff; on the last allowed delivery it ends as ``dead_lettered`` instead,
replayable with ``thads-hub dlq replay commands``.
"""

from __future__ import annotations

import uuid

from hub.bootstrap import Services
from hub.commands.delivery import AgencyNotConfigured, connector_for, deliver
from hub.commands.kinds import QUEUE, QUEUE_CAPACITY, CommandStatus
from hub.commands.transitions import Busy, Claimed, CommandRecords
from hub.errors import HubError
from hub.model.decisions import AgencyReceipt
from hub.resilience.context import CallContext
from hub.worker.handler import QueueHandler, Reject, RetryLater, is_permanent
from hub.worker.streams import Entry


def _code(exc: BaseException) -> str:
    return exc.code if isinstance(exc, HubError) else type(exc).__name__


def _detail(exc: BaseException) -> str:
    rule = f" ({exc.rule})" if isinstance(exc, HubError) and exc.rule else ""
    return f"{exc}{rule}"


class CommandHandler(QueueHandler):
    queue = QUEUE
    capacity = QUEUE_CAPACITY
    needs_connectors = True
    # Commands in flight per worker; each agency's own concurrency and rate limit (the guard) pace them further.
    # 64 rather than fewer: with agencies answering in 50-100 ms, 16 in flight capped a worker at 160-320
    # commands/s whatever its CPU, and more deliveries at once share more of each commit (measured in
    # bench_outbox: CPU per command down by a quarter from 16 to 64, no further gain at 128).
    concurrency = 64
    max_attempts = 8  # with the backoff below, five to nine minutes of an agency being away before dead-lettering
    retry_base_s = 5.0
    retry_max_s = 240.0
    call_timeout_s = 30.0  # one delivery, the guard's own retries within it included

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.records = CommandRecords(services.db, lease_s=4 * self.call_timeout_s)

    async def handle(self, entry: Entry) -> None:
        command_id = uuid.UUID(entry.fields["command"])
        try:
            claimed = await self.records.claim(command_id, entry.id)
        except Busy as exc:
            raise RetryLater(str(exc)) from None
        if claimed is None:
            return
        try:
            receipt = await self._deliver(claimed)
        except Exception as exc:
            await self._failed(claimed, entry, exc)
            raise
        await self.records.acknowledge(claimed.id, entry.id, receipt)

    async def dead_lettered_unhandled(self, entry: Entry, reason: str) -> None:
        """Its workers kept dying on this entry: the command ends dead-lettered (replayable like any other),
        unless it has ended already or another entry is delivering it now. INTERNAL: the registry's code for
        a failure of the hub's own, which is what a worker dying on an entry every time is."""
        await self.records.abandon(uuid.UUID(entry.fields["command"]), entry.id, "INTERNAL", reason)

    async def _deliver(self, claimed: Claimed) -> AgencyReceipt:
        try:
            connector = connector_for(self.services.connectors, claimed.agency, claimed.kind)
        except AgencyNotConfigured as exc:
            if exc.rule == "agency_configured":  # this worker's agencies file lacks it: fixable, so not final
                raise RetryLater(str(exc)) from None
            raise
        call = CallContext.within(self.call_timeout_s, case_ref=claimed.case_ref, officer=claimed.officer,
                                  purpose=claimed.purpose, idempotency_key=claimed.natural_key)
        return await deliver(connector, claimed.kind, claimed.payload, claimed.case_ref, claimed.id, call)

    async def _failed(self, claimed: Claimed, entry: Entry, exc: Exception) -> None:
        code, detail = _code(exc), _detail(exc)
        if is_permanent(exc):
            await self.records.end(claimed.id, entry.id, CommandStatus.FAILED, code, detail)
            raise Reject(f"command {claimed.id} failed: {code}: {detail}") from exc
        if entry.deliveries >= self.max_attempts:
            await self.records.end(claimed.id, entry.id, CommandStatus.DEAD_LETTERED, code,
                                   f"gave up after {entry.deliveries} attempts; last: {detail}")
        else:
            await self.records.give_back(claimed.id, entry.id, code, f"attempt {claimed.attempt} failed: {detail}; "
                                         "will retry")
