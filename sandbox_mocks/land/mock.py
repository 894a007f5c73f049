"""The sandbox land registry (Văn phòng đăng ký đất đai): SOAP 1.2 from mappings/land/contracts/.

Answers the four operations of ``land-registry.wsdl`` from the seeded world, in the registry's own
names and formats (dd/MM/yyyy dates, decimal-comma areas, its land-use codes, "CS 123456" serials),
built with lxml from the contract's element names: nothing here knows the hub's canonical model.

Restrictions (hạn chế) registered through ``DangKyHanChe`` live in memory, per certificate, and show
in later look-ups until ``GoHanChe`` lifts them. Both are idempotent by (SoQuyetDinh, SoPhatHanhGCN):
the same request again answers the first receipt and records no second effect. Side effects are
recorded as ``restriction_registered`` / ``restriction_lifted`` (GET /land/_admin/recorder).

Handlers run on the event loop and do not await between reading and changing the state, so two
concurrent calls cannot interleave inside one registration.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from adapters.envelope import VerifiedEnvelope
from adapters.refusal import Refusal
from sandbox_mocks.framework.faults import FaultInjector
from sandbox_mocks.framework.soap_agency import SoapMockAgency
from sandbox_mocks.seed.world import Parcel, World

NS = "urn:vn:gov:tnmt:dangkydatdai:1"
# Viet Nam keeps UTC+07:00 all year (no daylight saving): the registry's dates and times are local.
VN_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")

IN_FORCE, LIFTED = "DANG_HIEU_LUC", "DA_GO"

# The registry's land-use codes (LoaiDatType in land-registry.xsd). The world writes the same national
# codes (ODT, ONT, LUC...); one the contract does not list is a world the registry cannot serve.
LAND_USE_CODES = frozenset({"ODT", "ONT", "LUC", "LUK", "BHK", "CLN", "RSX", "NTS", "LMU", "NKH", "TMD", "SKC",
                            "SKK"})

Handler = Callable[[etree._Element, VerifiedEnvelope], Awaitable[etree._Element]]


def _q(local: str) -> str:
    return f"{{{NS}}}{local}"


def _element(local: str) -> etree._Element:
    return etree.Element(_q(local), nsmap={"dd": NS})


def _sub(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, _q(local))
    if text is not None:
        child.text = text
    return child


def _text(request: etree._Element, local: str) -> str:
    return (request.findtext(_q(local)) or "").strip()


def serial_key(serial: str) -> str:
    """A certificate serial without spaces, upper case: "cs 123456" and "CS123456" are one certificate."""
    return "".join(serial.split()).upper()


def display_serial(serial: str) -> str:
    """The registry writes a serial with one space after the two letters: "CS 123456"."""
    key = serial_key(serial)
    return f"{key[:2]} {key[2:]}"


def vn_date(at: dt.datetime) -> str:
    return at.astimezone(VN_TIME).strftime("%d/%m/%Y")


def vn_time(at: dt.datetime) -> str:
    return at.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M:%S")


def registry_area(area_m2: str) -> str:
    """Square metres with a decimal comma, at most two decimals, no trailing zeros: "96,5", "1250"."""
    try:
        value = Decimal(str(area_m2).strip().replace(",", ".")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"not an area: {area_m2!r}") from None
    whole, _, decimals = f"{value:f}".partition(".")
    decimals = decimals.rstrip("0")
    return f"{whole},{decimals}" if decimals else whole


def land_use_code(land_use: str) -> str:
    """The registry's code for the world's land use."""
    code = land_use.strip().upper()
    if code not in LAND_USE_CODES:
        raise ValueError(f"no land registry code for land use {land_use!r}")
    return code


@dataclass
class Restriction:
    """One registered halt (TAMDUNG) or seizure (KEBIEN) decision on one certificate."""

    decision: str
    kind: str
    decision_date: str
    office: str
    receipt: str
    received_at: dt.datetime
    lift_decision: str | None = None
    lift_receipt: str | None = None
    lifted_at: dt.datetime | None = None

    @property
    def state(self) -> str:
        return LIFTED if self.lift_decision else IN_FORCE


class LandRegistryMock(SoapMockAgency):
    agency_id = "land"
    prefix = "/land"
    wsdl_file = "land-registry.wsdl"
    xsd_file = "land-registry.xsd"
    target_namespace = NS

    def __init__(self, *, world: World, key_dir: Path, faults: FaultInjector | None = None, seed: int = 0) -> None:
        super().__init__(key_dir=key_dir, faults=faults, seed=seed)
        self.world = world
        # serial_key(certificate) -> SoQuyetDinh -> Restriction, in registration order.
        self.restrictions: dict[str, dict[str, Restriction]] = {}
        self._file_numbers = itertools.count(1)
        for local, handler in (("TraCuuThuaDatTheoChuSoHuu", self._parcels_of_holder),
                               ("TraCuuThuaDatTheoGiayChungNhan", self._parcel_by_certificate),
                               ("DangKyHanChe", self._register_restriction),
                               ("GoHanChe", self._lift_restriction)):
            self.operation(local)(self._checked(handler))

    # --- plumbing ----------------------------------------------------------------------------------
    def _checked(self, handler: Handler) -> Handler:
        """Every answer is validated against the published XSD before it is
        signed, so a world the contract cannot express fails loudly (a Receiver fault), not silently."""

        async def run(request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
            try:
                answer = await handler(request, verified)
            except ValueError as exc:  # world data the registry cannot write (an unknown land-use code...)
                raise Refusal(f"the registry cannot write its answer: {exc}", code="INTERNAL",
                              rule="answer_data") from None
            try:
                self.schema.validate(answer)
            except Refusal as exc:
                raise Refusal(f"the registry built an answer its contract refuses: {exc.detail}", code="INTERNAL",
                              rule="answer_schema") from None
            return answer

        return run

    def _file_number(self, prefix: str, at: dt.datetime) -> str:
        return f"{prefix}-{at.astimezone(VN_TIME):%Y%m%d}-{next(self._file_numbers):06d}"

    def _held(self, parcel: Parcel) -> dict[str, Restriction]:
        return self.restrictions.setdefault(serial_key(parcel.certificate_serial), {})

    def in_force(self, parcel: Parcel) -> list[Restriction]:
        return [r for r in self.restrictions.get(serial_key(parcel.certificate_serial), {}).values()
                if r.state == IN_FORCE]

    # --- answers -----------------------------------------------------------------------------------
    def parcel_xml(self, parent: etree._Element, parcel: Parcel) -> etree._Element:
        """ThuaDat for ``parcel``, appended to ``parent``, with the restrictions in force now."""
        el = _sub(parent, "ThuaDat")
        _sub(el, "SoPhatHanhGCN", display_serial(parcel.certificate_serial))
        _sub(el, "SoThua", str(int(parcel.parcel_number)))
        _sub(el, "SoToBanDo", str(int(parcel.map_sheet)))
        address = _sub(el, "DiaChi")
        province = _sub(address, "TinhThanh")
        _sub(province, "Ma", str(parcel.address.province_code).zfill(2))
        _sub(province, "Ten", parcel.address.province_name)
        _sub(address, "XaPhuong", parcel.address.commune)
        if parcel.address.street:
            _sub(address, "ChiTiet", parcel.address.street)
        if parcel.address.text:
            _sub(address, "DiaChiDayDu", parcel.address.text)
        if parcel.address.old_text:
            _sub(address, "DiaChiCu", parcel.address.old_text)
        _sub(el, "DienTich", registry_area(parcel.area_m2))
        _sub(el, "MucDichSuDung", land_use_code(parcel.land_use))
        for person_id in parcel.owner_ids:
            holder = _sub(el, "ChuSuDung")
            _sub(holder, "SoDinhDanh", person_id)
            _sub(holder, "HoTen", self._name_of(person_id))
        if parcel.mortgage_holder:
            _sub(_sub(el, "TheChap"), "BenNhanTheChap", parcel.mortgage_holder)
        for restriction in self.in_force(parcel):
            r = _sub(el, "HanChe")
            _sub(r, "SoQuyetDinh", restriction.decision)
            _sub(r, "LoaiHanChe", restriction.kind)
            _sub(r, "NgayDangKy", vn_date(restriction.received_at))
            _sub(r, "TrangThai", restriction.state)
            _sub(r, "CoQuanThiHanhAn", restriction.office)
        return el

    def _name_of(self, person_id: str) -> str:
        citizen = self.world.citizen(person_id)
        return citizen.full_name if citizen is not None else "Không rõ"  # a holder the world does not know

    @staticmethod
    def _refused(answer_local: str, code: str, message: str) -> etree._Element:
        answer = _element(answer_local)
        refused = _sub(answer, "TuChoi")
        _sub(refused, "MaLoi", code)
        _sub(refused, "MoTaLoi", message)
        return answer

    @staticmethod
    def _receipt(answer_local: str, parcel: Parcel, restriction: Restriction, *, lift: bool) -> etree._Element:
        """The receipt of the registration, or of the lift: file number and time are those of the first
        request, the state is the restriction's state now."""
        if lift:
            if restriction.lift_receipt is None or restriction.lifted_at is None:
                raise ValueError("a lift receipt for a restriction that was not lifted")
            file_number, at = restriction.lift_receipt, restriction.lifted_at
        else:
            file_number, at = restriction.receipt, restriction.received_at
        answer = _element(answer_local)
        receipt = _sub(answer, "BienNhan")
        _sub(receipt, "MaTiepNhan", file_number)
        _sub(receipt, "SoPhatHanhGCN", display_serial(parcel.certificate_serial))
        _sub(receipt, "SoQuyetDinh", restriction.decision)
        _sub(receipt, "LoaiHanChe", restriction.kind)
        _sub(receipt, "TrangThai", restriction.state)
        _sub(receipt, "ThoiGianTiepNhan", vn_time(at))
        if lift:
            _sub(receipt, "SoQuyetDinhGo", restriction.lift_decision)
        return answer

    # --- operations ----------------------------------------------------------------------------------
    async def _parcels_of_holder(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        person_id = _text(request, "SoDinhDanh")
        parcels = self.world.parcels_of(person_id)
        answer = _element("TraCuuThuaDatTheoChuSoHuuPhanHoi")
        _sub(answer, "SoDinhDanh", person_id)
        _sub(answer, "TongSo", str(len(parcels)))
        for parcel in parcels:
            self.parcel_xml(answer, parcel)
        return answer

    async def _parcel_by_certificate(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        serial = _text(request, "SoPhatHanhGCN")
        parcel = self.world.parcel_by_serial(serial)
        answer = _element("TraCuuThuaDatTheoGiayChungNhanPhanHoi")
        if parcel is None:
            missing = _sub(answer, "KhongTimThay")
            _sub(missing, "SoPhatHanhGCN", display_serial(serial))
            _sub(missing, "ThongBao", f"Không tìm thấy giấy chứng nhận có số phát hành {display_serial(serial)}")
        else:
            self.parcel_xml(answer, parcel)
        return answer

    async def _register_restriction(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        reply = "DangKyHanChePhanHoi"
        serial, decision = _text(request, "SoPhatHanhGCN"), _text(request, "SoQuyetDinh")
        kind, decision_date = _text(request, "LoaiHanChe"), _text(request, "NgayQuyetDinh")
        parcel = self.world.parcel_by_serial(serial)
        if parcel is None:
            return self._refused(reply, "KHONG_TIM_THAY_GCN",
                                 f"Không tìm thấy giấy chứng nhận có số phát hành {display_serial(serial)}")
        held = self._held(parcel)
        existing = held.get(decision)
        if existing is not None:
            if (existing.kind, existing.decision_date) != (kind, decision_date):
                return self._refused(reply, "TRUNG_SO_QUYET_DINH",
                                     f"Quyết định số {decision} đã được đăng ký trên giấy chứng nhận "
                                     f"{display_serial(serial)} với nội dung khác")
            return self._receipt(reply, parcel, existing, lift=False)  # the same request again: same receipt
        now = dt.datetime.now(dt.UTC)
        restriction = Restriction(decision=decision, kind=kind, decision_date=decision_date,
                                  office=_text(request, "CoQuanThiHanhAn"), receipt=self._file_number("DK", now),
                                  received_at=now)
        held[decision] = restriction
        self.recorder.effect("restriction_registered", certificate_serial=display_serial(parcel.certificate_serial),
                             decision=decision, restriction_kind=kind, decision_date=decision_date,
                             receipt=restriction.receipt, message_id=verified.header.message_id,
                             case_ref=verified.header.case_ref)
        return self._receipt(reply, parcel, restriction, lift=False)

    async def _lift_restriction(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        reply = "GoHanChePhanHoi"
        serial, decision = _text(request, "SoPhatHanhGCN"), _text(request, "SoQuyetDinh")
        lift_decision = _text(request, "SoQuyetDinhGo")
        parcel = self.world.parcel_by_serial(serial)
        if parcel is None:
            return self._refused(reply, "KHONG_TIM_THAY_GCN",
                                 f"Không tìm thấy giấy chứng nhận có số phát hành {display_serial(serial)}")
        restriction = self._held(parcel).get(decision)
        if restriction is None:
            return self._refused(reply, "KHONG_TIM_THAY_HAN_CHE",
                                 f"Không có hạn chế theo quyết định số {decision} trên giấy chứng nhận "
                                 f"{display_serial(serial)}")
        if restriction.lift_decision is not None:
            if restriction.lift_decision != lift_decision:
                return self._refused(reply, "HAN_CHE_DA_GO",
                                     f"Hạn chế theo quyết định số {decision} đã được xóa theo quyết định số "
                                     f"{restriction.lift_decision}")
            return self._receipt(reply, parcel, restriction, lift=True)  # the same lift again: same receipt
        now = dt.datetime.now(dt.UTC)
        restriction.lift_decision, restriction.lifted_at = lift_decision, now
        restriction.lift_receipt = self._file_number("GO", now)
        self.recorder.effect("restriction_lifted", certificate_serial=display_serial(parcel.certificate_serial),
                             decision=decision, lift_decision=lift_decision, receipt=restriction.lift_receipt,
                             message_id=verified.header.message_id, case_ref=verified.header.case_ref)
        return self._receipt(reply, parcel, restriction, lift=True)
