"""`/v1/commands`: freezes, releases, land restrictions and decisions to the procuracy, carried by the workers."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from hub.api.auth import current_client, require_scopes
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.commands.delivery import connector_for
from hub.commands.requests import (
    CommandRequest,
    FreezeRequest,
    LiftRequest,
    ReleaseRequest,
    RestrictionRequest,
    SupervisionRequest,
)
from hub.commands.service import CommandService
from hub.commands.views import CommandsAccepted, CommandSummary, CommandView
from hub.errors import HubError
from hub.scopes import SCOPES

router = APIRouter(tags=["commands"])

COMMAND_SCOPES = tuple(s for s in SCOPES if s.startswith("command:"))
_IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="Sent again with the same request, answers the first answer and does nothing more. Without "
                "it, the same act (kind, agency, decision, target) asked again is still one command.")]
_ACCEPTED = ("The commands are stored with their outbox entries; `thads-hub worker` processes carry them to "
             "the agencies. Follow each at its `url`.")
_REFUSALS = ("REQUEST_INVALID", "PURPOSE_MISSING", "AMOUNT_INVALID", "CONFLICT", "SCOPE_MISSING", "AUTH_REQUIRED")


def _service(request: Request) -> CommandService:
    return CommandService(request.app.state.services.db)


def any_command_scope(client: ApiClient = Depends(current_client)) -> ApiClient:
    if not set(COMMAND_SCOPES) & set(client.scopes):
        raise HubError(f"client {client.name!r} holds none of the scopes {', '.join(COMMAND_SCOPES)}",
                       code="SCOPE_MISSING", rule="scope_granted", missing=list(COMMAND_SCOPES))
    return client


async def _accept(request: Request, client: ApiClient, body: CommandRequest, key: str | None) -> JSONResponse:
    connectors = request.app.state.services.connectors
    for planned in body.plan():  # every agency must be one this hub can reach, before anything is stored
        connector_for(connectors, planned.agency, planned.kind)
    accepted = await asyncio.to_thread(_service(request).accept, client, body, key)
    return JSONResponse(CommandsAccepted(commands=accepted).model_dump(mode="json"), status_code=202)


def _command_route(path: str, model: type[CommandRequest], scope: str, summary: str, description: str) -> None:
    async def accept(body: Any, request: Request, idempotency_key: _IdempotencyKey = None,
                     client: ApiClient = Depends(require_scopes(scope))) -> Any:
        return await _accept(request, client, body, idempotency_key)

    accept.__annotations__["body"] = model  # FastAPI reads the body's model from the signature
    accept.__name__ = accept.__qualname__ = path.rsplit("/", 1)[-1].replace("-", "_")
    router.add_api_route(path, accept, methods=["POST"], status_code=202, response_model=CommandsAccepted,
                         summary=summary, description=f"{description} {_ACCEPTED}",
                         responses=problem_responses(*_REFUSALS))


_command_route("/v1/commands/account-freezes", FreezeRequest, "command:freeze",
               "Freeze amounts at bank accounts by a decision; its copy goes to the procuracy",
               "One command per account at its bank, and one sending the decision to the procuracy (`linked_to` "
               "on each freeze).")
_command_route("/v1/commands/account-releases", ReleaseRequest, "command:freeze",
               "Release what a freeze decision holds at bank accounts", "One command per account at its bank.")
_command_route("/v1/commands/land-restrictions", RestrictionRequest, "command:land",
               "Register a halt or a seizure on land certificates",
               "One command per certificate at the land registry.")
_command_route("/v1/commands/land-restriction-lifts", LiftRequest, "command:land",
               "Lift what a restriction decision registered on land certificates",
               "One command per certificate at the land registry.")
_command_route("/v1/commands/procuracy-decisions", SupervisionRequest, "command:procuracy",
               "Send a decision to the procuracy for supervision (edXML)",
               "One command; its receipt is the procuracy's MaTiepNhan.")


@router.get("/v1/commands/{command_id}", response_model=CommandView,
            summary="A command: its agency, status, the agency's reference and its whole history",
            responses=problem_responses("NOT_FOUND", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def get_command(command_id: UUID, request: Request, client: ApiClient = Depends(any_command_scope)) -> Any:
    view = await asyncio.to_thread(_service(request).get, command_id)
    return JSONResponse(view.model_dump(mode="json"))


@router.get("/v1/commands", response_model=list[CommandSummary], summary="A case's commands, oldest first",
            responses=problem_responses("REQUEST_INVALID", "SCOPE_MISSING", "AUTH_REQUIRED"))
async def list_commands(request: Request, client: ApiClient = Depends(any_command_scope),
                        case_ref: str = Query(..., min_length=1, max_length=128,
                                              description="The enforcement case.")) -> Any:
    listed = await asyncio.to_thread(_service(request).by_case, case_ref)
    return JSONResponse([c.model_dump(mode="json") for c in listed])
