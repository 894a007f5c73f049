"""Electronic receipts: `GET /v1/receipts/{id}` (the signed receipt, for the office), and, public for anyone
holding one, `GET /v1/receipts/{id}/verify` (is it genuine?) and `GET /v1/receipts/{id}/qr.svg` (the QR code
printed on it, encoding the verify URL)."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub.api.auth import current_client
from hub.api.problems import problem_responses
from hub.api.routes_inbound import inbound
from hub.clients import ApiClient
from hub.receipts.issue import verify_url
from hub.receipts.verify import check, qr_svg, stored
from hub.store.database import Database

router = APIRouter(tags=["receipts"])


def _db(request: Request) -> Database:
    db: Database = request.app.state.services.db
    return db


@router.get("/v1/receipts/{receipt_id}", summary="A receipt as issued, with its signed document",
            responses={**problem_responses("NOT_FOUND", "AUTH_REQUIRED")})
async def get_receipt(receipt_id: UUID, request: Request,
                      client: ApiClient = Depends(current_client)) -> dict[str, Any]:
    row = await asyncio.to_thread(stored, _db(request), receipt_id)
    return {**row.receipt, "signed_xml": row.signed_xml, "qr_svg_url": f"/v1/receipts/{receipt_id}/qr.svg"}


@router.get("/v1/receipts/{receipt_id}/verify", summary="Is this receipt genuine? (public)",
            description="What the receipt's QR code opens. Answers the receipt's number, office, case, amount and "
                        "the payer's initials, and whether the hub's signature over its record still holds.",
            responses={**problem_responses("NOT_FOUND", "DEPENDENCY_UNAVAILABLE")})
async def verify_receipt(receipt_id: UUID, request: Request) -> dict[str, Any]:
    await asyncio.to_thread(stored, _db(request), receipt_id)  # an unknown id is a 404 whatever else is missing
    return await asyncio.to_thread(check, _db(request), inbound(request).verifier, receipt_id)


@router.get("/v1/receipts/{receipt_id}/qr.svg", summary="The receipt's QR code (public)",
            responses={**problem_responses("NOT_FOUND")})
async def receipt_qr(receipt_id: UUID, request: Request) -> Response:
    row = await asyncio.to_thread(stored, _db(request), receipt_id)
    url = row.receipt.get("verify_url") or verify_url(str(request.base_url), receipt_id)
    return Response(qr_svg(url), media_type="image/svg+xml")
