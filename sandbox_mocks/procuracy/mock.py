"""The sandbox procuracy (Viện kiểm sát nhân dân): REST with signed XML bodies, from
mappings/procuracy/contracts/ (openapi.json, edxml-qcvn102-2016.xsd, edxml-status.xsd, problem-rfc7807.xsd).

``POST /procuracy/v1/van-ban`` receives a decision the enforcement office sends for supervision
(quyết định thi hành án, phong tỏa tài khoản, kê biên...): the body is the hub-signed THADS envelope
(Operation GuiQuyetDinh, To procuracy) holding an edXML document. Checks in order: Content-Type, size,
hardened parse + envelope XSD + signature against the trust store (EnvelopeVerifier), signer must be the
hub, Operation, the edXML against its XSD. Transport, security and schema refusals are RFC 7807 XML
problem documents with the registry code (401/403/413/415/422/400...). A document that passes is
answered 200 with an edXML Status signed by the procuracy: da_tiep_nhan with a receipt code
(MaTiepNhan), or tu_choi_tiep_nhan with a reason for business refusals.

Received once per DocumentId: the same document again answers the first receipt and records no second
``decision_received`` effect (GET /procuracy/_admin/recorder).

With ``push_url`` set, every ``push_every``-th new decision makes the procuracy write a recommendation
(kiến nghị) about that decision's case, pushed ``push_delay_s`` later to ``push_url`` through the
framework CallbackSender (retries, duplicate and out-of-order faults).

Handlers do not await between reading and changing the state, so two concurrent deliveries of the same
document cannot both be received.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.envelope import VerifiedEnvelope, canonical_hash
from adapters.refusal import Refusal
from adapters.xsd import CompiledSchema
from sandbox_mocks.framework.agency import MockAgency, finish_bytes, read_body
from sandbox_mocks.framework.callbacks import Callback, CallbackSender, RetryPolicy
from sandbox_mocks.framework.faults import FaultInjector
from sandbox_mocks.procuracy.edxml import (
    ACCEPTED,
    CONTRACT_DIR,
    DECISION_TYPES,
    EDXML_XSD,
    PROBLEM_MEDIA_TYPE,
    PROCURACY_ORGAN_PREFIX,
    RECOMMENDATION,
    REFUSED,
    STATUS_XSD,
    VN_TIME,
    CaseInfo,
    EdxmlDocument,
    Organ,
    ResponseFor,
    build_status,
    problem_xml,
    q,
    read_edxml,
    vn_today,
)
from sandbox_mocks.procuracy.pusher import action_document, signed_action
from sandbox_mocks.seed.world import World

log = logging.getLogger("thads.sandbox")

OP_DECISION = "GuiQuyetDinh"
OP_ANSWER = "XacNhanTiepNhan"
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})
ANSWER_MEDIA_TYPE = "application/xml; charset=utf-8"
CONTRACT_MEDIA_TYPES = {".json": "application/json", ".xsd": "application/xml"}

# HTTP status of each registry code the procuracy answers with (the hub's registry, copied as data:
# sandbox_mocks never imports the hub; a test checks the two agree).
STATUS_OF: dict[str, int] = {
    "REQUEST_INVALID": 400, "XML_MALFORMED": 400, "XML_FORBIDDEN_CONSTRUCT": 400, "XML_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415, "SCHEMA_INVALID": 422, "SIGNATURE_INVALID": 401, "CERT_UNTRUSTED": 401,
    "CERT_EXPIRED": 401, "CERT_REVOKED": 401, "CERT_WRONG_AGENCY": 403, "MESSAGE_EXPIRED": 401, "REPLAY": 409,
    "NOT_FOUND": 404, "METHOD_NOT_ALLOWED": 405, "AGENCY_UNAVAILABLE": 503, "INTERNAL": 500,
}

_STAFF = ("Phòng Kiểm sát thi hành án dân sự", "Văn thư")


def _addressed_organ(doc: EdxmlDocument) -> Organ:
    """The procuracy organ the document is addressed to (its first To when none is a procuracy's)."""
    return next((o for o in doc.recipients if o.organ_id.startswith(PROCURACY_ORGAN_PREFIX)), doc.recipients[0])


@dataclass(frozen=True)
class Receipt:
    """One received document: what was received, its receipt code and when."""

    doc: EdxmlDocument
    content_hash: str
    code: str
    at: dt.datetime


class ProcuracyMock(MockAgency):
    agency_id = "procuracy"
    prefix = "/procuracy"
    accepted_callers: frozenset[str] = frozenset({"hub"})

    def __init__(self, *, world: World, key_dir: Path, faults: FaultInjector | None = None, seed: int = 0,
                 push_url: str | None = None, push_every: int = 5, push_delay_s: float = 0.5,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__(key_dir=key_dir, faults=faults, seed=seed)
        if push_every < 1:
            raise ValueError("push_every must be at least 1")
        # Not read yet: decisions name cases the hub opened, which the world does not hold. Kept so the
        # sandbox builds every mock alike and a later check (SoBanAn against the world's judgments) can use it.
        self.world = world
        self.push_url = push_url
        self.push_every = push_every
        self.push_delay_s = push_delay_s
        self.edxml_schema = CompiledSchema.load(EDXML_XSD)
        self.status_schema = CompiledSchema.load(STATUS_XSD)
        self.receipts: dict[str, Receipt] = {}  # DocumentId -> the receipt
        self._receipt_numbers = itertools.count(1)
        self._action_numbers = itertools.count(100 + seed % 100)
        self.sender = CallbackSender(faults=self.faults, recorder=self.recorder, retry=retry or RetryPolicy(),
                                     seed=seed)

    async def aclose(self) -> None:
        await self.sender.aclose()

    # --- errors ------------------------------------------------------------------------------------
    def error_response(self, status: int, code: str, message: str, rule: str | None = None) -> Response:
        return Response(problem_xml(status, code, message, rule), status_code=status, media_type=PROBLEM_MEDIA_TYPE)

    def refusal_response(self, exc: Refusal) -> Response:
        return self.error_response(STATUS_OF.get(exc.code, 400), exc.code, exc.detail, exc.rule)

    # --- routes ------------------------------------------------------------------------------------
    def add_routes(self, app: FastAPI) -> None:
        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
            code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "REQUEST_INVALID")
            return self.error_response(status, code, f"{request.method} {request.url.path}: no such operation",
                                       "route")

        app.add_exception_handler(StarletteHTTPException, http_error)

        @app.get("/contracts/{name}", include_in_schema=False)
        async def contract(name: str) -> Response:
            path = CONTRACT_DIR / Path(name).name
            media = CONTRACT_MEDIA_TYPES.get(path.suffix)
            if media is None or not path.is_file():
                return self.error_response(404, "NOT_FOUND", f"no contract file {name}", "contract")
            return Response(path.read_bytes(), media_type=media)

        @app.post("/v1/van-ban", include_in_schema=False)
        async def receive(request: Request) -> Response:
            return await self.receive_document(request)

    async def receive_document(self, request: Request) -> Response:
        body = b""
        verified: VerifiedEnvelope | None = None
        try:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in XML_MEDIA_TYPES:
                raise Refusal(f"expected application/xml, got {media or 'nothing'}", code="UNSUPPORTED_MEDIA_TYPE",
                              rule="content_type")
            body = await read_body(request)
            verified = self.verifier.verify(body, expected_to=self.agency_id)
            if verified.signer not in self.accepted_callers:
                raise Refusal(f"{verified.signer} may not send documents to {self.agency_id}",
                              code="CERT_WRONG_AGENCY", rule="caller")
            if verified.header.operation != OP_DECISION:
                raise Refusal(f"operation {verified.header.operation} is not {OP_DECISION}", code="REQUEST_INVALID",
                              rule="operation")
            document = verified.body
            if document.tag != q("edXML"):
                raise Refusal(f"the envelope body is {document.tag}, not an edXML document", code="SCHEMA_INVALID",
                              rule="document")
            self.edxml_schema.validate(document)
            answer, outcome = self._receive(document, verified)
            try:
                self.status_schema.validate(answer)
            except Refusal as exc:
                raise Refusal(f"the procuracy built an answer its contract refuses: {exc.detail}", code="INTERNAL",
                              rule="answer_schema") from None
        except Refusal as exc:
            self.recorder.received(OP_DECISION, body, verdict="refused", detail=exc.code,
                                   message_id=verified.header.message_id if verified else None,
                                   signer=verified.signer if verified else None)
            return self.refusal_response(exc)
        except Exception as exc:  # a bug here still answers in the procuracy's format, and the mock keeps serving
            log.exception("sandbox procuracy failed on a request")
            self.recorder.received(OP_DECISION, body, verdict="failed", detail=type(exc).__name__)
            return self.error_response(500, "INTERNAL", f"sandbox error: {type(exc).__name__}", "internal")
        self.recorder.received(OP_DECISION, body, verdict="ok", message_id=verified.header.message_id,
                               signer=verified.signer, detail=outcome)
        signed = self.signed_answer(self.answer_header(verified, OP_ANSWER), answer)
        data = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        return Response(finish_bytes(data, signed), media_type=ANSWER_MEDIA_TYPE)

    # --- the business --------------------------------------------------------------------------------
    def _receive(self, document: etree._Element, verified: VerifiedEnvelope) -> tuple[etree._Element, str]:
        """The Status answering ``document``, and what happened (for the recorder)."""
        doc = read_edxml(document)
        organ = _addressed_organ(doc)
        now = dt.datetime.now(dt.UTC)

        def refuse(code: str, reason: str) -> tuple[etree._Element, str]:
            self.recorder.effect("decision_refused", document_id=doc.document_id, reason=code,
                                 message_id=verified.header.message_id, case_ref=verified.header.case_ref)
            return build_status(doc, organ=organ, status=REFUSED, description="Từ chối tiếp nhận văn bản", at=now,
                                refusal=(code, reason), staff=_STAFF), code

        content_hash = canonical_hash(document)
        known = self.receipts.get(doc.document_id)
        if known is not None:
            if known.content_hash != content_hash:
                return refuse("TRUNG_MA_VAN_BAN", f"Mã văn bản {doc.document_id} đã được tiếp nhận với nội dung khác")
            return self._accepted(known), "repeat"
        if not organ.organ_id.startswith(PROCURACY_ORGAN_PREFIX):
            return refuse("SAI_NOI_NHAN", "Văn bản không gửi tới cơ quan viện kiểm sát")
        if doc.document_type not in DECISION_TYPES:
            return refuse("LOAI_VAN_BAN_KHONG_TIEP_NHAN",
                          f"Loại văn bản {doc.document_type} không thuộc diện gửi viện kiểm sát để kiểm sát")
        if verified.header.case_ref != doc.case.case_ref:
            return refuse("SAI_MA_HO_SO", f"Mã hồ sơ {doc.case.case_ref} khác mã hồ sơ của thông điệp "
                                          f"({verified.header.case_ref or 'không có'})")
        code = f"VKS-TN-{now.astimezone(VN_TIME):%Y%m%d}-{next(self._receipt_numbers):06d}"
        receipt = Receipt(doc, content_hash, code, now)
        self.receipts[doc.document_id] = receipt
        self.recorder.effect("decision_received", document_id=doc.document_id, code=doc.code,
                             document_type=doc.document_type, case_ref=doc.case.case_ref, receipt=receipt.code,
                             attachments=len(doc.attachments), message_id=verified.header.message_id)
        if self.push_url and len(self.receipts) % self.push_every == 0:
            self._push_recommendation(receipt)
        return self._accepted(receipt), "received"

    def _accepted(self, receipt: Receipt) -> etree._Element:
        return build_status(receipt.doc, organ=_addressed_organ(receipt.doc), status=ACCEPTED,
                            description="Đã tiếp nhận văn bản để kiểm sát", at=receipt.at, receipt=receipt.code,
                            staff=_STAFF)

    def _push_recommendation(self, receipt: Receipt) -> None:
        """A recommendation about the decision's case, to the office that sent it, pushed a little later."""
        if self.push_url is None:
            return
        decision = receipt.doc
        number = next(self._action_numbers)
        doc = action_document(
            RECOMMENDATION,
            case=CaseInfo(case_ref=decision.case.case_ref, judgment=decision.case.judgment, decision=decision.code,
                          office=decision.sender.name),
            number=number, promulgated=vn_today(),
            subject=f"Kiến nghị về việc chậm thông báo quyết định thi hành án số {decision.code}",
            text=(f"Qua kiểm sát {decision.type_name.lower()} số {decision.code} ngày "
                  f"{decision.promulgated:%d/%m/%Y}, Viện kiểm sát nhận thấy quyết định chưa được gửi cho đương sự "
                  "trong thời hạn luật định. Đề nghị khắc phục và thông báo kết quả cho Viện kiểm sát."),
            procuracy=_addressed_organ(decision), office=decision.sender,
            signer=("Phó Viện trưởng", "Trần Thị Minh Thư"),
            responds_to=(ResponseFor(organ_id=decision.sender.organ_id, code=decision.code,
                                     promulgated=decision.promulgated, document_id=decision.document_id),))
        item = signed_action(self.signer, doc, officer="Kiểm sát viên Đỗ Văn Bình")
        self.recorder.effect("action_scheduled", action=RECOMMENDATION, document_id=doc.document_id,
                             case_ref=doc.case.case_ref, responds_to=decision.document_id, message_id=item.item_id,
                             url=self.push_url)
        self.sender.dispatch([Callback(url=self.push_url, body=item.body, event_id=item.item_id,
                                       content_type=item.content_type)], spacing_s=self.push_delay_s)
