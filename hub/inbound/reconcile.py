"""Reconciliation: a periodic poll of the court's ListEffectiveJudgments catches judgments whose push
was lost (a court outage, an answer lost and never retried).

Every judgment the court lists as in effect since ``lookback`` days ago that the hub does not hold is
read with GetJudgment (the court's signed answer, verified by the connector) and taken in like a push,
channel ``reconciliation``: the same idempotent intake, so a push that lands meanwhile is a duplicate,
not a second case. Courts must hand judgments over within 30 days of legal effect (DOMAIN.md), hence
the default look-back.

Every worker process runs the poller (hub/worker/registry.py COMPANIONS); a Redis lock with the poll
interval as its lifetime lets one of them poll per interval.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hub.agencies import load_agencies
from hub.bootstrap import Services
from hub.connector import JudgmentSource
from hub.inbound.desk import intake_capability
from hub.inbound.intake_store import evidence, take_in
from hub.inbound.routing import RoutingRules
from hub.model.intake import IntakeSource
from hub.resilience.context import CallContext
from hub.store.tables import judgments

log = logging.getLogger("thads.inbound.reconcile")

LOOKBACK_DAYS = 30
PURPOSE = "Đối soát bản án có hiệu lực pháp luật chưa nhận được"


@dataclass
class ReconcileReport:
    listed: int = 0
    missing: int = 0
    taken_in: list[str] = field(default_factory=list)  # intake references
    failed: dict[str, str] = field(default_factory=dict)  # "court/number" -> error code


def _held(services: Services) -> set[tuple[str, str]]:
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(judgments.c.court_code, judgments.c.number_text)).all()
    return {(r.court_code, r.number_text) for r in rows}


async def reconcile(services: Services, since: dt.date, *, rules: RoutingRules | None = None,
                    deadline_s: float = 60.0) -> ReconcileReport:
    court: JudgmentSource = intake_capability(services.connectors, "court", JudgmentSource)
    rules = rules or RoutingRules.load()
    call = CallContext.within(deadline_s, purpose=PURPOSE, officer="thads-hub (đối soát)")
    refs = await court.list_effective_references(since, call)
    held = await asyncio.to_thread(_held, services)
    report = ReconcileReport(listed=len(refs))
    for number, court_code in refs:
        if (court_code, number) in held:
            continue
        report.missing += 1
        try:
            judgment = await court.get_judgment(number, court_code, CallContext.within(
                deadline_s, purpose=PURPOSE, officer="thads-hub (đối soát)"))
        except Exception as exc:  # one court answer failing must not stop the others: the next poll retries
            report.failed[f"{court_code}/{number}"] = getattr(exc, "code", type(exc).__name__)
            continue
        if judgment is None or judgment.source_document_hash is None:
            report.failed[f"{court_code}/{number}"] = "NOT_FOUND"
            continue
        now = dt.datetime.now(dt.UTC)
        source = IntakeSource(agency="court", message_id=f"reconciliation:{court_code}:{number}"[:200],
                              channel="reconciliation", envelope_hash=None,
                              document_hash=judgment.source_document_hash, received_at=now)
        taken = await asyncio.to_thread(take_in, services.db, judgment, source, rules)
        if not taken.duplicate:
            report.taken_in.append(taken.intake_ref)
            await asyncio.to_thread(_note, services, taken.intake_ref, str(taken.intake_id), court_code, number)
    return report


def _note(services: Services, intake_ref: str, intake_id: str, court_code: str, number: str) -> None:
    with services.db.begin() as conn:
        evidence(conn, "court", None, "reconciled", intake_id, intake_ref=intake_ref, court=court_code,
                 number=number)


class ReconcilePoller:
    """A worker companion: polls every ``interval_s``, one worker per interval (Redis lock)."""

    def __init__(self, services: Services, consumer: str, *, interval_s: float = 300.0,
                 lookback_days: int = LOOKBACK_DAYS) -> None:
        self.services, self.consumer = services, consumer
        self.interval_s, self.lookback_days = interval_s, lookback_days
        self.last: ReconcileReport | None = None

    async def _connectors(self) -> Any:
        if self.services.connectors is None:
            from hub.connectors_runtime import build_connectors

            connectors = build_connectors(self.services.settings, self.services.redis, self.services.db)
            await connectors.start()
            self.services.connectors = connectors
        return self.services.connectors

    async def poll_once(self) -> ReconcileReport | None:
        if "court" not in load_agencies(self.services.settings.agencies):
            return None  # a hub without a court configured has nothing to reconcile
        key = self.services.key("inbound", "reconcile", "lock")
        if not await self.services.redis.set(key, self.consumer.encode(), nx=True, px=int(self.interval_s * 1000)):
            return None  # another worker polls this interval
        await self._connectors()
        since = dt.date.today() - dt.timedelta(days=self.lookback_days)
        self.last = await reconcile(self.services, since)
        if self.last.taken_in or self.last.failed:
            log.warning("reconciliation took in %d lost judgment(s); %d failed: %s", len(self.last.taken_in),
                        len(self.last.failed), self.last.failed)
        return self.last

    async def run(self, stopping: asyncio.Event) -> None:
        # The first poll waits one interval: pushes that arrive as a worker starts are not raced, and a worker
        # restarted in a loop does not hammer the court.
        while not stopping.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval_s)
            if stopping.is_set():
                return
            try:
                await self.poll_once()
            except Exception as exc:  # the court or the store away: the next interval tries again
                log.warning("reconciliation poll failed: %s", exc)
