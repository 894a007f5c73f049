"""The procuracy connector (agency ``procuracy``): REST with signed XML bodies (openapi.json).

``send_decision`` POSTs a decision for supervision to ``/v1/van-ban`` as ``application/xml``: the
hub-signed THADS envelope (From hub, To procuracy, Operation GuiQuyetDinh, CaseRef = the decision's
case) whose Body is the edXML document built by ``mappings.procuracy.decision_edxml`` and validated
against ``edxml-qcvn102-2016.xsd`` before anything is sent. The answer is verified with
``EnvelopeVerifier(ctx.trust)`` on the raw bytes: signed by the procuracy, addressed to the hub,
Operation XacNhanTiepNhan, its CorrelationId the request's MessageId and its RequestHash the
canonical hash of the very envelope sent; only the verified ``edXML:Status`` is validated against
``edxml-status.xsd`` and mapped.

Idempotency: the procuracy receives a document once per DocumentId (the same document again answers
the first receipt), and the same decision always gives the same document: every call carries the
DocumentId as its idempotency key, so the guard retries it on transient failures like a look-up.
Each attempt is a new envelope (new MessageId) around the same document.

Logging: ONE message-log exchange per call, holding a request/response pair for EVERY attempt (the
signed bytes as sent with the header sent; the bytes received with the verified header, when there is
one), and, when the call fails, the closing refusal the recorder adds.

Errors: HTTP 5xx, connection failures and AGENCY_UNAVAILABLE problems -> AgencyUnavailable (504 and
client time-outs -> AgencyTimeout), transient; any other RFC 7807 problem (the procuracy refused our
message: SIGNATURE_INVALID, SCHEMA_INVALID...) -> AgencyRejected with the problem's code as rule; a
Status ``tu_choi_tiep_nhan`` -> AgencyRejected with the procuracy's MaLoi as rule and its LyDo in the
detail; an answer failing the signature or trust checks, or not bound to this request ->
AgencySignatureInvalid; a malformed or schema-breaking answer -> AgencyInvalidResponse.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import time
import uuid
from typing import ClassVar

import httpx
from lxml import etree

from adapters.envelope import EnvelopeFields, EnvelopeVerifier, VerifiedEnvelope, build_envelope, canonical_hash
from adapters.refusal import Refusal
from adapters.rest_client import pooled_client
from adapters.xml_hardened import parse_xml
from adapters.xsd import CompiledSchema
from connectors.procuracy.intake import ProcuracyIntake
from connectors.soap_errors import TRUST_CODES
from hub.audit.log import Outcome
from hub.audit.recorder import Exchange
from hub.connector import Connector, ConnectorContext, Health, OperationSpec
from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    InvalidValue,
)
from hub.model.decisions import AgencyReceipt, Decision, DecisionKind
from hub.resilience.context import CallContext
from mappings import procuracy as m

HUB = "hub"
ENVELOPE_TTL = dt.timedelta(minutes=5)
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})
_DOCUMENT_TYPES = {
    DecisionKind.ENFORCEMENT: m.DecisionType.QDTHA, DecisionKind.POSTPONEMENT: m.DecisionType.QDHTHA,
    DecisionKind.TERMINATION: m.DecisionType.QDDCTHA, DecisionKind.ACCOUNT_FREEZE: m.DecisionType.QDPTTK,
    DecisionKind.ASSET_SEIZURE: m.DecisionType.QDKBTS, DecisionKind.REGISTRATION_HALT: m.DecisionType.QDTDDK}
# Room for the envelope header and the signature around the document, within the 5 MiB limit.
_ENVELOPE_ALLOWANCE = 16 * 1024


def _transport_error(exc: BaseException) -> BaseException:
    if isinstance(exc, httpx.TimeoutException):
        return AgencyTimeout(f"procuracy {m.OPERATION}: no answer in time ({type(exc).__name__})",
                             rule="http_timeout")
    if isinstance(exc, httpx.TransportError):
        return AgencyUnavailable(f"procuracy {m.OPERATION}: {type(exc).__name__}: {exc}", rule="http_transport")
    return exc


def _answer_refusal(exc: Refusal) -> AgencyError:
    """The typed error of an answer the verifier refused."""
    where = f"procuracy {m.OPERATION}"
    if exc.code in TRUST_CODES:
        return AgencySignatureInvalid(f"{where}: {exc.detail}", code=exc.code, rule=exc.rule)
    if exc.code == "REQUEST_INVALID":  # addressed to someone else than the hub
        return AgencySignatureInvalid(f"{where}: {exc.detail}", rule=exc.rule or "addressee")
    return AgencyInvalidResponse(f"{where}: the answer is invalid: {exc.detail}", rule=exc.rule or exc.code.lower())


def _outcome(exc: BaseException) -> tuple[Outcome, str]:
    """How one attempt ended, for its response entry (the recorder's closing entry of a failed call says
    "refused" for every typed error; an attempt's entry tells a failure and a time-out apart)."""
    if isinstance(exc, asyncio.CancelledError):
        return "timeout", "AGENCY_TIMEOUT"
    if isinstance(exc, AgencyTimeout):
        return "timeout", exc.code
    if isinstance(exc, AgencyUnavailable):
        return "failed", exc.code
    if isinstance(exc, Refusal):
        return "refused", exc.code
    return "failed", type(exc).__name__


class ProcuracyConnector(ProcuracyIntake, Connector):
    """Sends the enforcement offices' decisions to the procuracy for supervision."""

    kind: ClassVar[str] = "procuracy"
    operations: ClassVar[tuple[OperationSpec, ...]] = (
        OperationSpec("send_decision", True, "GuiQuyetDinh (POST /v1/van-ban): a decision (QDTHA, QDHTHA, QDDCTHA, "
                      "QDPTTK, QDKBTS, QDTDDK) sent for supervision as signed edXML; answers the procuracy's "
                      "receipt (MaTiepNhan). Idempotent at the procuracy by DocumentId (OrganId,yyyy/MM/dd,"
                      "number/notation): sent with the DocumentId as idempotency key and retried on transient "
                      "failures; the same decision again answers the first receipt and is received once."),
    )

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._http: httpx.AsyncClient | None = None
        self._verifier: EnvelopeVerifier | None = None
        self._edxml: CompiledSchema | None = None
        self._status: CompiledSchema | None = None
        self._problem: CompiledSchema | None = None
        self._start_lock = asyncio.Lock()

    # --- life cycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._start_lock:
            if self._http is not None:
                return
            self._edxml, self._status, self._problem = await asyncio.to_thread(
                lambda: (CompiledSchema.load(m.EDXML_XSD), CompiledSchema.load(m.STATUS_XSD),
                         CompiledSchema.load(m.PROBLEM_XSD)))
            self._verifier = EnvelopeVerifier(self.ctx.trust)
            config = self.ctx.config
            self._http = pooled_client(config.base_url, timeout_s=config.timeout_s,
                                       connect_timeout_s=config.connect_timeout_s,
                                       max_connections=config.concurrency)

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def health(self) -> Health:
        """GET of the procuracy's published openapi.json (its contract URL): cheap, signs nothing."""
        await self.start()
        assert self._http is not None
        config = self.ctx.config
        url = config.openapi or f"{config.base_url.rstrip('/')}/contracts/openapi.json"
        try:
            breaker: str | None = (await self.ctx.guard.breaker.state()).value
        except Exception:  # Redis down: the agency may still be fine; say what is known
            breaker = None
        started = time.perf_counter()
        try:
            response = await self._http.get(url, timeout=min(config.timeout_s, 5.0))
        except httpx.HTTPError as exc:
            return Health(self.agency_id, False, f"{url}: {type(exc).__name__}", None, breaker)
        latency = int((time.perf_counter() - started) * 1000)
        ok = response.status_code == 200 and m.OPERATION.encode() in response.content
        detail = "contract served" if ok else f"{url}: HTTP {response.status_code}"
        return Health(self.agency_id, ok, detail, latency, breaker)

    # --- operations ------------------------------------------------------------------------------------
    async def send_decision(self, decision: m.ProcuracyDecision, call: CallContext) -> m.ProcuracyReceipt:
        """Send ``decision`` for supervision; the procuracy's receipt, or AgencyRejected (rule = its MaLoi)."""
        await self.start()
        assert self._edxml is not None
        if call.case_ref is not None and call.case_ref != decision.case_ref:
            raise InvalidValue("the call's case is not the decision's case", code="REQUEST_INVALID", rule="case_ref")
        document = m.decision_edxml(decision)
        try:
            self._edxml.validate(document)
        except Refusal as exc:
            raise InvalidValue(f"procuracy {m.OPERATION}: the decision breaks the edXML contract: {exc.detail}",
                               code="REQUEST_INVALID", rule="edxml") from None
        if len(etree.tostring(document)) > m.MAX_REQUEST_BYTES - _ENVELOPE_ALLOWANCE:
            raise InvalidValue("the decision and its attachments exceed the procuracy's 5 MiB limit",
                               code="XML_TOO_LARGE", rule="max_bytes")
        keyed = dataclasses.replace(call, idempotency_key=m.idempotency_key(decision))
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, m.OPERATION, service=m.SERVICE,
                                                    subject_person_id=call.subject_person_id) as ex:

            async def attempt(timeout_s: float) -> m.ProcuracyReceipt:
                return await self._attempt(ex, decision, document, call)

            return await self.ctx.guard.call(attempt, keyed, idempotent=False)

    async def send_for_supervision(self, decision: Decision, case_ref: str, call: CallContext) -> AgencyReceipt:
        """DecisionRecipient: ``send_decision`` of the hub's canonical decision, answered with the receipt
        (its MaTiepNhan) for the commands. The same decision always makes the same document, so a repeat is
        received once."""
        receipt = await self.send_decision(m.ProcuracyDecision(
            case_ref=case_ref, number=decision.number, notation=decision.notation,
            document_type=_DOCUMENT_TYPES[decision.kind], issued_on=decision.issued_on, place=decision.place,
            subject=decision.subject, office=m.Organ(organ_id=decision.office.organ_id, name=decision.office.name),
            procuracy=m.Organ(organ_id=decision.procuracy.organ_id, name=decision.procuracy.name),
            signer_name=decision.signer_name, signer_position=decision.signer_position,
            judgment_number=decision.judgment_number), call)
        return AgencyReceipt(reference=receipt.receipt_code, at=receipt.received_at, details={
            "document_id": receipt.document_id, "organ_id": receipt.organ_id, "status": receipt.status})

    # --- one attempt ---------------------------------------------------------------------------------------
    def _header(self, decision: m.ProcuracyDecision, call: CallContext) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        return EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=HUB, to_agency=self.agency_id,
                              service=m.SERVICE, operation=m.OPERATION, created=now, expires=now + ENVELOPE_TTL,
                              case_ref=decision.case_ref, officer=call.officer, purpose=call.purpose)

    async def _attempt(self, ex: Exchange, decision: m.ProcuracyDecision, document: etree._Element,
                       call: CallContext) -> m.ProcuracyReceipt:
        assert self._http is not None and self._status is not None
        header = self._header(decision, call)
        signed = self.ctx.xml_signer.sign(build_envelope(header, copy.deepcopy(document)))
        body = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        ex.request(body, header)
        try:
            response = await self._http.post(m.PATH.lstrip("/"), content=body,
                                              headers={"Content-Type": "application/xml"})
        except BaseException as exc:
            typed = _transport_error(exc)
            self._log_response(ex, None, None, typed)
            if typed is exc:
                raise
            raise typed from exc
        try:
            verified = self._verified(response, signed, header)
        except AgencyError as refused:
            self._log_response(ex, response.content, None, refused)
            raise
        try:
            self._status.validate(verified.body)
            receipt = m.receipt_from(verified.body, decision)
        except Refusal as exc:
            error = exc if isinstance(exc, AgencyError) else AgencyInvalidResponse(
                f"procuracy {m.OPERATION}: the Status is invalid: {exc.detail}", rule=exc.rule or exc.code.lower())
            self._log_response(ex, response.content, verified.header, error)
            if error is exc:
                raise
            raise error from exc
        ex.response(response.content, verified.header, outcome="ok")
        return receipt

    def _verified(self, response: httpx.Response, signed: etree._Element, header: EnvelopeFields) -> VerifiedEnvelope:
        """The verified answer envelope, bound to this request, or the typed error of what came back."""
        assert self._verifier is not None
        if response.status_code != 200:
            raise self._refusal_of(response)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in XML_MEDIA_TYPES:
            raise AgencyInvalidResponse(f"procuracy {m.OPERATION}: answered {media or 'no content type'}, "
                                        "not application/xml", rule="content_type")
        try:
            verified = self._verifier.verify(response.content, expected_to=HUB)
        except Refusal as exc:
            raise _answer_refusal(exc) from None
        where = f"procuracy {m.OPERATION}"
        if verified.signer != self.agency_id:
            raise AgencySignatureInvalid(f"{where}: answer signed by {verified.signer}", code="CERT_WRONG_AGENCY",
                                         rule="answer_signer")
        if verified.header.correlation_id != header.message_id:
            raise AgencySignatureInvalid(f"{where}: the answer's CorrelationId is not this request's MessageId",
                                         rule="correlation_id")
        if verified.header.request_hash != canonical_hash(signed):
            raise AgencySignatureInvalid(f"{where}: the answer's RequestHash does not match this request",
                                         rule="request_hash")
        if verified.header.operation != m.ANSWER_OPERATION:
            raise AgencyInvalidResponse(f"{where}: the answer's Operation is {verified.header.operation}",
                                        rule="answer_operation")
        return verified

    def _refusal_of(self, response: httpx.Response) -> AgencyError:
        """A non-200 answer: the typed error of its problem document, else of its HTTP status."""
        assert self._problem is not None
        status = response.status_code
        problem: etree._Element | None = None
        try:
            root = parse_xml(response.content) if response.content else None
            if root is not None and root.tag == f"{{{m.PROBLEM_NS}}}problem":
                self._problem.validate(root)
                problem = root
        except Refusal:
            problem = None
        if problem is not None:
            return m.problem_error(problem, status)
        where = f"procuracy {m.OPERATION}: HTTP {status}"
        if status == 504:
            return AgencyTimeout(f"{where} (gateway timeout)", rule="http_504")
        if status >= 500:
            return AgencyUnavailable(where, rule=f"http_{status}")
        return AgencyInvalidResponse(f"{where} without a problem document", rule=f"http_{status}")

    @staticmethod
    def _log_response(ex: Exchange, payload: bytes | None, header: EnvelopeFields | None,
                      error: BaseException) -> None:
        outcome, code = _outcome(error)
        ex.response(payload, header, outcome=outcome)
        ex.records[-1].error_code = code
