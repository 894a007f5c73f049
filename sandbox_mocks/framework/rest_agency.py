"""A mock agency that speaks REST/JSON from its published OpenAPI contract (population, postal).

What every JSON agency shares:
- request checks in a fixed order: the agency's own authentication (OAuth2 bearer, API key...), the
  Content-Type, a bounded body, then (for agencies that sign) the hub's detached JWS over the raw body
  (trust store, signer must be the hub, addressed to this agency, signed for this operation), then the
  body against the operation's JSON Schema (a hand-written strict pydantic model that matches the
  published schema file);
- answers as JSON with the agency's answer signature in a header (a detached JWS, or an HMAC), with the
  answer faults applied: unsigned = no signature header, bad signature = a corrupted signature,
  malformed = the JSON cut in half;
- refusals in the agency's own error JSON, which keeps the hub's registry code in a field so a test (or
  the connector) can tell SIGNATURE_INVALID from CERT_WRONG_AGENCY;
- GET <prefix>/contracts/<file> serves the published contract files (OpenAPI, JSON Schemas) as data.

Subclasses say how they authenticate (``authenticate``), how they sign an answer (``answer_headers``),
and what their error JSON looks like (``error_payload``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.envelope import EnvelopeFields
from adapters.jws_envelope import JwsSigner, JwsVerifier, VerifiedJws
from adapters.refusal import Refusal
from sandbox_mocks.framework.agency import ANSWER_TTL, MockAgency, read_body
from sandbox_mocks.framework.faults import AnswerMutation

log = logging.getLogger(__name__)
JSON_MEDIA_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 1024 * 1024

# HTTP status of each registry code a REST mock may answer with (the hub's registry, copied as data:
# sandbox_mocks never imports the hub; a test checks the two agree).
STATUS_OF: dict[str, int] = {
    "REQUEST_INVALID": 400, "BODY_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415, "DATE_INVALID": 422,
    "PURPOSE_MISSING": 422, "AUTH_REQUIRED": 401, "NOT_FOUND": 404, "CONFLICT": 409,
    "SIGNATURE_INVALID": 401, "CERT_UNTRUSTED": 401, "CERT_EXPIRED": 401, "CERT_WRONG_AGENCY": 403,
    "CERT_REVOKED": 401, "REPLAY": 409, "MESSAGE_EXPIRED": 401, "AGENCY_UNAVAILABLE": 503, "INTERNAL": 500,
    "METHOD_NOT_ALLOWED": 405,
}


@dataclass(frozen=True)
class RestCall:
    """One accepted request: what the handler works from and what the answer is bound to."""

    operation: str
    body: bytes
    jws: VerifiedJws | None = None


@dataclass(frozen=True)
class Answer:
    payload: Any
    status: int = 200


Handler = Callable[[RestCall, Any], Awaitable[Answer]]


def corrupt(value: str) -> str:
    """Change one significant character of a signature (base64url or hex): still well-formed, now wrong."""
    pos = max(0, len(value) - 10)
    return value[:pos] + ("1" if value[pos] == "0" else "0") + value[pos + 1:]


class RestMockAgency(MockAgency):
    #: the header carrying the answer's signature (and, for JWS agencies, the request's)
    signature_header: ClassVar[str] = "X-JWS-Signature"
    #: agencies whose requests carry the hub's detached JWS
    requires_jws: ClassVar[bool] = True
    #: who may call this agency (by the agency id bound to the JWS certificate)
    allowed_callers: ClassVar[frozenset[str]] = frozenset({"hub"})

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.jws_verifier = JwsVerifier(self.trust)
        self.jws_signer = JwsSigner(self.signer.key, self.signer.cert)

    # --- what subclasses provide ---------------------------------------------------------------
    async def authenticate(self, request: Request) -> None:
        """Raise a Refusal (AUTH_REQUIRED) when the caller is not authenticated the agency's way."""

    def answer_headers(self, body: bytes, call: RestCall | None) -> dict[str, str]:
        """The answer's signature headers. Default: a detached JWS bound to the request."""
        return {self.signature_header: self.jws_signer.sign(self.jws_answer_fields(call), body)}

    def error_payload(self, status: int, code: str, message: str, rule: str | None,
                      agency_code: str | None) -> dict[str, Any]:
        return {"code": agency_code or code, "registry_code": code, "message": message, "rule": rule}

    # --- answers -------------------------------------------------------------------------------
    def jws_answer_fields(self, call: RestCall | None) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        req = call.jws.header if call and call.jws else None
        return EnvelopeFields(
            message_id=str(uuid.uuid4()), correlation_id=req.message_id if req else None,
            from_agency=self.agency_id, to_agency=req.from_agency if req else "hub",
            service=req.service if req else self.agency_id,
            operation=call.operation if call else "Error", created=now, expires=now + ANSWER_TTL,
            case_ref=req.case_ref if req else None, officer=req.officer if req else None,
            purpose=req.purpose if req else None,
            request_hash=call.jws.payload_hash if call and call.jws else None)

    def json_answer(self, payload: Any, *, status: int = 200, call: RestCall | None = None,
                    mutate: bool = True) -> Response:
        """The signed JSON answer, with the answer faults (unsigned, bad signature, malformed) applied."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        mutation = self.faults.answer_mutation() if mutate else AnswerMutation.NONE
        headers = {} if mutation is AnswerMutation.UNSIGNED else self.answer_headers(body, call)
        if mutation is AnswerMutation.BAD_SIGNATURE:
            headers[self.signature_header] = corrupt(headers[self.signature_header])
        elif mutation is AnswerMutation.MALFORMED:
            body = body[: len(body) // 2]
        return Response(body, status_code=status, media_type=JSON_MEDIA_TYPE, headers=headers)

    def error_response(self, status: int, code: str, message: str, rule: str | None = None, *,
                       agency_code: str | None = None, call: RestCall | None = None) -> Response:
        """A refusal in the agency's own JSON, signed like any answer but never mutated by the faults."""
        return self.json_answer(self.error_payload(status, code, message, rule, agency_code), status=status,
                                call=call, mutate=False)

    def refusal_response(self, exc: Refusal, call: RestCall | None = None) -> Response:
        return self.error_response(STATUS_OF.get(exc.code, 400), exc.code, exc.detail, exc.rule,
                                   agency_code=exc.extra.get("agency_code"), call=call)

    # --- requests ------------------------------------------------------------------------------
    async def read_call(self, request: Request, operation: str) -> RestCall:
        """Content-Type, bounded body and (for signing agencies) the hub's detached JWS."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Refusal(f"expected application/json, got {media or 'nothing'}", code="UNSUPPORTED_MEDIA_TYPE",
                          rule="content_type")
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except Refusal as exc:  # read_body names the XML code; a JSON body too large is BODY_TOO_LARGE
            raise Refusal(exc.detail, code="BODY_TOO_LARGE", rule=exc.rule) from None
        if not self.requires_jws:
            return RestCall(operation=operation, body=body)
        token = request.headers.get(self.signature_header)
        if not token:
            raise Refusal(f"the request carries no {self.signature_header}", code="SIGNATURE_INVALID",
                          rule="signature_present")
        verified = self.jws_verifier.verify(token.strip(), body)
        if verified.signer not in self.allowed_callers:
            raise Refusal(f"{verified.signer!r} may not call {self.agency_id}", code="CERT_WRONG_AGENCY",
                          rule="caller")
        if verified.header.to_agency != self.agency_id:
            raise Refusal(f"message addressed to {verified.header.to_agency}, not {self.agency_id}",
                          code="REQUEST_INVALID", rule="addressee")
        if verified.header.operation != operation:
            raise Refusal(f"the message was signed for {verified.header.operation}, not {operation}",
                          code="REQUEST_INVALID", rule="operation")
        return RestCall(operation=operation, body=body, jws=verified)

    @staticmethod
    def parse(model: type[BaseModel], body: bytes) -> BaseModel:
        """Validate the raw JSON against the operation's model (strict, no extra members)."""
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False, include_context=False)
            if any(e["type"] == "json_invalid" for e in errors):
                raise Refusal("the body is not JSON", code="REQUEST_INVALID", rule="json") from None
            where = ", ".join(".".join(str(p) for p in e["loc"]) or "(body)" for e in errors)
            raise Refusal(f"the body does not match the schema at: {where}", code="REQUEST_INVALID",
                          rule="schema", errors=[{"loc": list(e["loc"]), "type": e["type"]} for e in errors]
                          ) from None

    def json_operation(self, app: FastAPI, path: str, operation: str, model: type[BaseModel],
                       handler: Handler) -> None:
        """Register POST ``path``: authenticate, read and verify, validate, run ``handler``, sign the answer.

        Refusals before the request is verified are answered unbound; afterwards (not found, no consent)
        the refusal is a business answer bound to the request like any other.
        """

        async def endpoint(request: Request) -> Response:
            call: RestCall | None = None
            try:
                await self.authenticate(request)
                call = await self.read_call(request, operation)
                parsed = self.parse(model, call.body)
                answer = await handler(call, parsed)
            except Refusal as exc:
                self.recorder.received(operation, call.body if call else b"", verdict="refused", detail=exc.code,
                                       message_id=call.jws.header.message_id if call and call.jws else None,
                                       signer=call.jws.signer if call and call.jws else None)
                return self.refusal_response(exc, call)
            except Exception as exc:  # a bug here or in an adapter: the agency's own 500, never a bare traceback
                log.exception("%s %s failed", self.agency_id, operation)
                self.recorder.received(operation, call.body if call else b"", verdict="error",
                                       detail=type(exc).__name__)
                return self.error_response(500, "INTERNAL", f"internal error ({type(exc).__name__})", "internal")
            self.recorder.received(operation, call.body, verdict="ok",
                                   message_id=call.jws.header.message_id if call.jws else None,
                                   signer=call.jws.signer if call.jws else None)
            return self.json_answer(answer.payload, status=answer.status, call=call)

        app.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False, name=operation)

    # --- contract files and routing errors -----------------------------------------------------
    def add_common_routes(self, app: FastAPI) -> None:
        """GET /contracts/<file>, and unknown paths or methods answered in the agency's own error JSON."""

        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
            code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "REQUEST_INVALID")
            return self.error_response(status, code, f"{request.method} {request.url.path}: no such operation",
                                       "route")

        app.add_exception_handler(StarletteHTTPException, http_error)

        @app.get("/contracts/{name}", include_in_schema=False)
        async def contract(name: str) -> Response:
            path = self.contract_dir() / Path(name).name
            if path.suffix != ".json" or not path.is_file():
                return self.error_response(404, "NOT_FOUND", f"no contract file {name}", "contract")
            return Response(path.read_bytes(), media_type="application/json")
