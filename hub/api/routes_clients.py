"""Who is calling: the authenticated client's own view, and the client list for administrators."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from hub.api.auth import current_client, require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient, list_clients

router = APIRouter(prefix="/v1", tags=["clients"])


class ClientView(BaseModel):
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None


def _view(c: ApiClient) -> ClientView:
    return ClientView(name=c.name, scopes=list(c.scopes), created_at=c.created_at, revoked_at=c.revoked_at)


@router.get("/whoami", summary="The client this API key belongs to, and its scopes",
            responses=problem_responses("AUTH_REQUIRED", "KEY_REVOKED"))
async def whoami(client: ApiClient = Depends(current_client)) -> ClientView:
    return _view(client)


@router.get("/clients", summary="All API clients (needs scope clients:admin); keys are never shown",
            responses=problem_responses("AUTH_REQUIRED", "KEY_REVOKED", "SCOPE_MISSING"))
async def clients(request: Request,
                  _: ApiClient = Depends(require_scopes("clients:admin"))) -> list[ClientView]:
    found = await asyncio.to_thread(list_clients, request.app.state.services.db)
    return [_view(c) for c in found]
