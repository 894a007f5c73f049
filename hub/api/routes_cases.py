"""`GET /v1/cases/{id}`: an enforcement case as intake opened it, with its judgment, where it came from,
how its parties were identified, and what the procuracy and the banks sent about it since."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from sqlalchemy import or_, select

from hub.api.auth import require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.inbound.intake_store import get_record
from hub.inbound.links import linked_to_case
from hub.store.database import Database
from hub.store.tables import inbound_evidence, message_log
from hub.store.timestamps import as_utc

router = APIRouter(tags=["cases"])


def _db(request: Request) -> Database:
    db: Database = request.app.state.services.db
    return db


def case_view(db: Database, case_id: UUID) -> dict[str, Any]:
    record = get_record(db, case_id=case_id)
    view = record.model_dump(mode="json")
    view.update(linked_to_case(db, case_id))
    return view


@router.get("/v1/cases/{case_id}", summary="An enforcement case opened by intake",
            responses={**problem_responses("NOT_FOUND", "AUTH_REQUIRED", "SCOPE_MISSING")})
async def get_case(case_id: UUID, request: Request,
                   client: ApiClient = Depends(require_scopes("cases:read"))) -> dict[str, Any]:
    return await asyncio.to_thread(case_view, _db(request), case_id)


def evidence_of(db: Database, case_id: UUID) -> list[dict[str, Any]]:
    record = get_record(db, case_id=case_id)
    with db.engine.connect() as conn:
        rows = conn.execute(select(inbound_evidence).where(or_(
            inbound_evidence.c.record_id == str(record.id),
            inbound_evidence.c.record_id == str(case_id))).order_by(inbound_evidence.c.id)).all()
        log = conn.execute(select(message_log).where(message_log.c.message_id == record.source.message_id)
                           .order_by(message_log.c.recorded_at)).all()
    stages = [{"at": as_utc(r.at).isoformat(), "stage": r.stage, "agency": r.agency, "message_id": r.message_id,
               **r.detail} for r in rows]
    exchanges = [{"at": as_utc(r.recorded_at).isoformat(), "kind": r.kind, "direction": r.direction,
                  "operation": r.operation, "outcome": r.outcome, "error_code": r.error_code,
                  "payload_hash": r.payload_hash, "log_entry": f"{r.partition}/{r.seq}"} for r in log]
    return stages + [{"stage": "exchange", **e} for e in exchanges]


@router.get("/v1/cases/{case_id}/evidence", summary="Evidence of each stage of the case's inbound documents",
            description="Accepted, duplicates, deliveries to case systems, linked documents, and the message-log "
                        "entries of the pushed message (where refusals are kept).",
            responses={**problem_responses("NOT_FOUND", "AUTH_REQUIRED", "SCOPE_MISSING")})
async def get_evidence(case_id: UUID, request: Request,
                       client: ApiClient = Depends(require_scopes("audit:read"))) -> list[dict[str, Any]]:
    return await asyncio.to_thread(evidence_of, _db(request), case_id)
