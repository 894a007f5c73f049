"""The aggregates refuse incoherent objects with the code and rule that failed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from hub.errors import HubError
from hub.model import (
    Address,
    Completeness,
    EnvelopeHeader,
    Judgment,
    Obligation,
    ObligationKind,
    Party,
    PartyKind,
    SourceResult,
    SourceStatus,
    VerificationReport,
    VerificationRequest,
)
from tests import factories


def _cause(exc: ValidationError) -> HubError:
    cause = exc.errors()[0]["ctx"]["error"]
    assert isinstance(cause, HubError)
    return cause


def test_id_must_agree_with_birth_date_and_gender() -> None:
    with pytest.raises(ValidationError) as caught:
        Party(kind=PartyKind.INDIVIDUAL, full_name="Nguyễn Văn A", person_id="087084000999",
              birth_date=date(1985, 1, 1))
    assert (_cause(caught.value).code, _cause(caught.value).rule) == ("ID_INVALID", "birth_year_mismatch")
    with pytest.raises(ValidationError) as caught:
        Party(kind=PartyKind.INDIVIDUAL, full_name="Nguyễn Thị B", person_id="087084000999", gender="female")
    assert _cause(caught.value).rule == "gender_mismatch"


def test_organisation_has_no_personal_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        Party(kind=PartyKind.ORGANISATION, full_name="Công ty A", person_id="087084000999")
    assert _cause(caught.value).rule == "organisation_personal_fields"


@pytest.mark.parametrize("amount", [1.5, -1, "100", 100.0, True])
def test_money_obligation_amounts_are_whole_non_negative_vnd(amount: object) -> None:
    d = factories.debtor()
    with pytest.raises(ValidationError) as caught:
        Obligation(kind=ObligationKind.PAY_MONEY, obligor_id=d.id, amount_vnd=amount, description="trả tiền")
    assert _cause(caught.value).code == "AMOUNT_INVALID"


def test_money_obligation_needs_an_amount_and_an_act_has_none() -> None:
    d = factories.debtor()
    with pytest.raises(ValidationError) as caught:
        Obligation(kind=ObligationKind.COURT_FEE, obligor_id=d.id, description="án phí")
    assert _cause(caught.value).rule == "money_obligation_amount"
    with pytest.raises(ValidationError) as caught:
        Obligation(kind=ObligationKind.PERFORM_ACT, obligor_id=d.id, amount_vnd=1, description="tháo dỡ")
    assert _cause(caught.value).rule == "non_money_obligation_amount"


def test_judgment_obligations_name_its_own_parties() -> None:
    j = factories.judgment()
    stranger = factories.creditor()
    data = j.model_dump()
    data["obligations"][0]["obligee_id"] = stranger.id
    with pytest.raises(ValidationError) as caught:
        Judgment.model_validate(data)
    assert _cause(caught.value).rule == "obligation_party_known"


def test_judgment_number_accepts_text_and_must_match_the_issue_year() -> None:
    j = factories.judgment()
    assert str(j.number) == "12/2024/DS-ST" and j.number.seq == 12
    data = j.model_dump()
    data["number"] = "12/2023/DS-ST"
    with pytest.raises(ValidationError) as caught:
        Judgment.model_validate(data)
    assert (_cause(caught.value).code, _cause(caught.value).rule) == ("JUDGMENT_NUMBER_INVALID",
                                                                      "year_matches_issue_date")


def test_unknown_fields_are_refused_not_dropped() -> None:
    with pytest.raises(ValidationError):
        Address(original_text="Hà Nội", provice_code="01")  # type: ignore[call-arg]


def test_address_keeps_the_original_text_and_maps_a_former_province() -> None:
    a = Address.from_text("ấp 3, xã Mỹ Phước, huyện Tân Phước, tỉnh Tiền Giang")
    assert a.original_text == "ấp 3, xã Mỹ Phước, huyện Tân Phước, tỉnh Tiền Giang"
    assert a.province_code == "82"  # Tiền Giang merged into Đồng Tháp


def test_a_look_up_without_case_officer_or_purpose_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        VerificationRequest(person_id="087084000999", scopes=["identity"], case_ref="HS-1", officer=" ")
    cause = _cause(caught.value)
    assert cause.code == "PURPOSE_MISSING" and cause.extra["missing"] == ["officer", "purpose"]


def _source(status: SourceStatus) -> SourceResult:
    return SourceResult(agency="population", scopes=["identity"], status=status,
                        started_at=datetime.now(UTC), duration_ms=12)


@pytest.mark.parametrize(("statuses", "expected"), [
    ([SourceStatus.OK, SourceStatus.NOT_FOUND], Completeness.COMPLETE),
    ([SourceStatus.OK, SourceStatus.TIMED_OUT], Completeness.PARTIAL),
    ([SourceStatus.FAILED, SourceStatus.CIRCUIT_OPEN], Completeness.EMPTY),
])
def test_report_completeness(statuses: list[SourceStatus], expected: Completeness) -> None:
    now = datetime.now(UTC)
    report = VerificationReport(scopes=["identity"], case_ref="c", officer="o", purpose="p", requested_at=now,
                                completed_at=now, sources=[_source(s) for s in statuses])
    assert report.completeness is expected
    assert report.model_dump(mode="json")["completeness"] == expected.value


def test_times_are_held_in_utc_and_naive_times_refused() -> None:
    ict = timezone(timedelta(hours=7))
    created = datetime(2026, 1, 1, 9, 0, tzinfo=ict)
    h = EnvelopeHeader(message_id="m1", from_agency="court", to_agency="hub", service="judgments",
                       operation="SubmitJudgment", created=created, expires=created + timedelta(minutes=5))
    assert h.created.utcoffset() == timedelta(0) and h.created == created
    with pytest.raises(ValidationError):
        EnvelopeHeader(message_id="m1", from_agency="court", to_agency="hub", service="s", operation="o",
                       created=datetime(2026, 1, 1), expires=datetime(2026, 1, 2))
    with pytest.raises(ValidationError):
        EnvelopeHeader(message_id="m1", from_agency="bank-12", to_agency="hub", service="s", operation="o",
                       created=created, expires=created + timedelta(minutes=5))
