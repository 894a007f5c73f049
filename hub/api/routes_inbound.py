"""What agencies push to the hub: `POST /soap/court` (SubmitJudgment, WSDL at `GET /soap/court?wsdl`) and the
same signed envelope over REST at `POST /v1/inbound/judgments`; the procuracy's protests and recommendations
(`POST /v1/inbound/procuracy`); banks' events (`POST /v1/inbound/banks/{bin}/events`). See docs/inbound.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from adapters import soap_envelope
from adapters.refusal import Refusal
from hub.api.problems import problem_responses
from hub.connector import JudgmentIntake
from hub.errors import HubError, NotFound
from hub.inbound.bank import route_for as bank_route_for
from hub.inbound.desk import Desk, intake_capability
from hub.inbound.judgments import AGENCY, REST_ROUTE, SOAP_ROUTE
from hub.inbound.procuracy import ROUTE as PROCURACY_ROUTE
from hub.inbound.reception import Reply, Route, precheck, read_bounded
from hub.inbound.service import InboundService, build_inbound

router = APIRouter(tags=["inbound"])

_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.xsd$")
_SCHEMA_LOCATION = re.compile(r'schemaLocation="(?:\.\./)+court/contracts/')


def inbound(request: Request) -> InboundService:
    service: InboundService | None = getattr(request.app.state, "inbound", None)
    if service is None:
        service = request.app.state.inbound = build_inbound(request.app.state.services)
    return service


def _response(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers)


def _soap_version(request: Request) -> str:
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return "1.1" if kind == "text/xml" else "1.2"


async def _desk_call(request: Request, pick: Callable[[InboundService], Desk], route: Route,
                     version: str | None = None) -> Response:
    try:
        service = inbound(request)
    except HubError as exc:  # no hub key yet: nothing can be signed, so nothing is taken in
        data = await read_bounded(request)
        if route.channel == "rest":
            precheck(data)  # what any hub refuses (junk, a DOCTYPE, no envelope) is still refused with its code
            raise
        return Response(soap_envelope.fault_for(version or "1.2", exc.code, exc.detail, sender=False, rule=exc.rule),
                        status_code=500, media_type=soap_envelope.content_type_for(version or "1.2"))
    desk = pick(service)
    try:
        data = await read_bounded(request)
    except Refusal as exc:
        return _response(await desk.refuse(exc, route, version))
    context = {"base_url": str(request.base_url).rstrip("/")}
    return _response(await desk.submit(data, route, version, context))


_PUSHED_XML = {"requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}}
_PUSH_REFUSALS = problem_responses(
    "XML_MALFORMED", "XML_FORBIDDEN_CONSTRUCT", "XML_TOO_LARGE", "SCHEMA_INVALID", "SIGNATURE_INVALID",
    "CERT_WRONG_AGENCY", "REPLAY", "REQUEST_INVALID", "DEPENDENCY_UNAVAILABLE")
_ACCEPTED: dict[int | str, dict[str, Any]] = {200: {"description": "The hub-signed acknowledgment envelope.",
                   "content": {"application/xml": {"schema": {"type": "string"}}}}}


@router.post("/soap/court", include_in_schema=False)
async def submit_judgment_soap(request: Request) -> Response:
    return await _desk_call(request, lambda s: s.judgments, SOAP_ROUTE, _soap_version(request))


@router.post("/v1/inbound/judgments", openapi_extra=_PUSHED_XML, responses={**_ACCEPTED, **_PUSH_REFUSALS},
             summary="A court pushes a judgment (signed envelope, application/xml)",
             description="The same court-signed THADS envelope as SubmitJudgment carries, without SOAP. The answer "
                         "is the hub-signed envelope holding the court's receipt (ba:BienNhanBanAn); a refusal is "
                         "problem+json signed by the hub as a detached JWS in X-JWS-Signature.")
async def submit_judgment_rest(request: Request) -> Response:
    return await _desk_call(request, lambda s: s.judgments, REST_ROUTE)


@router.post("/v1/inbound/procuracy", openapi_extra=_PUSHED_XML, responses={**_ACCEPTED, **_PUSH_REFUSALS},
             summary="The procuracy pushes a protest or recommendation (edXML)",
             description="A procuracy-signed THADS envelope (Operation GuiKhangNghi or GuiKienNghi) holding the edXML "
                         "document. The answer is a hub-signed envelope holding ack:Acknowledgment; the same document "
                         "again (same edXML DocumentId) is answered as a duplicate and stored once.")
async def procuracy_action(request: Request) -> Response:
    return await _desk_call(request, lambda s: s.procuracy, PROCURACY_ROUTE)


@router.post("/v1/inbound/banks/{bank_bin}/events", openapi_extra=_PUSHED_XML,
             responses={**_ACCEPTED, **_PUSH_REFUSALS},
             summary="A bank pushes a freeze confirmation or a credit advice",
             description="A bank-signed envelope (Operation XacNhanPhongToa or BaoCo), signed by bank-<BIN> of the "
                         "path. A credit advice whose note names a case the hub took in issues that case's receipt.")
async def bank_event(request: Request,
                     bank_bin: str = PathParam(pattern=r"^[0-9]{6}$", description="The bank's BIN.")) -> Response:
    return await _desk_call(request, lambda s: s.banks, bank_route_for(bank_bin))


def _contract_dir(request: Request) -> tuple[Path, Any]:
    services = request.app.state.services
    court = intake_capability(services.connectors, AGENCY, JudgmentIntake)
    wsdl: Path = court.intake_contract()
    return wsdl, court


@router.get("/soap/court", include_in_schema=False)
async def court_wsdl(request: Request) -> Response:
    """The SubmitJudgment contract, its address and schema locations pointing at this hub."""
    if "wsdl" not in {k.lower() for k in request.query_params}:
        raise NotFound("GET /soap/court?wsdl for the contract; judgments are POSTed")
    wsdl, _ = _contract_dir(request)
    base = str(request.base_url).rstrip("/")
    text = wsdl.read_text(encoding="utf-8").replace("SANDBOX_HUB_URL", base)
    text = _SCHEMA_LOCATION.sub(f'schemaLocation="{base}/soap/court/contracts/', text)
    return Response(text.encode(), media_type="text/xml; charset=utf-8")


@router.get("/soap/court/contracts/{name}", include_in_schema=False)
async def court_schema(name: str, request: Request) -> Response:
    wsdl, _ = _contract_dir(request)
    path = wsdl.parent / name
    if not _SCHEMA_NAME.fullmatch(name) or not path.is_file():
        raise NotFound(f"no schema {name}")
    return Response(path.read_bytes(), media_type="text/xml; charset=utf-8")

