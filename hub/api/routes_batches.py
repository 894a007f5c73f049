"""`/v1/verification-batches`: periodic re-verification of many subjects, worked by `thads-hub worker`."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from hub.api.auth import current_client
from hub.api.problems import problem_responses
from hub.batches.service import BatchService
from hub.batches.upload import CSV_COLUMNS, MAX_SUBJECTS, BatchParams, parse_upload
from hub.clients import ApiClient
from hub.errors import HubError
from hub.model.verification import VerificationScope

router = APIRouter(tags=["verification batches"])

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
_FORMATS = {"application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/json-lines": "jsonl",
            "text/csv": "csv"}


class BatchAccepted(BaseModel):
    id: UUID
    total: int
    status_url: str
    results_url: str


class BatchProgress(BaseModel):
    id: UUID
    status: str = Field(description="queued (subjects still to do) or done.")
    total: int
    done: int = Field(description="Subjects finished, verified (done) or failed for good.")
    running: int
    pending: int
    completeness: dict[str, int] = Field(description="Finished subjects by report completeness.")
    created_at: str
    completed_at: str | None
    subjects_per_second: float | None
    eta_seconds: float | None = Field(description="At the rate so far; null until the first subject is done.")
    results_url: str


def _service(request: Request) -> BatchService:
    service: BatchService = request.app.state.services.batches
    return service


@router.post(
    "/v1/verification-batches", status_code=202, response_model=BatchAccepted,
    summary="Re-verify many subjects: upload JSON lines or CSV, get a batch id",
    description=(
        "The body is JSON lines (`application/x-ndjson`, one object per line) or CSV (`text/csv` with a header "
        f"of {', '.join(CSV_COLUMNS)}). Each line names the enforcement case (`case_ref`) and the subject: "
        "`person_id`, or `full_name` with `birth_date` / `birth_year` / `province_code` for identity resolution. "
        "Officer, purpose and scopes apply to the whole batch. One invalid line refuses the upload (the problem "
        "lists each bad line); nothing is stored. The subjects are verified by `thads-hub worker` processes "
        "within every agency's quota."),
    responses={**problem_responses("REQUEST_INVALID", "PURPOSE_MISSING", "SCOPE_MISSING", "AUTH_REQUIRED",
                                   "BODY_TOO_LARGE", "QUEUE_FULL")},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}})
async def create_batch(
        request: Request, client: ApiClient = Depends(current_client),
        officer: str = Query(..., min_length=1, max_length=200, description="The enforcement officer asking."),
        purpose: str = Query(..., min_length=1, max_length=1024, description="Purpose and legal basis."),
        scopes: list[VerificationScope] = Query(..., description="What to verify of every subject."),
        deadline_ms: int = Query(60_000, ge=1000, le=120_000,
                                 description="Per subject, including the wait for the agencies' quota.")) -> Any:
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(kind)
    if fmt is None:
        raise HubError(f"send JSON lines or CSV ({', '.join(_FORMATS)}), not {kind or 'no content type'}",
                       code="REQUEST_INVALID", rule="content_type")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise HubError(f"at most {MAX_UPLOAD_BYTES} bytes per upload", code="BODY_TOO_LARGE", rule="upload_size")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES:
            raise HubError(f"at most {MAX_UPLOAD_BYTES} bytes per upload", code="BODY_TOO_LARGE",
                           rule="upload_size")
    params = BatchParams(officer=officer.strip(), purpose=purpose.strip(), scopes=list(dict.fromkeys(scopes)),
                         deadline_ms=deadline_ms)
    requests = await asyncio.to_thread(parse_upload, bytes(body), fmt, params)
    service = _service(request)
    batch_id = await asyncio.to_thread(service.create, client, params, requests)
    accepted = BatchAccepted(id=batch_id, total=len(requests), status_url=f"/v1/verification-batches/{batch_id}",
                             results_url=f"/v1/verification-batches/{batch_id}/results")
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.get("/v1/verification-batches/{batch_id}", response_model=BatchProgress,
            summary="A batch's progress, rate and estimated time to completion",
            responses=problem_responses("NOT_FOUND", "AUTH_REQUIRED"))
async def batch_progress(batch_id: UUID, request: Request, client: ApiClient = Depends(current_client)) -> Any:
    return await asyncio.to_thread(_service(request).progress, batch_id, client)


@router.get("/v1/verification-batches/{batch_id}/results",
            summary="The batch's results as JSON lines, one per subject in upload order",
            responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                             "description": "One JSON object per line: line, request, status, completeness, "
                                            "verification_id, report."},
                       **problem_responses("NOT_FOUND", "AUTH_REQUIRED")})
async def batch_results(batch_id: UUID, request: Request, client: ApiClient = Depends(current_client)) -> Any:
    lines = await asyncio.to_thread(lambda: list(_service(request).results(batch_id, client)))
    return StreamingResponse(iter(lines), media_type="application/x-ndjson")


__all__ = ["MAX_SUBJECTS", "router"]
