"""`/v1/payouts`: bulk payouts to creditors by transfer, their outcome per creditor, re-sends of rejections."""

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
from hub.commands.kinds import CommandKind
from hub.commands.requests import bank_agency
from hub.payouts.requests import PayoutRequest, ResendRequest
from hub.payouts.service import PayoutService
from hub.payouts.views import CreditorPage, CreditorStatus, PayoutSummary, PayoutView

router = APIRouter(tags=["payouts"])

SCOPE = "command:payout"
_REFUSALS = ("REQUEST_INVALID", "PURPOSE_MISSING", "AMOUNT_INVALID", "CONFLICT", "SCOPE_MISSING", "AUTH_REQUIRED")


def _service(request: Request) -> PayoutService:
    return PayoutService(request.app.state.services.db)


def _limits(request: Request, banks: list[str]) -> dict[str, int]:
    """Each paying bank's connector must carry payouts; it says how many transfers one message may hold."""
    connectors = request.app.state.services.connectors
    return {b: int(connector_for(connectors, bank_agency(b), CommandKind.PAYOUT_BATCH).payout_batch_limit)
            for b in banks}


def _view(request: Request, payout_id: UUID, status: int = 200) -> JSONResponse:
    view = _service(request).get(payout_id)
    return JSONResponse(view.model_dump(mode="json"), status_code=status)


@router.post("/v1/payouts", status_code=202, response_model=PayoutView,
             summary="Pay creditors pro rata by transfer, under one decision",
             description="Shares are whole đồng by the largest remainder rule (docs/payouts.md); one batch per "
                         "paying bank, at most the bank's limit each, carried by `thads-hub worker` as "
                         "`payout_batch` commands. The same decision asked again answers the same payout and "
                         "pays nobody twice; with other content it is a conflict.",
             responses=problem_responses(*_REFUSALS))
async def create_payout(body: PayoutRequest, request: Request,
                        client: ApiClient = Depends(require_scopes(SCOPE))) -> Any:
    limits = _limits(request, [a.bank_bin for a in body.office_accounts])
    payout_id = await asyncio.to_thread(_service(request).accept, client, body, limits)
    return await asyncio.to_thread(_view, request, payout_id, 202)


@router.post("/v1/payouts/{payout_id}/resends", status_code=202, response_model=PayoutView,
             summary="Re-send the rejected transfers of a finished round, corrected where the officer says",
             description="Only the transfers the round left rejected are sent again, in new batches (new batch "
                         "ids); asking again for the same round answers the same re-send.",
             responses=problem_responses("NOT_FOUND", *_REFUSALS))
async def resend(payout_id: UUID, body: ResendRequest, request: Request,
                 client: ApiClient = Depends(require_scopes(SCOPE))) -> Any:
    view = await asyncio.to_thread(_service(request).get, payout_id)
    limits = _limits(request, [a.bank_bin for a in view.office_accounts])
    await asyncio.to_thread(_service(request).resend, client, payout_id, body, limits)
    return await asyncio.to_thread(_view, request, payout_id, 202)


@router.get("/v1/payouts/{payout_id}", response_model=PayoutView,
            summary="A payout: totals, its batches and their commands, and the rejected transfers",
            responses=problem_responses("NOT_FOUND", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def get_payout(payout_id: UUID, request: Request, client: ApiClient = Depends(require_scopes(SCOPE))) -> Any:
    return await asyncio.to_thread(_view, request, payout_id)


@router.get("/v1/payouts/{payout_id}/creditors", response_model=CreditorPage,
            summary="Each creditor of a payout: share, latest transfer and its outcome",
            responses=problem_responses("NOT_FOUND", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def payout_creditors(payout_id: UUID, request: Request, client: ApiClient = Depends(require_scopes(SCOPE)),
                           status: CreditorStatus | None = None, offset: int = Query(0, ge=0),
                           limit: int = Query(1000, ge=1, le=10_000)) -> Any:
    page = await asyncio.to_thread(_service(request).creditors, payout_id, offset, limit, status)
    return JSONResponse(page.model_dump(mode="json"))


@router.get("/v1/payouts", response_model=list[PayoutSummary], summary="A case's payouts, oldest first",
            responses=problem_responses("REQUEST_INVALID", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def list_payouts(request: Request, client: ApiClient = Depends(require_scopes(SCOPE)),
                       case_ref: str = Query(..., min_length=1, max_length=128)) -> Any:
    listed = await asyncio.to_thread(_service(request).by_case, case_ref)
    return JSONResponse([p.model_dump(mode="json") for p in listed])
