"""The base of every mock agency: its own key, the trust store it checks the hub against, the
recorder, fault injection and the admin endpoints. SOAP and REST mocks specialise it.

A mock is a FastAPI sub-application mounted by the sandbox under its Conventions prefix (/land,
/population, /banks/<BIN>...). It never imports the hub: what it knows of the wire format comes from
its published contract files under mappings/<agency>/contracts/, read as data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.envelope import (
    DS,
    EnvelopeFields,
    EnvelopeSigner,
    EnvelopeVerifier,
    VerifiedEnvelope,
    build_envelope,
)
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from sandbox_mocks.framework.faults import AnswerMutation, FaultInjector, Verdict
from sandbox_mocks.framework.recorder import ARRIVED, Recorder

CONTRACTS_ROOT = Path(__file__).resolve().parents[2] / "mappings"
ANSWER_TTL = dt.timedelta(minutes=5)


class MockAgency(ABC):
    agency_id: str = ""
    prefix: str = ""

    def __init__(self, *, key_dir: Path, faults: FaultInjector | None = None, seed: int = 0) -> None:
        self.key_dir = key_dir
        self.signer = EnvelopeSigner.from_key_dir(key_dir, self.agency_id)
        self.trust = TrustStore.load(key_dir)
        self.verifier = EnvelopeVerifier(self.trust)
        self.faults = faults or FaultInjector(seed=seed)
        self.recorder = Recorder()

    # --- what subclasses provide ---------------------------------------------------------------
    @abstractmethod
    def add_routes(self, app: FastAPI) -> None:
        """Mount the agency's operations on its sub-application."""

    def error_response(self, status: int, code: str, message: str, rule: str | None = None) -> Response:
        """How this agency's protocol says no (SOAP Fault, JSON error...)."""
        return JSONResponse({"code": code, "message": message, "rule": rule}, status_code=status)

    def contract_dir(self) -> Path:
        return CONTRACTS_ROOT / self.agency_id.split("-")[0] / "contracts"

    # --- shared machinery ------------------------------------------------------------------------
    def build_app(self) -> FastAPI:
        # No generated OpenAPI: the agency's published contract is the only description it serves.
        app = FastAPI(title=f"sandbox {self.agency_id}", docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(self._admin_router())
        self.add_routes(app)
        app.add_middleware(FaultMiddleware, agency=self)
        return app

    def _admin_router(self) -> APIRouter:
        router = APIRouter(prefix="/_admin", tags=["sandbox admin"])

        @router.get("/recorder")
        async def recorder() -> dict[str, Any]:
            return self.recorder.snapshot()

        @router.delete("/recorder", status_code=204)
        async def clear_recorder() -> None:
            self.recorder.clear()

        @router.get("/faults")
        async def get_faults() -> dict[str, Any]:
            return self.faults.config.model_dump()

        @router.put("/faults", response_model=None)
        async def put_faults(changes: dict[str, Any]) -> dict[str, Any] | Response:
            try:
                return self.faults.update(changes).model_dump()
            except ValidationError as exc:
                first = exc.errors()[0]
                return self.error_response(422, "REQUEST_INVALID",
                                           f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", "fault_setting")

        @router.delete("/faults")
        async def reset_faults() -> dict[str, Any]:
            self.faults.reset()
            return self.faults.config.model_dump()

        return router

    def answer_header(self, request: VerifiedEnvelope | None, operation: str, to_agency: str = "hub") -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        req = request.header if request else None
        return EnvelopeFields(
            message_id=str(uuid.uuid4()), correlation_id=req.message_id if req else None,
            from_agency=self.agency_id, to_agency=req.from_agency if req else to_agency,
            service=req.service if req else self.agency_id, operation=operation, created=now,
            expires=now + ANSWER_TTL, case_ref=req.case_ref if req else None,
            officer=req.officer if req else None, purpose=req.purpose if req else None,
            request_hash=request.envelope_hash if request else None)

    def signed_answer(self, header: EnvelopeFields, body: etree._Element) -> etree._Element:
        """The signed answer envelope, with the answer faults (unsigned, bad signature) applied."""
        env = build_envelope(header, body)
        mutation = self.faults.answer_mutation()
        if mutation is AnswerMutation.UNSIGNED:
            return env
        signed = self.signer.sign(env)
        if mutation is AnswerMutation.BAD_SIGNATURE:
            value = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignatureValue")
            if value is not None and value.text:
                value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]
        elif mutation is AnswerMutation.MALFORMED:
            signed.set("__malformed__", "1")  # marker: the serialiser truncates the bytes
        return signed


def finish_bytes(data: bytes, envelope: etree._Element) -> bytes:
    """Truncate the serialised answer when the malformed-answer fault marked it."""
    if envelope.get("__malformed__") is not None:
        return data[: len(data) // 2]
    return data


class FaultMiddleware:
    """Applies outage, latency, errors and timeouts to operation calls (POST), never to admin or
    contract downloads, and answers failures in the agency's own protocol."""

    def __init__(self, app: ASGIApp, agency: MockAgency) -> None:
        self.app = app
        self.agency = agency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or "/_admin" in scope["path"]:
            await self.app(scope, receive, send)
            return
        ARRIVED.set(dt.datetime.now(dt.UTC))
        arrived = time.monotonic()
        receive = await _received_whole(receive)
        verdict, delay = self.agency.faults.decide()
        if verdict is Verdict.PASS:
            # One turn of the loop first: requests that arrived with this one take their arrival stamps (what
            # a quota counts) before this one's work holds the loop for a few milliseconds.
            await asyncio.sleep(0)
            await _answer_at(arrived + delay, self.app, scope, receive, send)
            return
        await _sleep_until(arrived + delay)
        status, code, message = {
            Verdict.OUTAGE: (503, "AGENCY_UNAVAILABLE", "service unavailable (injected outage)"),
            Verdict.ERROR: (500, "AGENCY_UNAVAILABLE", "internal error (injected)"),
            Verdict.TIMEOUT: (504, "AGENCY_UNAVAILABLE", "gateway timeout (injected)"),
        }[verdict]
        self.agency.recorder.received(scope["path"], b"", verdict=verdict.value)
        response = self.agency.error_response(status, code, message, rule=f"injected_{verdict.value}")
        await response(scope, receive, send)


async def _sleep_until(deadline: float) -> None:
    wait = deadline - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


async def _answer_at(deadline: float, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the app now and hold its answer until ``deadline``: the injected latency is the agency's whole
    response time, its own work included (see faults.py)."""
    held: list[Message] = []

    async def hold(message: Message) -> None:
        held.append(message)

    await app(scope, receive, hold)
    await _sleep_until(deadline)
    for message in held:
        await send(message)


BODY_LIMIT = 5 * 1024 * 1024


async def _received_whole(receive: Receive, limit: int = BODY_LIMIT) -> Receive:
    """Read the request now and replay it to the app later. The injected latency is the agency taking its
    time over a request it has received: a caller that gives up meanwhile has still delivered it, and the
    agency still reads and records it (instead of finding the connection gone when it starts reading).
    Past ``limit`` bytes the rest is left to the app, which refuses an oversized body as it streams in."""
    held: list[Message] = []
    size = 0
    while size <= limit:
        message = await receive()
        held.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return held.pop(0) if held else await receive()

    return replay


async def read_body(request: Request, limit: int = BODY_LIMIT) -> bytes:
    """The body, refusing more than ``limit`` bytes without reading it all into memory first."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(f"body larger than {limit} bytes", code="XML_TOO_LARGE", rule="max_bytes")
        chunks.append(chunk)
    return b"".join(chunks)

