"""Scatter-gather over the configured connectors, bounded by the request's deadline.

Each source runs in its own task with its own provenance collector. When the deadline comes, what has
not answered is cancelled and reported ``timed_out``; its cancelled exchange is logged as a timeout by
the recorder, never as a success. A partial report is a report: failures are SourceResults, not
exceptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.connector import (
    AccountSource,
    IdentitySource,
    ParcelSource,
    collecting_provenance,
)
from hub.connectors_runtime import ConnectorSet
from hub.errors import AgencyError, AgencyTimeout, CircuitOpen
from hub.model.party import Address, Party
from hub.model.person_id import mask_person_id
from hub.model.verification import (
    SourceResult,
    SourceStatus,
    VerificationReport,
    VerificationRequest,
    VerificationScope,
)
from hub.resilience.context import CallContext

# Leave the report a little time to be assembled and sent inside the caller's deadline.
_ASSEMBLY_MARGIN_S = 0.03


@dataclass
class _Job:
    agency: str
    scopes: list[VerificationScope]
    run: Callable[[CallContext], Awaitable[dict[str, Any]]]


def _plan(req: VerificationRequest, connectors: ConnectorSet, person_id: str) -> tuple[list[_Job], list[SourceResult]]:
    jobs: list[_Job] = []
    skipped: list[SourceResult] = []
    wanted = set(req.scopes)
    now = datetime.now(UTC)

    def none_configured(scope: VerificationScope) -> None:
        skipped.append(SourceResult(agency="hub", scopes=[scope], status=SourceStatus.SKIPPED, started_at=now,
                                    duration_ms=0, detail=f"no agency configured for {scope.value}"))

    people = wanted & {VerificationScope.IDENTITY, VerificationScope.RESIDENCE}
    if people:
        sources = connectors.with_capability(IdentitySource)
        if not sources:
            for scope in sorted(people):
                none_configured(scope)
        for c in sources:
            async def identity(call: CallContext, c: Any = c) -> dict[str, Any]:
                party: Party | None = await c.lookup_person(person_id, call)
                if party is None:
                    return {}
                out: dict[str, Any] = {}
                if VerificationScope.IDENTITY in people:
                    out["identity"] = party
                if VerificationScope.RESIDENCE in people and party.addresses:
                    out["residence"] = party.addresses[0]
                return out
            jobs.append(_Job(c.agency_id, sorted(people), identity))
    if VerificationScope.BANK_ACCOUNTS in wanted:
        banks = connectors.with_capability(AccountSource)
        if not banks:
            none_configured(VerificationScope.BANK_ACCOUNTS)
        for c in banks:
            async def accounts(call: CallContext, c: Any = c) -> dict[str, Any]:
                return {"accounts": await c.find_accounts(person_id, call)}
            jobs.append(_Job(c.agency_id, [VerificationScope.BANK_ACCOUNTS], accounts))
    if VerificationScope.LAND in wanted:
        registries = connectors.with_capability(ParcelSource)
        if not registries:
            none_configured(VerificationScope.LAND)
        for c in registries:
            async def parcels(call: CallContext, c: Any = c) -> dict[str, Any]:
                return {"parcels": await c.find_parcels(person_id, call)}
            jobs.append(_Job(c.agency_id, [VerificationScope.LAND], parcels))
    return jobs, skipped


async def _run_one(job: _Job, call: CallContext) -> SourceResult:
    started, t0 = datetime.now(UTC), time.monotonic()

    def result(status: SourceStatus, **kw: Any) -> SourceResult:
        return SourceResult(agency=job.agency, scopes=job.scopes, status=status, started_at=started,
                            duration_ms=int((time.monotonic() - t0) * 1000), **kw)

    with collecting_provenance() as provenance:
        try:
            data = await job.run(call)
        except CircuitOpen as exc:
            return result(SourceStatus.CIRCUIT_OPEN, error_code=exc.code, detail=exc.detail)
        except AgencyTimeout as exc:
            return result(SourceStatus.TIMED_OUT, error_code=exc.code, detail=exc.detail)
        except AgencyError as exc:
            status = SourceStatus.NOT_FOUND if exc.code == "NOT_FOUND" else SourceStatus.FAILED
            return result(status, error_code=exc.code, detail=exc.detail)
    if not data and VerificationScope.BANK_ACCOUNTS not in job.scopes and VerificationScope.LAND not in job.scopes:
        return result(SourceStatus.NOT_FOUND, provenance=provenance[-1] if provenance else None)
    return result(SourceStatus.OK, provenance=provenance[-1] if provenance else None, **data)


async def scatter_gather(req: VerificationRequest, connectors: ConnectorSet, *, person_id: str) -> VerificationReport:
    requested_at = datetime.now(UTC)
    call = CallContext.within(req.deadline_ms / 1000 - _ASSEMBLY_MARGIN_S, case_ref=req.case_ref,
                              officer=req.officer, purpose=req.purpose, subject_person_id=person_id)
    jobs, results = _plan(req, connectors, person_id)
    tasks = {asyncio.create_task(_run_one(job, call)): job for job in jobs}
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, call.remaining())) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    if pending:
        # Let cancelled calls unwind (their exchanges are logged as timeouts) without waiting on the agency.
        await asyncio.wait(pending, timeout=0.05)
    for task, job in tasks.items():
        if task in done and not task.cancelled() and task.exception() is None:
            results.append(task.result())
        elif task in done and task.exception() is not None:
            exc = task.exception()
            results.append(SourceResult(agency=job.agency, scopes=job.scopes, status=SourceStatus.FAILED,
                                        started_at=requested_at, duration_ms=0,
                                        error_code="INTERNAL", detail=f"{type(exc).__name__}"))
        else:
            results.append(SourceResult(agency=job.agency, scopes=job.scopes, status=SourceStatus.TIMED_OUT,
                                        started_at=requested_at,
                                        duration_ms=int((datetime.now(UTC) - requested_at).total_seconds() * 1000),
                                        error_code="AGENCY_TIMEOUT", detail="no answer before the deadline"))
    return VerificationReport(
        subject_masked=mask_person_id(person_id), scopes=list(req.scopes), case_ref=req.case_ref or "",
        officer=req.officer or "", purpose=req.purpose or "", requested_at=requested_at,
        completed_at=datetime.now(UTC), sources=sorted(results, key=lambda r: r.agency))


__all__ = ["Address", "scatter_gather"]
