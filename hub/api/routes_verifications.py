"""`/v1/verifications`: one call verifies a person across every configured agency, within a deadline."""

from __future__ import annotations

import asyncio
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, BaseModel, Field, ValidationError

from hub.api.auth import current_client, require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.errors import HubError
from hub.model.verification import VerificationReport, VerificationRequest
from hub.verification.service import VerificationService

router = APIRouter(tags=["verification"])


class VerificationCall(VerificationRequest):
    """A verification request, run synchronously (the report in the answer) or asynchronously (202 with a job
    id; GET it later, or receive it at ``callback_url`` signed with the hub's key as a detached JWS in
    ``X-JWS-Signature``)."""

    mode: Literal["sync", "async"] = "sync"
    callback_url: AnyHttpUrl | None = None


class JobAccepted(BaseModel):
    id: UUID
    status: str
    status_url: str


class JobState(BaseModel):
    id: UUID
    status: str = Field(description="pending, running or done.")
    report: VerificationReport | None = None
    created_at: str


class SubjectReportRequest(BaseModel):
    person_id: str = Field(description="The citizen's 12-digit ID (in the body, never in a URL).")


class SubjectReportEntry(BaseModel):
    at: str
    direction: str
    kind: str
    agency: str
    operation: str
    requested_by: str | None
    case_ref: str | None
    officer: str | None
    purpose: str | None
    outcome: str
    error_code: str | None
    returned_payload_sha256: str | None
    log_entry: str


class SubjectReport(BaseModel):
    subject_masked: str
    entries: list[SubjectReportEntry]


def _service(request: Request) -> VerificationService:
    service: VerificationService = request.app.state.services.verification
    return service


@router.post("/v1/verifications", summary="Verify a person across the agencies (sync, or async with a job id)",
             response_model=VerificationReport, status_code=200,
             responses={202: {"model": JobAccepted, "description": "Accepted (mode=async)."},
                        **problem_responses("PURPOSE_MISSING", "ID_INVALID", "REQUEST_INVALID", "SCOPE_MISSING",
                                            "AUTH_REQUIRED")},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/VerificationCall"}}}}})
async def create_verification(request: Request, client: ApiClient = Depends(current_client)) -> Any:
    service = _service(request)
    try:
        raw = await request.json()
    except ValueError:
        raise HubError("the body is not JSON", code="REQUEST_INVALID", rule="json") from None
    try:
        call = VerificationCall.model_validate(raw)
    except ValidationError as exc:
        cause = next((e["ctx"]["error"] for e in exc.errors() if isinstance((e.get("ctx") or {}).get("error"),
                                                                           HubError)), None)
        if isinstance(cause, HubError) and cause.code == "PURPOSE_MISSING" and isinstance(raw, dict):
            person = raw.get("person_id") if isinstance(raw.get("person_id"), str) else None
            await asyncio.to_thread(service.log_refusal, client.name, person, cause.code, raw.get("case_ref"),
                                    raw.get("officer"), raw.get("purpose"))
        if isinstance(cause, HubError):
            raise cause from None
        first = exc.errors()[0]
        raise HubError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", code="REQUEST_INVALID",
                       rule="schema") from None
    req = VerificationRequest.model_validate(call.model_dump(exclude={"mode", "callback_url"}))
    if call.mode == "async":
        job_id = await service.submit(req, client, str(call.callback_url) if call.callback_url else None)
        body = JobAccepted(id=job_id, status="pending", status_url=f"/v1/verifications/{job_id}")
        return JSONResponse(body.model_dump(mode="json"), status_code=202)
    report = await service.verify(req, client)
    # Serialised once here: letting FastAPI re-validate the report against response_model costs CPU on
    # every verification for a model that was just built and validated.
    return JSONResponse(report.model_dump(mode="json"))


@router.get("/v1/verifications/{job_id}", summary="The state and report of a verification", response_model=JobState,
            responses=problem_responses("NOT_FOUND", "AUTH_REQUIRED"))
async def get_verification(job_id: UUID, request: Request, client: ApiClient = Depends(current_client)) -> Any:
    return await asyncio.to_thread(_service(request).get, job_id, client)


@router.post("/v1/audit/subject-report", summary="Who looked this person up, when, for which case and purpose, "
             "and what was returned", response_model=SubjectReport,
             responses=problem_responses("ID_INVALID", "AUTH_REQUIRED", "SCOPE_MISSING"))
async def subject_report(body: SubjectReportRequest, request: Request,
                         _: ApiClient = Depends(require_scopes("audit:read"))) -> Any:
    from hub.model.person_id import decode_person_id, mask_person_id

    person = decode_person_id(body.person_id.strip()).value
    entries = await asyncio.to_thread(_service(request).subject_report, person)
    return {"subject_masked": mask_person_id(person), "entries": entries}



def extra_schemas() -> dict[str, Any]:
    """VerificationCall for components/schemas: the route parses its body itself, to log refusals."""
    return {"VerificationCall": VerificationCall.model_json_schema(ref_template="#/components/schemas/{model}")}
