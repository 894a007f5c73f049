"""`/v1/notifications`: notify a party of a document by the channels the policy names, within its legal deadline."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from hub.api.auth import require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.commands.delivery import connector_for
from hub.deadlines import load_calendar
from hub.notifications.policy import load_policy
from hub.notifications.requests import NotificationRequest
from hub.notifications.service import AGENCY_OF, KIND_OF, NotificationService
from hub.notifications.views import NotificationList, NotificationView

router = APIRouter(tags=["notifications"])

SCOPE = "command:notify"
_REFUSALS = ("REQUEST_INVALID", "PURPOSE_MISSING", "ID_INVALID", "PROVINCE_UNKNOWN", "DATE_INVALID", "CONFLICT",
             "SCOPE_MISSING", "AUTH_REQUIRED")


def _service(request: Request) -> NotificationService:
    """Built once per API process: the policy and the holiday calendar are read (and checked) at first use."""
    service: NotificationService | None = getattr(request.app.state, "notifications", None)
    if service is None:
        services = request.app.state.services
        service = request.app.state.notifications = NotificationService(
            services.db, load_policy(services.settings.data_dir), load_calendar(services.settings.holidays_file))
    return service


def _view(request: Request, notification_id: UUID, status: int = 200) -> JSONResponse:
    return JSONResponse(_service(request).get(notification_id).model_dump(mode="json"), status_code=status)


@router.post("/v1/notifications", status_code=202, response_model=NotificationView,
             summary="Notify a party of a document: VNeID with consent, else a registered letter",
             description="The channels follow the policy for the document's kind (docs/notifications.md); the legal "
                         "deadline is computed on the working-day calendar from the day the document was issued. "
                         "Each channel is a command carried by `thads-hub worker`; a VNeID refusal (no consent) "
                         "sends the letter. The same case, document and recipient asked again answer the same "
                         "notification.",
             responses=problem_responses(*_REFUSALS))
async def create_notification(body: NotificationRequest, request: Request,
                              client: ApiClient = Depends(require_scopes(SCOPE))) -> Any:
    service = _service(request)
    connectors = request.app.state.services.connectors
    for channel in service.channels_for(body):  # every agency it may need, before anything is stored
        connector_for(connectors, AGENCY_OF[channel], KIND_OF[channel])
    notification_id = await asyncio.to_thread(service.accept, client, body)
    return await asyncio.to_thread(_view, request, notification_id, 202)


@router.get("/v1/notifications/{notification_id}", response_model=NotificationView,
            summary="A notification: its status, deadline, delivery events and the channels' commands",
            responses=problem_responses("NOT_FOUND", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def get_notification(notification_id: UUID, request: Request,
                           client: ApiClient = Depends(require_scopes(SCOPE))) -> Any:
    return await asyncio.to_thread(_view, request, notification_id)


@router.get("/v1/notifications", response_model=NotificationList,
            summary="A case's notifications, oldest first, with counts (returned letters, missed deadlines...)",
            responses=problem_responses("REQUEST_INVALID", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def list_notifications(request: Request, client: ApiClient = Depends(require_scopes(SCOPE)),
                             case_ref: str = Query(..., min_length=1, max_length=128)) -> Any:
    listed = await asyncio.to_thread(_service(request).by_case, case_ref)
    return JSONResponse(listed.model_dump(mode="json"))
