"""The population database and VNeID (Bộ Công an) as the hub calls them: REST/JSON over a pooled httpx client.

Per request: an OAuth2 client-credentials access token (cached for the process, fetched again shortly
before it expires or once when the agency refuses it with a 401), the hub's detached JWS over the exact
body bytes in ``X-JWS-Signature`` (envelope claims: From=hub, To=population, the operation, CaseRef,
Officer, Purpose), the citizen ID in the JSON body only, never in the URL.

Per answer: a 5xx (or no answer) is a transient failure; anything else must carry the agency's detached
JWS, verified against the trust store (signer ``population``, addressed to the hub) and, for the answers
that decide something (found, not found, refused), bound to this request (CorrelationId = our MessageId,
RequestHash = SHA-256 of our body). Only the verified bytes are validated against the contract's models and
mapped (``mappings.population``).

Logging: one message-log exchange per HTTP request (so a retry, or the request sent again with a fresh
token, is its own pair of entries); the token request is logged without its body (it holds the client
secret), and the access token never appears in any entry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from adapters.envelope import EnvelopeFields
from adapters.jws_envelope import JwsVerifier, VerifiedJws
from adapters.refusal import Refusal
from adapters.rest_client import pooled_client
from hub.connector import Connector, ConnectorContext, Health, OperationSpec, note_provenance
from hub.errors import (
    AgencyInvalidResponse,
    AgencyNotFound,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    HubError,
)
from hub.model import Address, Party, SubjectHints
from hub.model.decisions import AgencyReceipt
from hub.resilience.context import CallContext
from mappings.population import (
    OP_LOOKUP,
    OP_SEARCH,
    OP_TOKEN,
    OP_VNEID,
    PATH_LOOKUP,
    PATH_SEARCH,
    PATH_TOKEN,
    PATH_VNEID,
    VneidReceipt,
    error_from_answer,
    is_token_refused,
    lookup_request,
    parse_lookup,
    parse_lookup_residence,
    parse_search,
    parse_vneid,
    search_request,
    token_error,
    vneid_request,
)
from mappings.population.wire import TokenKetQua

SIGNATURE_HEADER = "X-JWS-Signature"
REQUEST_TTL = dt.timedelta(minutes=5)
#: answers that decide an outcome must be bound to the request they answer
BOUND_STATUSES = frozenset({200, 404, 409})


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # time.monotonic()
    margin_s: float  # refresh this long before expiry

    def fresh(self) -> bool:
        return time.monotonic() < self.expires_at - self.margin_s


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    verified: VerifiedJws | None = None
    refused_token: str | None = None  # set when the agency refused this access token (401)


class PopulationConnector(Connector):
    kind = "population"
    operations = (
        OperationSpec(OP_LOOKUP, True, "Find a citizen by personal ID: identity and permanent residence."),
        OperationSpec(OP_SEARCH, True, "Search citizens by full name and birth date (and current province)."),
        OperationSpec(OP_VNEID, True, "Send an electronic notification through VNeID (needs the citizen's "
                                      "consent); idempotent at the agency by the sender's reference."),
    )

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.verifier = JwsVerifier(ctx.trust)
        # Who the agency's answers must be addressed to: the agency id bound to the hub's certificate.
        self.hub_id = ctx.xml_signer.agency or "hub"
        self._http: httpx.AsyncClient | None = None
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self.tokens_fetched = 0  # for tests and metrics

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        auth = self.ctx.config.auth
        if auth.kind != "oauth2_client_credentials" or not auth.client_id or not auth.client_secret:
            raise HubError(f"{self.agency_id}: the agencies file must give auth.kind = "
                           "\"oauth2_client_credentials\" with client_id and client_secret",
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
        """Fetch the published contract (no personal data moves, nothing is logged)."""
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

    # --- capabilities ------------------------------------------------------------------------------
    async def lookup_person(self, person_id: str, call: CallContext) -> Party | None:
        """IdentitySource: the citizen with this ID, or None when the database has no such citizen."""
        answer = await self._call(OP_LOOKUP, PATH_LOOKUP, lookup_request(person_id), call, person_id)
        return None if answer.status == 404 else parse_lookup(answer.body)

    async def search_people(self, hints: SubjectHints, call: CallContext) -> list[Party]:
        """IdentitySource: everyone matching the name (tone marks and case folded by the agency) and birth
        date, optionally in one province; namesakes are all returned, in the agency's order."""
        answer = await self._call(OP_SEARCH, PATH_SEARCH, search_request(hints), call, call.subject_person_id)
        if answer.status == 404:
            return []
        return parse_search(answer.body)

    async def lookup_residence(self, person_id: str, call: CallContext) -> Address | None:
        """ResidenceSource: the permanent address (nơi thường trú) in today's units, or None."""
        answer = await self._call(OP_LOOKUP, PATH_LOOKUP, lookup_request(person_id), call, person_id)
        return None if answer.status == 404 else parse_lookup_residence(answer.body)

    async def notify_vneid(self, person_id: str, reference: str, title: str, text: str, call: CallContext,
                           *, document_url: str | None = None) -> str:
        """Send a VNeID notification; returns the agency's notification id (MaThongBao).

        Idempotent by ``reference``: sending it again returns the same id. Refusals: no consent ->
        AgencyRejected(rule="vneid_consent"); the reference used for another citizen ->
        AgencyRejected(rule="reference_reused"); unknown citizen -> AgencyNotFound.
        """
        receipt = await self.notify_vneid_receipt(person_id, reference, title, text, call, document_url=document_url)
        return receipt.notification_id

    async def notify_vneid_receipt(self, person_id: str, reference: str, title: str, text: str, call: CallContext,
                                   *, document_url: str | None = None) -> VneidReceipt:
        """As ``notify_vneid``, with the agency's acceptance as a DeliveryEvent (ACCEPTED, at its time)."""
        body = vneid_request(person_id, reference, title, text, case_ref=call.case_ref, document_url=document_url)
        answer = await self._call(OP_VNEID, PATH_VNEID, body, call, person_id)
        if answer.status == 404:
            raise AgencyNotFound(f"{self.agency_id}: no citizen with this personal ID", rule="SoDinhDanh")
        return parse_vneid(answer.body, reference)

    async def send_vneid_notification(self, person_id: str, reference: str, title: str, text: str,
                                      call: CallContext, *, document_url: str | None = None) -> AgencyReceipt:
        """VneidNotifier: ``notify_vneid_receipt`` as the agency's receipt (its MaThongBao, when it took it in)."""
        receipt = await self.notify_vneid_receipt(person_id, reference, title, text, call, document_url=document_url)
        return AgencyReceipt(reference=receipt.notification_id, at=receipt.event.at,
                             details={"status": receipt.event.status.value, "reference": receipt.reference})

    # --- the exchange ------------------------------------------------------------------------------
    def _spec(self, operation: str) -> OperationSpec:
        return next(op for op in self.operations if op.name == operation)

    async def _call(self, operation: str, path: str, payload: dict[str, Any], call: CallContext,
                    subject: str | None) -> _Answer:
        """One guarded call: 200 or 404 (both verified and bound) come back; everything else raises."""
        if not (call.case_ref or "").strip() or not (call.purpose or "").strip():
            raise HubError("a look-up of a person must name the case and the purpose", code="PURPOSE_MISSING",
                           rule="purpose")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

        async def attempt(timeout_s: float) -> _Answer:
            ends = time.monotonic() + timeout_s
            answer = await self._send(operation, path, body, call, subject, ends, refused_token=None)
            if answer.refused_token is not None:  # the token expired or was revoked: one fresh token, once
                answer = await self._send(operation, path, body, call, subject, ends,
                                          refused_token=answer.refused_token)
                if answer.refused_token is not None:
                    raise AgencyRejected(f"{self.agency_id} refused a freshly issued access token",
                                         rule="access_token")
            return answer

        return await self.ctx.guard.call(attempt, call, idempotent=self._spec(operation).idempotent)

    def _fields(self, operation: str, call: CallContext) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        return EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=self.hub_id, to_agency=self.agency_id,
                              service=self.agency_id, operation=operation, created=now, expires=now + REQUEST_TTL,
                              case_ref=call.case_ref, officer=call.officer, purpose=call.purpose)

    async def _send(self, operation: str, path: str, body: bytes, call: CallContext, subject: str | None,
                    ends: float, *, refused_token: str | None) -> _Answer:
        token = await self._access_token(ends, refused=refused_token)
        fields = self._fields(operation, call)
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Authorization": f"Bearer {token}", SIGNATURE_HEADER: self.ctx.jws_signer.sign(fields, body)}
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, operation, service=self.agency_id,
                                                    subject_person_id=subject) as ex:
            ex.request(body, fields)
            response = await self._post(path, ends, content=body, headers=headers)
            status, raw = response.status_code, response.content
            if status >= 500:
                raise error_from_answer(status, raw)
            if is_token_refused(status, raw):
                ex.response(raw, outcome="refused")
                return _Answer(status, raw, refused_token=token)
            verified = self._verify(response, body, fields, bound=status in BOUND_STATUSES)
            if status == 200:
                ex.response(raw, verified.header, payload_hash=verified.payload_hash)
                note_provenance(verified.header.message_id, verified.payload_hash, verified.signer)
                return _Answer(status, raw, verified)
            error = error_from_answer(status, raw)
            if isinstance(error, AgencyNotFound):
                ex.response(raw, verified.header, payload_hash=verified.payload_hash, outcome="not_found")
                return _Answer(404, raw, verified)
            raise error

    def _verify(self, response: httpx.Response, body: bytes, fields: EnvelopeFields, *, bound: bool) -> VerifiedJws:
        """The agency's detached JWS over the raw answer bytes; only then is the answer read."""
        token = response.headers.get(SIGNATURE_HEADER, "").strip()
        if not token:
            raise AgencySignatureInvalid(f"{self.agency_id}: the answer carries no {SIGNATURE_HEADER}",
                                         rule="signature_present")
        try:
            json.loads(response.content)
        except ValueError:
            raise AgencyInvalidResponse(f"{self.agency_id}: the answer is not JSON", rule="malformed") from None
        try:
            verified = self.verifier.verify(token, response.content)
        except Refusal as exc:
            raise AgencySignatureInvalid(f"{self.agency_id}: answer signature refused: {exc.detail}", rule=exc.rule,
                                         cause_code=exc.code) from None
        header = verified.header
        if verified.signer != self.agency_id:
            raise AgencySignatureInvalid(f"answer signed by {verified.signer}, expected {self.agency_id}",
                                         rule="answer_signer")
        if header.to_agency != self.hub_id:
            raise AgencySignatureInvalid(f"answer addressed to {header.to_agency}", rule="answer_addressee")
        if bound or header.correlation_id is not None:
            if header.correlation_id != fields.message_id:
                raise AgencySignatureInvalid("the answer's CorrelationId is not this request's MessageId",
                                             rule="correlation_id")
            if header.request_hash != hashlib.sha256(body).hexdigest():
                raise AgencySignatureInvalid("the answer's RequestHash does not match this request",
                                             rule="request_hash")
        return verified

    async def _post(self, url: str, ends: float, **kw: Any) -> httpx.Response:
        """One HTTP POST within what is left of the attempt's budget; transport failures typed."""
        left = max(0.05, ends - time.monotonic())
        timeout = httpx.Timeout(left, connect=min(left, self.ctx.config.connect_timeout_s))
        try:
            return await self.http.post(url, timeout=timeout, **kw)
        except httpx.TimeoutException:
            raise AgencyTimeout(f"{self.agency_id} did not answer within {left:.2f} s", rule="timeout") from None
        except httpx.HTTPError as exc:
            raise AgencyUnavailable(f"{self.agency_id} unreachable: {type(exc).__name__}",
                                    rule="transport") from None

    # --- OAuth2 client credentials -----------------------------------------------------------------
    async def _access_token(self, ends: float, *, refused: str | None) -> str:
        """The cached token while it is fresh and not the one just refused; else a new one (one fetch at a
        time: concurrent callers wait for it instead of each asking)."""
        async with self._token_lock:
            cached = self._token
            if cached is not None and cached.value != refused and cached.fresh():
                return cached.value
            self._token = None
            self._token = await self._fetch_token(ends)
            return self._token.value

    async def _fetch_token(self, ends: float) -> _Token:
        auth = self.ctx.config.auth
        url = auth.token_url or self.ctx.config.base_url.rstrip("/") + PATH_TOKEN
        form = {"grant_type": "client_credentials", "client_id": auth.client_id or "",
                "client_secret": auth.client_secret or ""}
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, OP_TOKEN,
                                                    service=self.agency_id) as ex:
            ex.request(None)  # the form holds the client secret: logged without its body
            response = await self._post(url, ends, data=form, headers={"Accept": "application/json"})
            if response.status_code != 200:
                raise token_error(response.status_code, response.content)
            try:
                answer = TokenKetQua.model_validate_json(response.content, strict=True)
            except ValidationError:
                raise AgencyInvalidResponse(f"{self.agency_id}: the token answer breaks token.ket-qua.schema.json",
                                            rule="token_schema") from None
            ex.response(None)
        self.tokens_fetched += 1
        return _Token(answer.access_token, time.monotonic() + answer.expires_in,
                      margin_s=min(60.0, answer.expires_in / 10))
