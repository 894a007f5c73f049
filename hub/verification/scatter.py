"""Scatter-gather over the configured connectors, bounded by the request's deadline.

Each source runs in its own task with its own provenance collector. When the deadline comes, what has
not answered is cancelled and reported ``timed_out``; its cancelled exchange is logged as a timeout by
the recorder, never as a success. A partial report is a report: failures are SourceResults, not
exceptions.

A request without a citizen ID first resolves the person within the same deadline: every identity source
is searched by the hints, the candidates are scored (``hub.identity``), and only a resolved person is
looked up further. An ambiguous, weak or failed resolution looks up no asset at all: the report carries
the decision and the candidates for the officer to choose from.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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
from hub.identity import Candidate, Resolution, find_mismatches, resolve
from hub.model.party import Address, Party
from hub.model.person_id import mask_person_id
from hub.model.verification import (
    IdentityDecision,
    IdentityResolution,
    SourceResult,
    SourceStatus,
    VerificationReport,
    VerificationRequest,
    VerificationScope,
)
from hub.resilience.context import CallContext

# Leave the report a little time to be assembled and sent inside the caller's deadline.
_ASSEMBLY_MARGIN_S = 0.08
_PEOPLE = frozenset({VerificationScope.IDENTITY, VerificationScope.RESIDENCE})


@dataclass
class _Job:
    agency: str
    scopes: list[VerificationScope]
    run: Callable[[CallContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Verified:
    """A report and its subject's citizen ID (given, or resolved; None when not resolved): the caller logs
    the verification against that person, and the report shows the ID only masked. ``disclosed`` holds the
    IDs of the candidates the report lists: their data reached the caller too, so each is logged as well."""

    report: VerificationReport
    person_id: str | None
    disclosed: tuple[str, ...] = ()


def _skipped(scope: VerificationScope, detail: str) -> SourceResult:
    return SourceResult(agency="hub", scopes=[scope], status=SourceStatus.SKIPPED, started_at=datetime.now(UTC),
                        duration_ms=0, detail=detail)


def _plan(req: VerificationRequest, connectors: ConnectorSet, person_id: str, *,
          people_known: bool = False) -> tuple[list[_Job], list[SourceResult]]:
    jobs: list[_Job] = []
    skipped: list[SourceResult] = []
    wanted = set(req.scopes)

    def none_configured(scope: VerificationScope) -> None:
        skipped.append(_skipped(scope, f"no agency configured for {scope.value}"))

    people = wanted & _PEOPLE
    if people and not people_known:
        sources = connectors.with_capability(IdentitySource)
        if not sources:
            for scope in sorted(people):
                none_configured(scope)
        for c in sources:
            async def identity(call: CallContext, c: Any = c) -> dict[str, Any]:
                party: Party | None = await c.lookup_person(person_id, call)
                return {} if party is None else _people_data(party, people)
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


def _people_data(party: Party, people: set[VerificationScope]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if VerificationScope.IDENTITY in people:
        out["identity"] = party
    if VerificationScope.RESIDENCE in people and party.addresses:
        out["residence"] = party.addresses[0]
    return out


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


async def _gather(jobs: list[_Job], call: CallContext) -> list[SourceResult]:
    """Every job's result by the call's deadline: what has not answered by then is cancelled, timed out."""
    started = datetime.now(UTC)
    tasks = {asyncio.create_task(_run_one(job, call)): job for job in jobs}
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, call.remaining())) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    if pending:
        # Let cancelled calls unwind (their exchanges are logged as timeouts) without waiting on the agency.
        await asyncio.wait(pending, timeout=0.05)
    results: list[SourceResult] = []
    for task, job in tasks.items():
        if task in done and not task.cancelled() and task.exception() is None:
            results.append(task.result())
        elif task in done and task.exception() is not None:
            exc = task.exception()
            results.append(SourceResult(agency=job.agency, scopes=job.scopes, status=SourceStatus.FAILED,
                                        started_at=started, duration_ms=0,
                                        error_code="INTERNAL", detail=f"{type(exc).__name__}"))
        else:
            results.append(SourceResult(agency=job.agency, scopes=job.scopes, status=SourceStatus.TIMED_OUT,
                                        started_at=started,
                                        duration_ms=int((datetime.now(UTC) - started).total_seconds() * 1000),
                                        error_code="AGENCY_TIMEOUT", detail="no answer before the deadline"))
    return results


async def _resolve(req: VerificationRequest, connectors: ConnectorSet,
                   call: CallContext) -> tuple[Resolution, list[SourceResult]]:
    """Search every identity source by the hints, then score what they returned."""
    assert req.hints is not None  # the request's validator guarantees hints without a person_id
    sources = connectors.with_capability(IdentitySource)
    if not sources:
        return (Resolution(IdentityResolution(decision=IdentityDecision.NO_ANSWER,
                                              detail="no identity source is configured")),
                [_skipped(VerificationScope.IDENTITY, "no agency configured for identity")])
    # Searched without the province: an agency filters on it strictly, which would hide the namesakes that
    # make a match ambiguous and a person who has moved since the judgment; the scorer weighs it instead.
    wide = req.hints.model_copy(update={"province_code": None})
    found: dict[str, list[Party]] = {}
    jobs = []
    for c in sources:
        async def search(call: CallContext, c: Any = c) -> dict[str, Any]:
            found[c.agency_id] = await c.search_people(wide, call)
            return {"matches": len(found[c.agency_id])} if found[c.agency_id] else {}
        jobs.append(_Job(c.agency_id, [VerificationScope.IDENTITY], search))
    results = await _gather(jobs, call)
    if not any(r.status in (SourceStatus.OK, SourceStatus.NOT_FOUND) for r in results):
        return (Resolution(IdentityResolution(decision=IdentityDecision.NO_ANSWER,
                                              detail="no identity source answered the search")), results)
    resolution = resolve(req.hints, [Candidate(p, job.agency) for job in jobs for p in found.get(job.agency, [])])
    person = resolution.person
    if person is not None:
        # The search answer already holds the person's record: it serves the identity and residence scopes
        # without asking the agency again.
        people = set(req.scopes) & _PEOPLE
        results = [r.model_copy(update={"scopes": sorted(people), **_people_data(person, people)})
                   if r.agency == resolution.source and people else r for r in results]
    return resolution, results


def _report(req: VerificationRequest, requested_at: datetime, results: list[SourceResult], person_id: str | None,
            resolution: IdentityResolution | None, reference: tuple[str, Party] | None) -> VerificationReport:
    """``reference``: the identity source's record of the subject, which the other sources are checked against."""
    return VerificationReport(
        subject_masked=mask_person_id(person_id) if person_id else None,
        scopes=list(req.scopes), case_ref=req.case_ref or "", officer=req.officer or "", purpose=req.purpose or "",
        requested_at=requested_at, completed_at=datetime.now(UTC), sources=sorted(results, key=lambda r: r.agency),
        identity_resolution=resolution, mismatches=find_mismatches(*reference, results) if reference else [])


