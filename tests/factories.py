"""Realistic canonical objects for tests: one judgment of a regional court with a debtor, a creditor,
an organisation and every kind of obligation, and the enforcement case that follows it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from hub.model.assets import BankAccount, Encumbrance, EncumbranceKind, LandParcel
from hub.model.case import (
    CaseCategory,
    CaseObligation,
    CaseStatus,
    EnforcementCase,
    EnforcementDecision,
    EnforcementOffice,
    ObligationStatus,
    OfficeLevel,
)
from hub.model.judgment import Court, CourtLevel, Judgment, JudgmentParty, Obligation, ObligationKind
from hub.model.measures import AccountFreeze, LandRestriction, MeasureStatus, RestrictionKind
from hub.model.notification import DeliveryEvent, DeliveryStatus, Notification, NotificationChannel
from hub.model.party import Address, Party, PartyKind, PartyRole
from hub.model.payments import Payment, PaymentDirection, PaymentStatus, Receipt
from hub.model.person_id import Gender
from hub.model.procuracy import ProcuracyAction, ProcuracyActionKind

ICT = timezone(timedelta(hours=7))


def debtor() -> Party:
    return Party(kind=PartyKind.INDIVIDUAL, full_name="Nguyễn Văn Hoà", birth_date=date(1984, 3, 9),
                 gender=Gender.MALE, person_id="087084000999", legacy_id="341234567",
                 extensions={"population:SoDienThoai": "0912345678"},
                 addresses=[Address(original_text="Số 12 ấp Hòa Bình, xã Tân Thuận, huyện Cao Lãnh, tỉnh Đồng Tháp",
                                    province_code="82", commune="Xã Tân Thuận", street="Số 12 ấp Hòa Bình",
                                    former_district="Huyện Cao Lãnh")])


def creditor() -> Party:
    return Party(kind=PartyKind.INDIVIDUAL, full_name="Trần Thị Thuỷ", birth_date=date(1990, 12, 1),
                 gender=Gender.FEMALE, person_id="079190001234",
                 addresses=[Address.from_text("45 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh")])


def company() -> Party:
    return Party(kind=PartyKind.ORGANISATION, full_name="Công ty TNHH Phát Đạt", tax_code="0301234567",
                 addresses=[Address.from_text("KCN Sóng Thần, Dĩ An, Bình Dương")])


def judgment() -> Judgment:
    d, c, o = debtor(), creditor(), company()
    return Judgment(
        number="12/2024/DS-ST",
        court=Court(code="TAND-KV1-82", name="Tòa án nhân dân khu vực 1 - Đồng Tháp",
                    level=CourtLevel.REGIONAL, province_code="82"),
        issued_on=date(2024, 5, 20), effective_on=date(2024, 6, 21),
        parties=[JudgmentParty(role=PartyRole.OBLIGOR, party=d), JudgmentParty(role=PartyRole.OBLIGEE, party=c),
                 JudgmentParty(role=PartyRole.RELATED, party=o)],
        obligations=[
            Obligation(kind=ObligationKind.PAY_MONEY, obligor_id=d.id, obligee_id=c.id, amount_vnd=350_000_000,
                       description="Buộc ông Nguyễn Văn Hoà trả cho bà Trần Thị Thuỷ 350.000.000 đồng."),
            Obligation(kind=ObligationKind.COURT_FEE, obligor_id=d.id, amount_vnd=17_500_000,
                       description="Án phí dân sự sơ thẩm 17.500.000 đồng."),
            Obligation(kind=ObligationKind.HAND_OVER_ASSET, obligor_id=d.id, obligee_id=c.id,
                       description="Trả lại xe máy biển số 66B1-123.45."),
        ],
        source_document_hash="a" * 64,
        received_at=datetime(2024, 6, 25, 9, 30, tzinfo=ICT),
    )


def enforcement_case(j: Judgment) -> EnforcementCase:
    debtor_party = j.parties[0].party
    case_id = UUID("5b0f3c1e-8c1a-4d2e-9a61-3f2b7d9e0a11")
    at = datetime(2024, 7, 2, 8, 0, tzinfo=UTC)
    return EnforcementCase(
        id=case_id,
        office=EnforcementOffice(code="THADS-82-KV1", name="Phòng Thi hành án dân sự khu vực 1 - Đồng Tháp",
                                 level=OfficeLevel.REGIONAL, province_code="82"),
        judgment_id=j.id, category=CaseCategory.ON_REQUEST, status=CaseStatus.ENFORCING,
        opened_on=date(2024, 7, 1),
        decision=EnforcementDecision(number="123/QĐ-THADS", issued_on=date(2024, 7, 3), officer="Lê Văn Tám"),
        obligations=[CaseObligation(obligation_id=j.obligations[0].id, status=ObligationStatus.PARTLY_SATISFIED,
                                    collected_vnd=50_000_000),
                     CaseObligation(obligation_id=j.obligations[1].id)],
        land_parcels=[LandParcel(certificate_serial="CS 123456", parcel_number=245, map_sheet=12,
                                 address=Address.from_text("xã Tân Thuận, tỉnh Đồng Tháp"),
                                 area_m2=Decimal("152.50"), land_use="ONT", owner_ids=["087084000999"],
                                 encumbrances=[Encumbrance(kind=EncumbranceKind.MORTGAGE, reference="HĐTC 77/2021",
                                                           holder="Agribank")])],
        bank_accounts=[BankAccount(bank_bin="970405", account_number="5501205123456",
                                   holder_name="NGUYEN VAN HOA", holder_id="087084000999",
                                   balance_vnd=82_450_000, balance_at=at, frozen_vnd=0)],
        notifications=[Notification(case_id=case_id, recipient_party_id=debtor_party.id,
                                    document_ref="123/QĐ-THADS", channel=NotificationChannel.POSTAL,
                                    issued_on=date(2024, 7, 3), due_by=date(2024, 7, 8),
                                    events=[DeliveryEvent(at=at, status=DeliveryStatus.DELIVERED,
                                                          channel=NotificationChannel.POSTAL,
                                                          tracking_number="RR123456785VN")])],
        freezes=[AccountFreeze(decision_ref="45/QĐ-PTTK", bank_bin="970405", account_number="5501205123456",
                               amount_vnd=82_000_000, status=MeasureStatus.APPLIED, requested_at=at,
                               frozen_vnd=82_000_000)],
        restrictions=[LandRestriction(decision_ref="46/QĐ-TDCN", kind=RestrictionKind.HALT_TRANSFER,
                                      certificate_serial="CS123456", requested_at=at)],
        payments=[Payment(case_id=case_id, direction=PaymentDirection.INCOMING, amount_vnd=50_000_000,
                          counterparty_name="NGUYEN VAN HOA", bank_bin="970405", account_number="5501205123456",
                          reference="THA 123/QD-THADS", status=PaymentStatus.SETTLED, at=at)],
        procuracy_actions=[ProcuracyAction(kind=ProcuracyActionKind.RECOMMENDATION, organ_id="H37.DN.001",
                                           organ_name="Viện kiểm sát nhân dân khu vực 1 - Đồng Tháp",
                                           document_number="15/KN-VKS", issued_on=date(2024, 8, 1),
                                           case_id=case_id, subject="Kiến nghị về thời hạn thông báo.")],
    )


def receipt_for(case: EnforcementCase) -> Receipt:
    p = case.payments[0]
    return Receipt(series="BL-82/2024", number=1, payment_id=p.id, amount_vnd=p.amount_vnd,
                   payer_name=p.counterparty_name, issued_at=p.at)
