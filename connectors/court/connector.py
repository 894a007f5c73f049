"""The courts' connector (agency ``court``): SOAP 1.2 through the local contract WSDL, for reconciliation.

Courts push their judgments to the hub (SubmitJudgment, served by the hub's inbound endpoint, which
maps them with the same pure ``mappings.court.judgment_from``); this connector reads them back:
``get_judgment`` (GetJudgment) and ``list_effective_judgments`` (ListEffectiveJudgments, every page).

Calls: every operation runs through ``ctx.guard`` (deadline, rate limit, breaker; both are look-ups,
retried on transient failures). Each attempt signs a fresh envelope (new MessageId, the CallContext's
case, officer and purpose); the transport verifies the court's signed answer (signer ``court``,
addressed to the hub, RequestHash of this very request), and only the element the verifier returns
as signed is validated against ``court-judgments.xsd`` and mapped. A judgment's
``source_document_hash`` is the canonical hash of the signed ``BanAn``; ``received_at`` is when its
verified answer arrived.

Logging: ONE message-log exchange per SOAP call, holding a request/response pair for EVERY attempt (the
raw bytes as sent and as received, the envelope header sent and the verified header received), and,
when the call fails, the closing refusal the recorder adds. ``list_effective_judgments`` makes one
call per page, so each page is its own exchange.

Errors: a SOAP Receiver fault, HTTP 5xx or a connection failure -> AgencyUnavailable (504 and client
time-outs -> AgencyTimeout), both transient; a Sender fault (the court refused our message) ->
AgencyRejected with the fault's code as rule; an answer that fails the signature or trust checks ->
AgencySignatureInvalid; a malformed or schema-breaking answer -> AgencyInvalidResponse;
KhongTimThay -> None.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import ClassVar, TypeVar

from lxml import etree

from adapters.envelope import EnvelopeFields
from adapters.refusal import Refusal
from adapters.soap_client import SoapExchange
from connectors.court.intake import CourtIntake
from connectors.soap_base import SoapConnector
from connectors.soap_errors import attempt_outcome, typed_soap_error
from hub.audit.log import Outcome
from hub.audit.recorder import Exchange
from hub.connector import OperationSpec
from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencySignatureInvalid,
    AgencyUnavailable,
    InvalidValue,
)
from hub.model.judgment import Judgment
from hub.resilience.context import CallContext
from mappings import court as m

T = TypeVar("T")

HUB = "hub"
ENVELOPE_TTL = dt.timedelta(minutes=5)
# A listing whose total changes while it is paged (a judgment took effect meanwhile) is read again.
LISTING_TRIES = 3
# Codes of the answer checks that say the answer cannot be trusted (signature, certificate, binding).


def _typed(exc: BaseException, soap: SoapExchange, operation: str) -> BaseException:
    return typed_soap_error(exc, agency="court", where=f"court {operation}", status=soap.status,
                            request=soap.request_bytes, response=soap.response_bytes)

def _outcome(exc: BaseException) -> tuple[Outcome, str]:
    return attempt_outcome(exc)

class CourtConnector(CourtIntake, SoapConnector):
    """Reads judgments back from the courts: one by (number, court), and the list of those in effect."""

    kind: ClassVar[str] = "court"
    operations: ClassVar[tuple[OperationSpec, ...]] = (
        OperationSpec("get_judgment", True, "GetJudgment (TraCuuBanAn): the judgment with legal effect under a "
                      "number at one court (numbers are unique per court only), mapped to the canonical Judgment "
                      "with the hash of the signed document; None when that court has none. A look-up: retried "
                      "on transient failures."),
        OperationSpec("list_effective_judgments", True, "ListEffectiveJudgments (DanhSachBanAnCoHieuLuc): every "
                      "judgment that took effect on or after a day, oldest first, as (number, court, effective "
                      "date), paged through to the end, for reconciliation. A look-up: each page is retried on "
                      "transient failures."),
    )

    wsdl: ClassVar[Path] = m.WSDL
    xsd: ClassVar[Path] = m.XSD
    binding: ClassVar[str] = m.BINDING

    # --- operations ------------------------------------------------------------------------------------
    async def get_judgment(self, number: str, court_code: str, call: CallContext) -> Judgment | None:
        """The judgment ``number`` of the court ``court_code`` (e.g. "12/2024/DS-ST", "TAND-79-KV01"),
        None when that court has no judgment with legal effect under that number."""
        request = m.judgment_request(number, court_code)
        found = await self._call(m.GET_JUDGMENT, request, call, subject=call.subject_person_id,
                                 mapper=lambda body: m.judgment_answer_from(body, number, court_code))
        if found is None:
            return None
        return found.model_copy(update={"received_at": dt.datetime.now(dt.UTC)})

    async def list_effective_judgments(self, since: date, call: CallContext, *,
                                       page_size: int = m.DEFAULT_PAGE_SIZE) -> list[m.EffectiveJudgmentRef]:
        """Every judgment that took legal effect on or after ``since`` (oldest first, as the court lists
        them), read page by page to the end. When the court's total changes while paging (a judgment took
        effect meanwhile), the listing is read again from the first page, up to three times."""
        m.effective_request(since, 1, page_size)  # refuses bad arguments before anything is sent
        for _ in range(LISTING_TRIES):
            first = await self._page(since, 1, page_size, call)
            refs, page, changed = list(first.refs), first, False
            while page.page < first.pages:
                page = await self._page(since, page.page + 1, page_size, call)
                if page.total != first.total:
                    changed = True
                    break
                refs += page.refs
            if not changed:
                if len(refs) != first.total or len(set(refs)) != len(refs):
                    raise AgencyInvalidResponse(f"court ListEffectiveJudgments: the pages list {len(refs)} "
                                                f"judgments, TongSo says {first.total}", rule="listing_total")
                return refs
        raise AgencyUnavailable("court ListEffectiveJudgments: the list kept changing while it was paged",
                                rule="listing_unstable")

    async def list_effective_references(self, since: date, call: CallContext) -> list[tuple[str, str]]:
        """``JudgmentSource`` for reconciliation: (number as written, court code) of every judgment in effect
        since ``since``."""
        return [(ref.number, ref.court_code) for ref in await self.list_effective_judgments(since, call)]

    async def _page(self, since: date, page: int, page_size: int, call: CallContext) -> m.EffectiveJudgmentPage:
        request = m.effective_request(since, page, page_size)
        return await self._call(m.LIST_EFFECTIVE, request, call, subject=call.subject_person_id,
                                mapper=lambda body: m.effective_page_from(body, since, page, page_size))

    # --- one call, its attempts and its log ----------------------------------------------------------
    async def _call(self, operation: str, request: etree._Element, call: CallContext, *, subject: str | None,
                    mapper: Callable[[etree._Element], T]) -> T:
        await self.start()
        assert self._schema is not None
        try:
            self._schema.validate(request)
        except Refusal as exc:
            raise InvalidValue(f"court {operation}: the request breaks the contract: {exc.detail}",
                               code="REQUEST_INVALID", rule="court_request") from None
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, operation, service=m.SERVICE,
                                                    subject_person_id=subject) as ex:

            async def attempt(timeout_s: float) -> T:
                return await self._attempt(ex, operation, request, call, mapper)

            return await self.ctx.guard.call(attempt, call, idempotent=True)

    def _header(self, operation: str, call: CallContext) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        return EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=HUB, to_agency=self.agency_id,
                              service=m.SERVICE, operation=operation, created=now, expires=now + ENVELOPE_TTL,
                              case_ref=call.case_ref, officer=call.officer, purpose=call.purpose)

    async def _attempt(self, ex: Exchange, operation: str, request: etree._Element, call: CallContext,
                       mapper: Callable[[etree._Element], T]) -> T:
        assert self._client is not None and self._schema is not None
        header = self._header(operation, call)
        try:
            soap = await self._client.call(operation, header, copy.deepcopy(request))
        except BaseException as exc:
            sent: SoapExchange = getattr(exc, "soap_exchange", None) or SoapExchange()
            typed = _typed(exc, sent, operation)
            self._log_failure(ex, header, sent, typed)
            if typed is exc:
                raise
            raise typed from exc
        verified = soap.verified
        ex.request(soap.request_bytes, header)
        if verified is None:  # pragma: no cover - the transport raises instead of returning unverified
            raise AgencySignatureInvalid(f"court {operation}: the answer was not verified", rule="unverified")
        try:
            self._schema.validate(verified.body)
            result = mapper(verified.body)
        except Refusal as exc:
            error = exc if isinstance(exc, AgencyError) else AgencyInvalidResponse(
                f"court {operation}: the answer is invalid: {exc.detail}", rule=exc.rule or exc.code.lower())
            outcome, code = _outcome(error)
            ex.response(soap.response_bytes, verified.header, outcome=outcome)
            ex.records[-1].error_code = code
            if error is exc:
                raise
            raise error from exc
        ex.response(soap.response_bytes, verified.header, outcome="not_found" if result is None else "ok")
        return result

    @staticmethod
    def _log_failure(ex: Exchange, header: EnvelopeFields, soap: SoapExchange, error: BaseException) -> None:
        ex.request(soap.request_bytes, header)
        outcome, code = _outcome(error)
        ex.response(soap.response_bytes, None, outcome=outcome)
        ex.records[-1].error_code = code
