"""Operations: `/metrics` for Prometheus, `/v1/ops/summary` and the `/ops` page built on the same figures.

No authentication, like most metrics endpoints: they carry counts, latencies, states and error codes,
never a citizen ID, a name or a document. The recent failures list names agencies, operations, error
codes, case references and message-log positions; the entries themselves stay behind `audit:read`.
Bind the hub to an internal interface (the default is 127.0.0.1) or put these paths behind the
operations network in production.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import select

from hub.api.auth import require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.errors import NotFound
from hub.ops.metrics import render
from hub.ops.state import hub_state, recent_failures
from hub.ops.summary import summarise
from hub.store.tables import message_log
from hub.store.timestamps import as_utc

router = APIRouter(tags=["operations"])


async def _exposition(request: Request) -> bytes:
    services = request.app.state.services
    return render(await hub_state(services))


@router.get("/metrics", summary="Prometheus metrics: exchanges per agency and operation, latency, errors by code, "
            "retries, breaker states, queue depths, dead letters, outbox backlog, verification completeness",
            response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    return Response(await _exposition(request), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/ops/summary", summary="The operations page's figures (computed from /metrics) and recent failures")
async def ops_summary(request: Request) -> dict[str, Any]:
    summary = summarise(await _exposition(request))
    summary["failures"] = await asyncio.to_thread(recent_failures, request.app.state.services)
    return summary


@router.get("/ops", summary="The operations page: per-agency health, traffic, latency, errors, breakers, queues "
            "and recent failures, refreshed every two seconds", response_class=HTMLResponse)
async def ops_page() -> HTMLResponse:
    return HTMLResponse(files("hub.ops").joinpath("ops.html").read_text(encoding="utf-8"))


@router.get("/v1/audit/log/{partition}/{seq}", summary="One message-log entry (metadata: who, what, for which "
            "case, outcome, hashes; the subject masked)", responses=problem_responses("NOT_FOUND", "AUTH_REQUIRED",
                                                                                       "SCOPE_MISSING"))
async def log_entry(request: Request, partition: int = Path(ge=0, le=10_000),
                    seq: int = Path(ge=1, le=2**62),
                    _: ApiClient = Depends(require_scopes("audit:read"))) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with request.app.state.services.db.engine.connect() as conn:
            row = conn.execute(select(message_log).where(message_log.c.partition == partition,
                                                         message_log.c.seq == seq)).first()
        if row is None:
            raise NotFound(f"no message-log entry {partition}/{seq}")
        entry = {k: v for k, v in row._mapping.items() if k not in ("body", "subject_hmac")}
        return {k: (as_utc(v).isoformat() if k == "recorded_at" else v) for k, v in entry.items()}

    return await asyncio.to_thread(read)