async def verify_subject(req: VerificationRequest, connectors: ConnectorSet) -> Verified:
    """Resolve the subject when no citizen ID is given, then look them up in every asked scope."""
    requested_at = datetime.now(UTC)
    call = CallContext.within(req.deadline_ms / 1000 - _ASSEMBLY_MARGIN_S, case_ref=req.case_ref,
                              officer=req.officer, purpose=req.purpose)
    results: list[SourceResult] = []
    resolution: Resolution | None = None
    person_id = req.person_id
    if person_id is None:
        resolution, results = await _resolve(req, connectors, call)
        if resolution.person is None or resolution.person.person_id is None:
            why = f"identity {resolution.outcome.decision.value}: nothing is looked up without a resolved person"
            results += [_skipped(s, why) for s in req.scopes if s is not VerificationScope.IDENTITY]
            return Verified(_report(req, requested_at, results, None, resolution.outcome, None), None,
                            _ids(resolution.listed))
        person_id = resolution.person.person_id
    jobs, skipped = _plan(req, connectors, person_id, people_known=resolution is not None)
    results += skipped + await _gather(jobs, replace(call, subject_person_id=person_id))
    reference: tuple[str, Party] | None
    if resolution is not None and resolution.person is not None and resolution.source is not None:
        reference = (resolution.source, resolution.person)
    else:
        reference = next(((r.agency, r.identity) for r in results if r.identity is not None), None)
    outcome = resolution.outcome if resolution else None
    return Verified(_report(req, requested_at, results, person_id, outcome, reference), person_id,
                    _ids(resolution.listed) if resolution else ())


def _ids(people: tuple[Party, ...]) -> tuple[str, ...]:
    return tuple(p.person_id for p in people if p.person_id)


async def scatter_gather(req: VerificationRequest, connectors: ConnectorSet, *,
                         person_id: str | None = None) -> VerificationReport:
    """The report alone; ``person_id`` overrides the request's."""
    if person_id is not None:
        req = req.model_copy(update={"person_id": person_id})
    return (await verify_subject(req, connectors)).report


__all__ = ["Address", "Verified", "scatter_gather", "verify_subject"]
