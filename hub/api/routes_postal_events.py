"""`POST /v1/inbound/postal/events`: VNPost pushes a registered letter's delivery events (docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hub.api.problems import problem_responses
from hub.audit.recorder import ExchangeRecorder
from hub.audit.wiring import message_log
from hub.errors import HubError
from hub.notifications.postal_events import MAX_BODY, PostalEventDesk

router = APIRouter(tags=["inbound"])


class EventTaken(BaseModel):
    event_id: str = Field(description="VNPost's maSuKien.")
    effect: str = Field(description="applied, stale (kept, changes nothing: late or out of order), duplicate (taken "
                        "before), unmatched (names no letter of this hub; kept).")


class PostalEventsTaken(BaseModel):
    events: list[EventTaken]


def _desk(request: Request) -> PostalEventDesk:
    desk: PostalEventDesk | None = getattr(request.app.state, "postal_events", None)
    if desk is None:
        services = request.app.state.services
        desk = request.app.state.postal_events = PostalEventDesk(
            services.db, ExchangeRecorder(message_log(services.settings, services.db)), services.connectors)
    return desk


def _too_large() -> HubError:
    return HubError(f"an event is at most {MAX_BODY} bytes", code="BODY_TOO_LARGE", rule="max_bytes")


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it passes MAX_BODY (never read whole first)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/inbound/postal/events", summary="VNPost pushes a registered letter's delivery event",
             description="JSON (su-kien.schema.json) with VNPost's HMAC headers (X-VNPost-Timestamp, "
                         "X-VNPost-Signature over timestamp + '.' + body, with the agencies file's secret, within 5 "
                         "minutes). Each event is taken once by its maSuKien; out-of-order events are kept without "
                         "undoing a later one. The answer names each event's effect: applied, stale, duplicate or "
                         "unmatched.",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"type": "object", "description": "su-kien.schema.json of VNPost's contract."}}}}},
             response_model=PostalEventsTaken,
             responses=problem_responses("SIGNATURE_INVALID", "REQUEST_INVALID", "BODY_TOO_LARGE"))
async def postal_events(request: Request) -> Any:
    body = await _body(request)
    answer = await _desk(request).receive(body, request.headers)
    return JSONResponse(answer)
