"""A mock agency that speaks SOAP 1.2 from its published WSDL.

GET <prefix>?wsdl serves the contract's WSDL with the service address pointed at where the sandbox
really listens; GET <prefix>/contracts/<file> serves the XSDs it imports. POST <prefix> takes a SOAP
message whose Body holds the hub's signed Envelope: hardened parse, envelope signature checked against
the trust store (the hub must sign), the business request validated against the agency's XSD, the
operation dispatched, and the answer signed with the agency's own key. Every refusal is a SOAP Fault
with the registry code as its Subcode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import VerifiedEnvelope
from adapters.refusal import Refusal
from adapters.xsd import CompiledSchema
from sandbox_mocks.framework.agency import MockAgency, finish_bytes, read_body

log = logging.getLogger("thads.sandbox")
Handler = Callable[[etree._Element, VerifiedEnvelope], Awaitable[etree._Element]]
_CLIENT_CODES_SERVER_SIDE = {"AGENCY_UNAVAILABLE", "INTERNAL"}


class SoapMockAgency(MockAgency):
    # Who may call this agency: the hub, signing as itself. Another agency's valid signature is refused.
    accepted_callers: frozenset[str] = frozenset({"hub"})
    wsdl_file: str = ""
    xsd_file: str = ""
    target_namespace: str = ""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.schema = CompiledSchema.load(self.contract_dir() / self.xsd_file)
        self.operations: dict[str, Handler] = {}

    def operation(self, local_name: str) -> Callable[[Handler], Handler]:
        """Register a handler for the request element ``local_name`` of the agency's namespace."""

        def register(fn: Handler) -> Handler:
            self.operations[local_name] = fn
            return fn

        return register

    def error_response(self, status: int, code: str, message: str, rule: str | None = None) -> Response:
        sender = code not in _CLIENT_CODES_SERVER_SIDE and status < 500
        return Response(soap_envelope.fault(code, message, sender=sender, rule=rule), status_code=status,
                        media_type=soap_envelope.CONTENT_TYPE)

    def wsdl_text(self, base_url: str) -> bytes:
        text = (self.contract_dir() / self.wsdl_file).read_text(encoding="utf-8")
        return text.replace("SANDBOX_BASE_URL", base_url).encode()

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/", include_in_schema=False)
        async def wsdl(request: Request) -> Response:
            base = str(request.base_url).rstrip("/")
            if "wsdl" not in request.query_params:
                return Response("POST SOAP 1.2 here; the contract is at ?wsdl\n", media_type="text/plain")
            return Response(self.wsdl_text(base), media_type="text/xml")

        @app.get("/contracts/{name}", include_in_schema=False)
        async def contract(name: str) -> Response:
            path = self.contract_dir() / Path(name).name
            if path.suffix not in (".xsd", ".wsdl") or not path.exists():
                return self.error_response(404, "NOT_FOUND", f"no contract file {name}")
            return Response(path.read_bytes(), media_type="text/xml")

        @app.post("/", include_in_schema=False)
        async def call(request: Request) -> Response:
            return await self.handle(request)

    async def handle(self, request: Request) -> Response:
        body = b""
        try:
            body = await read_body(request)
            payload = soap_envelope.unwrap(body)
            verified = self.verifier.verify_tree(payload, expected_to=self.agency_id)
            if verified.signer not in self.accepted_callers:
                raise Refusal(f"{verified.signer} may not call {self.agency_id}", code="CERT_WRONG_AGENCY",
                              rule="caller")
            business = verified.body
            local = etree.QName(business).localname
            if etree.QName(business).namespace != self.target_namespace or local not in self.operations:
                raise Refusal(f"unknown operation {local}", code="SCHEMA_INVALID", rule="operation")
            self.schema.validate(business)
            answer = await self.operations[local](business, verified)
        except Refusal as exc:
            self.recorder.received("refused", body, verdict="refused", detail=exc.code)
            # SOAP 1.2 HTTP binding: Sender faults are 400, Receiver faults 500.
            status = 500 if exc.code in _CLIENT_CODES_SERVER_SIDE else 400
            return self.error_response(status, exc.code, exc.detail, exc.rule)
        except Exception as exc:  # a bug in the mock still answers in SOAP, and the sandbox keeps serving
            log.exception("sandbox %s failed on a request", self.agency_id)
            self.recorder.received("failed", body, verdict="failed", detail=type(exc).__name__)
            return self.error_response(500, "INTERNAL", f"sandbox error: {type(exc).__name__}")
        self.recorder.received(local, body, verdict="ok", message_id=verified.header.message_id,
                               signer=verified.signer)
        signed = self.signed_answer(self.answer_header(verified, etree.QName(answer).localname), answer)
        return Response(finish_bytes(soap_envelope.wrap(signed), signed), media_type=soap_envelope.CONTENT_TYPE)
