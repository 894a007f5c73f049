"""What case systems read of intake: `GET /v1/judgments?after=<cursor>` (each new intake record once, in
order) and webhook subscriptions (`/v1/subscriptions`) delivered through the outbox."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from hub.api.auth import require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.inbound import feed
from hub.inbound.webhooks import add_subscription, list_subscriptions, revoke_subscription
from hub.store.database import Database

router = APIRouter(tags=["intake feed"])


def _db(request: Request) -> Database:
    db: Database = request.app.state.services.db
    return db


class SubscriptionRequest(BaseModel):
    url: str = Field(min_length=8, max_length=1000, description="Where each new intake record is POSTed.")


@router.get("/v1/judgments", summary="New intake records after a cursor, each once, in order",
            description="Start with no `after` (or 0); pass the `next` of each answer as `after` of the next call. "
                        "An empty `items` means nothing new yet: ask again later with the same cursor.",
            responses={**problem_responses("AUTH_REQUIRED", "SCOPE_MISSING", "REQUEST_INVALID")})
async def judgments_feed(request: Request, client: ApiClient = Depends(require_scopes("cases:read")),
                         after: int = Query(0, ge=0, le=2**62, description="The `next` of the previous page."),
                         limit: int = Query(100, ge=1, le=feed.MAX_PAGE)) -> dict[str, Any]:
    records = await asyncio.to_thread(feed.page, _db(request), after, limit)
    items = [r.model_dump(mode="json") for r in records]
    return {"items": items, "next": records[-1].sequence if records else after}


@router.post("/v1/subscriptions", status_code=201, summary="Subscribe a URL to new intake records",
             description="Each new intake record is POSTed to the URL as JSON, signed by the hub (detached JWS in "
                         "X-JWS-Signature), retried until a 2xx; X-Thads-Delivery-Id is the same on every attempt.",
             responses={**problem_responses("AUTH_REQUIRED", "SCOPE_MISSING", "REQUEST_INVALID")})
async def subscribe(body: SubscriptionRequest, request: Request,
                    client: ApiClient = Depends(require_scopes("cases:read"))) -> dict[str, Any]:
    return await asyncio.to_thread(add_subscription, _db(request), client.name, body.url)


@router.get("/v1/subscriptions", summary="This client's active subscriptions",
            responses={**problem_responses("AUTH_REQUIRED", "SCOPE_MISSING")})
async def subscriptions(request: Request,
                        client: ApiClient = Depends(require_scopes("cases:read"))) -> list[dict[str, Any]]:
    return await asyncio.to_thread(list_subscriptions, _db(request), client.name)


@router.delete("/v1/subscriptions/{subscription_id}", status_code=204, summary="End a subscription",
               responses={**problem_responses("AUTH_REQUIRED", "SCOPE_MISSING", "NOT_FOUND")})
async def unsubscribe(subscription_id: UUID, request: Request,
                      client: ApiClient = Depends(require_scopes("cases:read"))) -> Response:
    await asyncio.to_thread(revoke_subscription, _db(request), client.name, subscription_id)
    return Response(status_code=204)
