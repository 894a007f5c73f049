"""The sandbox court (Tòa án nhân dân): SOAP 1.2 from mappings/court/contracts/court-judgments.wsdl.

Serves the two operations the hub polls for reconciliation, from the seeded world's judgments:
``GetJudgment`` (ba:TraCuuBanAn -> the judgment document, or KhongTimThay) and
``ListEffectiveJudgments`` (ba:DanhSachBanAnCoHieuLuc -> numbers, court codes and effective dates
since a day, paged). Parties are written as the court wrote them: often without an identity number,
sometimes with an old 9-digit CMND, the address as given. The court's pushes to the hub
(SubmitJudgment, court-submit.wsdl) are played by ``sandbox_mocks.court.pusher``.

The court has no side effects: look-ups only, so nothing is recorded beyond the calls themselves.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from pathlib import Path

from lxml import etree

from adapters.envelope import VerifiedEnvelope
from adapters.refusal import Refusal
from sandbox_mocks.court.document import (
    NS,
    XSD_FILE,
    element,
    judgment_document,
    parse_vn_date,
    q,
    sub,
    vn_date,
)
from sandbox_mocks.framework.faults import FaultInjector
from sandbox_mocks.framework.soap_agency import SoapMockAgency
from sandbox_mocks.seed.world import Judgment, World

Handler = Callable[[etree._Element, VerifiedEnvelope], Awaitable[etree._Element]]

DEFAULT_PAGE_SIZE = 100


def _text(request: etree._Element, local: str) -> str:
    return (request.findtext(q(local)) or "").strip()


class CourtMock(SoapMockAgency):
    agency_id = "court"
    prefix = "/court"
    wsdl_file = "court-judgments.wsdl"
    xsd_file = XSD_FILE
    target_namespace = NS

    def __init__(self, *, world: World, key_dir: Path, faults: FaultInjector | None = None, seed: int = 0) -> None:
        super().__init__(key_dir=key_dir, faults=faults, seed=seed)
        self.world = world
        for local, handler in (("TraCuuBanAn", self._get_judgment),
                               ("DanhSachBanAnCoHieuLuc", self._list_effective)):
            self.operation(local)(self._checked(handler))

    def _checked(self, handler: Handler) -> Handler:
        """Every answer is validated against the published XSD before it is signed, so a world the
        contract cannot express fails loudly (a Receiver fault), not silently."""

        async def run(request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
            try:
                answer = await handler(request, verified)
            except ValueError as exc:  # world data the court cannot write (a number outside its forms...)
                raise Refusal(f"the court cannot write its answer: {exc}", code="INTERNAL",
                              rule="answer_data") from None
            try:
                self.schema.validate(answer)
            except Refusal as exc:
                raise Refusal(f"the court built an answer its contract refuses: {exc.detail}", code="INTERNAL",
                              rule="answer_schema") from None
            return answer

        return run

    def find(self, number: str, court_code: str) -> Judgment | None:
        """Numbers are unique per court only: the world's judgment counts only if that court issued it."""
        judgment = self.world.judgment(number)
        return judgment if judgment is not None and judgment.court_code == court_code else None

    async def _get_judgment(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        number, court_code = _text(request, "SoBanAn"), _text(request, "MaToaAn")
        answer = element("TraCuuBanAnPhanHoi")
        judgment = self.find(number, court_code)
        if judgment is None:
            missing = sub(answer, "KhongTimThay")
            sub(missing, "SoBanAn", number)
            sub(missing, "MaToaAn", court_code)
            sub(missing, "ThongBao", f"Không tìm thấy bản án, quyết định số {number} có hiệu lực pháp luật "
                                     f"của Tòa án có mã {court_code}")
        else:
            answer.append(judgment_document(judgment))
        return answer

    async def _list_effective(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        since_text = _text(request, "TuNgay")
        try:
            since = parse_vn_date(since_text)
        except ValueError:
            # The schema's pattern lets 31/02/2024 through; the calendar does not.
            raise Refusal(f"TuNgay {since_text} is not a date", code="SCHEMA_INVALID", rule="TuNgay") from None
        page = int(_text(request, "Trang") or 1)
        size = int(_text(request, "SoBanGhiMoiTrang") or DEFAULT_PAGE_SIZE)
        found = self.world.judgments_since(since)
        answer = element("DanhSachBanAnCoHieuLucPhanHoi")
        sub(answer, "TuNgay", vn_date(since))
        sub(answer, "TongSo", str(len(found)))
        sub(answer, "Trang", str(page))
        sub(answer, "SoTrang", str(math.ceil(len(found) / size)))
        sub(answer, "SoBanGhiMoiTrang", str(size))
        for judgment in found[(page - 1) * size: page * size]:
            item = sub(answer, "BanAnCoHieuLuc")
            sub(item, "SoBanAn", judgment.number)
            sub(item, "MaToaAn", judgment.court_code)
            sub(item, "NgayCoHieuLuc", vn_date(judgment.effective_on))
        return answer
