"""VNPost registered mail as the hub calls it: REST/JSON with an API key, HMAC-signed answers.

- ``create_shipment`` posts a TaoBuuGui; VNPost makes it idempotent by the sender's reference
  (``maThamChieu``: the same reference and content give the same tracking number), so the operation is
  retried like a look-up. The tracking number is returned only after its S10 check digit is verified.
- ``shipment_status`` reads a shipment's journey and maps VNPost's state codes to ``DeliveryStatus``.
- Every answer that is not a 5xx must carry VNPost's HMAC headers (``X-VNPost-Timestamp``,
  ``X-VNPost-Signature`` over ``timestamp + "." + body``, within 5 minutes of now), checked with the
  ``auth.hmac_secret`` of the agencies file before the body is read.

Delivery events pushed by VNPost come to the hub's inbound endpoint (``POST /v1/inbound/postal/events``),
which hands each webhook call to ``events_from_webhook``: the HMAC is checked here, with the same secret.
Logging: one message-log exchange per HTTP request (a retry is its own pair of entries).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.rest_client import pooled_client
from hub.connector import Connector, ConnectorContext, Health, OperationSpec, PushedDeliveryEvent
from hub.errors import (
    AgencyInvalidResponse,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    HubError,
)
from hub.model import Address, DeliveryEvent
from hub.model.decisions import AgencyReceipt
from hub.resilience.context import CallContext
from mappings.postal import (
    API_KEY_HEADER,
    HMAC_TOLERANCE_S,
    OP_CREATE,
    OP_STATUS,
    PATH_CREATE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    create_request,
    error_from_answer,
    event_from_webhook,
    parse_created,
    parse_status,
    read_webhook,
    status_path,
    verify_postal_hmac,
)


class PostalConnector(Connector):
    kind = "postal"
    operations = (
        OperationSpec(OP_CREATE, True, "Create a registered-mail shipment (UPU S10 tracking number); "
                                       "idempotent at VNPost by the sender's reference."),
        OperationSpec(OP_STATUS, True, "Read a shipment's journey (delivery events)."),
    )

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._http: httpx.AsyncClient | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        auth = self.ctx.config.auth
        if not auth.api_key or not auth.hmac_secret:
            raise HubError(f"{self.agency_id}: the agencies file must give auth.api_key and auth.hmac_secret",
                           code="DEPENDENCY_UNAVAILABLE", rule="agency_auth")
        if self._http is None:
            cfg = self.ctx.config
            self._http = pooled_client(cfg.base_url.rstrip("/"), timeout_s=cfg.timeout_s,
                                       connect_timeout_s=cfg.connect_timeout_s, max_connections=cfg.concurrency)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise HubError(f"{self.agency_id}: connector used before start()", code="INTERNAL", rule="not_started")
        return self._http

    async def health(self) -> Health:
        """Fetch the published contract (nothing is created, nothing is logged)."""
        url = self.ctx.config.openapi or self.ctx.config.base_url.rstrip("/") + "/contracts/openapi.json"
        breaker = str(await self.ctx.guard.breaker.state())
        started = time.monotonic()
        try:
            response = await self.http.get(url, timeout=self.ctx.config.timeout_s)
            ok = response.status_code == 200 and "openapi" in response.json()
            detail = "contract reachable" if ok else f"contract answered HTTP {response.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        return Health(self.agency_id, ok, detail, int((time.monotonic() - started) * 1000), breaker)

    # --- operations --------------------------------------------------------------------------------
    async def create_shipment(self, reference: str, recipient_name: str, address: Address, document_ref: str,
                              sender_office: str, call: CallContext, *, recipient_phone: str | None = None,
                              summary: str | None = None, callback_url: str | None = None) -> str:
        """Create (or find again, by ``reference``) a registered letter; returns its S10 tracking number.

        The same reference with different content is refused by VNPost: AgencyRejected(rule="reference_reused").
        """
        body = json.dumps(create_request(reference, recipient_name, address, document_ref, sender_office,
                                         recipient_phone=recipient_phone, summary=summary,
                                         callback_url=callback_url),
                          ensure_ascii=False, separators=(",", ":")).encode()
        raw = await self._call(OP_CREATE, "POST", PATH_CREATE, body, call)
        return parse_created(raw, reference)

    async def shipment_status(self, tracking: str, call: CallContext) -> list[DeliveryEvent]:
        """The shipment's journey so far, oldest first; AgencyNotFound for a number VNPost does not know."""
        raw = await self._call(OP_STATUS, "GET", status_path(tracking), None, call)
        return parse_status(raw, tracking)

    async def send_registered_letter(self, reference: str, recipient_name: str, address: Address,
                                     document_ref: str, sender_office: str, call: CallContext, *,
                                     recipient_phone: str | None = None, summary: str | None = None,
                                     callback_url: str | None = None) -> AgencyReceipt:
        """RegisteredMail: ``create_shipment`` as the operator's receipt, its reference the tracking number."""
        tracking = await self.create_shipment(reference, recipient_name, address, document_ref, sender_office, call,
                                              recipient_phone=recipient_phone, summary=summary,
                                              callback_url=callback_url)
        return AgencyReceipt(reference=tracking, details={"reference": reference})

    # --- pushed events -------------------------------------------------------------------------------
    def events_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[PushedDeliveryEvent]:
        """PostalEventIntake: one webhook call, its HMAC checked with ``auth.hmac_secret`` over the raw body
        before anything is read (SIGNATURE_INVALID otherwise), then read against su-kien.schema.json."""
        lower = {k.lower(): v for k, v in headers.items()}
        verify_postal_hmac(self.ctx.config.auth.hmac_secret or "", lower.get(TIMESTAMP_HEADER.lower()), body,
                           lower.get(SIGNATURE_HEADER.lower()), now=time.time(), tolerance_s=HMAC_TOLERANCE_S)
        pushed = read_webhook(body)
        return [PushedDeliveryEvent(event_id=pushed.maSuKien, reference=pushed.maThamChieu, sequence=pushed.thuTu,
                                    event=event_from_webhook(pushed))]

    # --- the exchange ------------------------------------------------------------------------------
    def _spec(self, operation: str) -> OperationSpec:
        return next(op for op in self.operations if op.name == operation)

    async def _call(self, operation: str, method: str, path: str, body: bytes | None, call: CallContext) -> bytes:
        async def attempt(timeout_s: float) -> bytes:
            return await self._send(operation, method, path, body, call, time.monotonic() + timeout_s)

        return await self.ctx.guard.call(attempt, call, idempotent=self._spec(operation).idempotent)

    async def _send(self, operation: str, method: str, path: str, body: bytes | None, call: CallContext,
                    ends: float) -> bytes:
        headers = {API_KEY_HEADER: self.ctx.config.auth.api_key or "", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, operation, service=self.agency_id,
                                                    subject_person_id=call.subject_person_id) as ex:
            ex.request(body)
            response = await self._request(method, path, ends, content=body, headers=headers)
            status, raw = response.status_code, response.content
            if status >= 500:
                raise error_from_answer(status, raw)
            self._verify(response)
            if status in (200, 201):
                ex.response(raw)
                return raw
            raise error_from_answer(status, raw)

    def _verify(self, response: httpx.Response) -> None:
        timestamp = response.headers.get(TIMESTAMP_HEADER)
        signature = response.headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            raise AgencySignatureInvalid(f"{self.agency_id}: the answer carries no {SIGNATURE_HEADER}",
                                         rule="signature_present")
        try:
            json.loads(response.content)
        except ValueError:
            raise AgencyInvalidResponse(f"{self.agency_id}: the answer is not JSON", rule="malformed") from None
        try:
            verify_postal_hmac(self.ctx.config.auth.hmac_secret or "", timestamp, response.content, signature,
                               now=time.time(), tolerance_s=HMAC_TOLERANCE_S)
        except HubError as exc:
            raise AgencySignatureInvalid(exc.detail, rule=exc.rule) from None

    async def _request(self, method: str, url: str, ends: float, **kw: Any) -> httpx.Response:
        left = max(0.05, ends - time.monotonic())
        timeout = httpx.Timeout(left, connect=min(left, self.ctx.config.connect_timeout_s))
        try:
            return await self.http.request(method, url, timeout=timeout, **kw)
        except httpx.TimeoutException:
            raise AgencyTimeout(f"{self.agency_id} did not answer within {left:.2f} s", rule="timeout") from None
        except httpx.HTTPError as exc:
            raise AgencyUnavailable(f"{self.agency_id} unreachable: {type(exc).__name__}",
                                    rule="transport") from None

