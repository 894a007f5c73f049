"""The verification service: scope checks, the report, its persistence, async jobs and webhooks, and the
citizen's subject report. Every verification leaves its own entries in the message log (the request,
who asked, for which case and purpose, and the completeness of the answer) beside the entries each
agency exchange leaves.

A request without a citizen ID is logged when it arrives without a subject (nobody is known yet); its
report entry names the person it resolved to, and each candidate the report lists gets an entry of its
own, so the look-up is answerable to every person whose data it showed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import bindparam, insert, select, update

from adapters.envelope import EnvelopeFields
from adapters.jws_envelope import JwsSigner
from hub.audit.log import LogRecord, MessageLog
from hub.audit.recorder import holding_exchanges
from hub.audit.subjects import SubjectIndex
from hub.clients import ApiClient
from hub.connectors_runtime import ConnectorSet
from hub.errors import HubError, NotFound
from hub.model.verification import VerificationReport, VerificationRequest, VerificationScope
from hub.ops.metrics import VERIFICATIONS
from hub.store.database import Database
from hub.store.tables import message_log, verification_jobs
from hub.store.timestamps import as_utc, utc_now
from hub.verification.scatter import Verified, verify_subject

log = logging.getLogger("thads.verification")

SCOPE_GRANTS = {VerificationScope.IDENTITY: "verify:identity", VerificationScope.RESIDENCE: "verify:residence",
                VerificationScope.BANK_ACCOUNTS: "verify:bank_accounts", VerificationScope.LAND: "verify:land"}


# Built once: building a SQLAlchemy statement costs more than executing it, on every verification's path.
_INSERT_JOB = insert(verification_jobs)
_FINISH_JOB = (update(verification_jobs).where(verification_jobs.c.id == bindparam("job_id"))
               .values({c: bindparam(c) for c in ("status", "completeness", "report", "completed_at")}))
_FINISH_SUBJECT = _FINISH_JOB.values(subject_hmac=bindparam("subject_hmac"), subject_masked=bindparam("subject_masked"))


def check_scopes(client: ApiClient, req: VerificationRequest) -> None:
    missing = [SCOPE_GRANTS[s] for s in req.scopes if SCOPE_GRANTS[s] not in client.scopes]
    if missing:
        raise HubError(f"client {client.name!r} may not verify {', '.join(missing)}", code="SCOPE_MISSING",
                       rule="scope_granted", missing=missing)
    identity = SCOPE_GRANTS[VerificationScope.IDENTITY]
    if req.person_id is None and identity not in client.scopes:
        # Finding who a name denotes is an identity look-up, whatever scopes are asked afterwards.
        raise HubError(f"client {client.name!r} may not resolve a person by name without {identity}",
                       code="SCOPE_MISSING", rule="identity_resolution", missing=[identity])


@dataclass
class VerificationService:
    db: Database
    connectors: ConnectorSet
    log: MessageLog
    subjects: SubjectIndex
    webhook_signer: JwsSigner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _header(self, job_id: uuid.UUID, req: VerificationRequest, operation: str) -> EnvelopeFields:
        now = utc_now()
        return EnvelopeFields(message_id=str(job_id), from_agency="hub", to_agency="hub", service="verification",
                              operation=operation, created=now,
                              expires=now + dt.timedelta(milliseconds=req.deadline_ms),
                              case_ref=req.case_ref, officer=req.officer, purpose=req.purpose)

    def log_refusal(self, client_name: str, person_id: str | None, code: str, case_ref: str | None,
                    officer: str | None, purpose: str | None) -> None:
        """A refused look-up is logged too: the attempt to look someone up is itself accountable."""
        now = utc_now()
        header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="hub", to_agency="hub",
                                service=f"client:{client_name}", operation="VerifyPerson", created=now,
                                expires=now + dt.timedelta(minutes=1), case_ref=case_ref, officer=officer,
                                purpose=purpose)
        self.log.append(LogRecord(direction="inbound", kind="request", agency="hub", operation="VerifyPerson",
                                  service=f"client:{client_name}", header=header, subject_person_id=person_id,
                                  outcome="refused", error_code=code))

    def _subject(self, req: VerificationRequest, person_id: str | None) -> dict[str, str]:
        """The job's subject columns: the person, or until one is resolved a keyed hash of the hints."""
        if person_id is not None:
            return {"subject_hmac": self.subjects.key(person_id), "subject_masked": self.subjects.mask(person_id)}
        assert req.hints is not None
        hints = req.hints.model_dump_json(include={"full_name", "birth_date", "birth_year"})
        return {"subject_hmac": self.subjects.key(f"hints:{hints}"), "subject_masked": "(by name)"}

    def _opening(self, job_id: uuid.UUID, req: VerificationRequest, client: ApiClient, callback_url: str | None,
                 status: str) -> tuple[dict[str, Any], LogRecord]:
        """The job's row and its request entry, as they stand when the request arrives."""
        row = dict(id=job_id, client_name=client.name, **self._subject(req, req.person_id), case_ref=req.case_ref,
                   officer=req.officer, purpose=req.purpose, scopes=[s.value for s in req.scopes], status=status,
                   callback_url=callback_url, created_at=utc_now())
        return row, LogRecord(direction="inbound", kind="request", agency="hub", operation="VerifyPerson",
                              service=f"client:{client.name}", header=self._header(job_id, req, "VerifyPerson"),
                              subject_person_id=req.person_id)

    def _start(self, job_id: uuid.UUID, req: VerificationRequest, client: ApiClient, callback_url: str | None,
               status: str) -> None:
        row, entry = self._opening(job_id, req, client, callback_url, status)
        # The job and its log entry commit together: no verification runs that the log does not show.
        with self.db.begin() as conn:
            conn.execute(_INSERT_JOB, row)
            self.log.append_in(conn, [entry])

    def _finish(self, job_id: uuid.UUID, req: VerificationRequest, verified: Verified, client: ApiClient,
                report: VerificationReport, exchanges: list[LogRecord],
                opening: tuple[dict[str, Any], LogRecord] | None = None) -> None:
        """Store the report and log it with the agencies' exchanges; ``opening``: the job's row and request
        entry when they were not written at the start (a synchronous verification)."""
        body = report.model_dump(mode="json")
        person_id = verified.person_id
        subject = self._subject(req, person_id) if req.person_id is None and person_id is not None else {}
        shown = [LogRecord(direction="inbound", kind="response", agency="hub", operation="IdentityCandidate",
                           service=f"client:{client.name}", header=self._header(job_id, req, "IdentityCandidate"),
                           subject_person_id=candidate) for candidate in verified.disclosed if candidate != person_id]
        done = dict(status="done", completeness=report.completeness.value, report=body, completed_at=utc_now(),
                    **subject)
        with self.db.begin() as conn:
            if opening is None:
                conn.execute(_FINISH_SUBJECT if subject else _FINISH_JOB, {**done, "job_id": job_id})
            else:
                conn.execute(_INSERT_JOB, {**opening[0], **done})
            self.log.append_in(conn, [*([opening[1]] if opening else []), *exchanges, LogRecord(
                direction="inbound", kind="response", agency="hub", operation="VerifyPersonReport",
                service=f"client:{client.name}", header=self._header(job_id, req, "VerifyPersonReport"),
                subject_person_id=person_id, payload=json.dumps(body, sort_keys=True).encode(), outcome="ok",
                error_code=None if report.completeness.value == "complete" else report.completeness.value,
                latency_ms=int((report.completed_at - report.requested_at).total_seconds() * 1000)), *shown])

    async def _run(self, job_id: uuid.UUID, req: VerificationRequest, client: ApiClient,
                   opening: tuple[dict[str, Any], LogRecord] | None = None) -> VerificationReport:
        """Ask the agencies and store the report; the agencies' exchanges are logged in the report's
        transaction (``holding_exchanges``), with ``opening`` when the job was not stored at the start."""
        with holding_exchanges() as held:
            try:
                verified = await verify_subject(req, self.connectors)
            except BaseException:
                left = ([opening[1]] if opening else []) + held.close()
                await asyncio.shield(asyncio.to_thread(self.log.append_many, left))
                raise
            exchanges = held.close()
        report = verified.report.model_copy(update={"id": job_id})
        VERIFICATIONS.labels(report.completeness.value).inc()
        try:
            await asyncio.to_thread(self._finish, job_id, req, verified, client, report, exchanges, opening)
        except BaseException:
            # The report could not be stored; the agencies were asked all the same, and that must show.
            left = ([opening[1]] if opening else []) + exchanges
            await asyncio.shield(asyncio.to_thread(self.log.append_many, left))
            raise
        return report

    async def verify(self, req: VerificationRequest, client: ApiClient) -> VerificationReport:
        """A synchronous verification: the job, its request entry, the agencies' exchanges and the report go
        to the store in ONE transaction once the agencies have answered, before the report is returned. So
        the log holds the verification whole or not at all, and no report reaches a caller that the log
        does not show; a crash while the agencies are being asked leaves no report and no entry in the hub
        (each agency holds the signed request it received, naming the case and purpose). Writing the job
        first would add a commit to every verification, and running it beside the agency calls made its
        thread compete with them for the interpreter while the requests were being signed and sent."""
        check_scopes(client, req)
        job_id = uuid.uuid4()
        return await self._run(job_id, req, client, self._opening(job_id, req, client, None, "running"))

    async def submit(self, req: VerificationRequest, client: ApiClient, callback_url: str | None) -> uuid.UUID:
        check_scopes(client, req)
        job_id = uuid.uuid4()
        await asyncio.to_thread(self._start, job_id, req, client, callback_url, "pending")

        async def run() -> None:
            report = await self._run(job_id, req, client)
            if callback_url:
                await self._callback(callback_url, job_id, req, report)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id

    async def _callback(self, url: str, job_id: uuid.UUID, req: VerificationRequest,
                        report: VerificationReport) -> None:
        body = report.model_dump_json().encode()
        headers = {"content-type": "application/json"}
        if self.webhook_signer is not None:
            headers["X-JWS-Signature"] = self.webhook_signer.sign(self._header(job_id, req, "VerificationReport"), body)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:  # the result stays available by GET; the callback is a convenience
            log.warning("verification %s: callback failed: %s", job_id, type(exc).__name__)

    def get(self, job_id: uuid.UUID, client: ApiClient) -> dict[str, Any]:
        with self.db.begin() as conn:
            row = conn.execute(select(verification_jobs).where(verification_jobs.c.id == job_id)).first()
        if row is None or row.client_name != client.name:
            raise NotFound(f"no verification {job_id} for this client")
        # completeness is computed from the sources; the stored copy is for queries, not for re-validation
        report = {k: v for k, v in row.report.items() if k != "completeness"} if row.report else None
        return {"id": str(row.id), "status": row.status, "report": report,
                "created_at": as_utc(row.created_at).isoformat()}

    def subject_report(self, person_id: str) -> list[dict[str, Any]]:
        key = self.subjects.key(person_id)
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(message_log).where(message_log.c.subject_hmac == key)
                                .order_by(message_log.c.recorded_at, message_log.c.partition, message_log.c.seq))
            return [{"at": as_utc(r.recorded_at).isoformat(), "direction": r.direction, "kind": r.kind,
                     "agency": r.agency, "operation": r.operation, "requested_by": r.service,
                     "case_ref": r.case_ref, "officer": r.officer, "purpose": r.purpose, "outcome": r.outcome,
                     "error_code": r.error_code, "returned_payload_sha256": r.payload_hash,
                     "log_entry": f"{r.partition}/{r.seq}"} for r in rows]

