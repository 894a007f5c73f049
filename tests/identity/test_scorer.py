"""The identity scorer: the four cases of issue #9 (unique match, namesakes with the same birth date, Hoà/Hòa,
an old-province address), each with its decision and reasons, then the edges of each reason and decision."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date

import pytest

from hub.identity import DEFAULT_POLICY, ScoringPolicy, resolve
from hub.model import SubjectHints
from hub.model.verification import IdentityDecision, MatchReason
from tests.identity.people import BORN, citizen, found, reasons

HOA_DONG_THAP = citizen("Nguyễn Văn Hòa", "087080123456")
HOA_SAI_GON = citizen("Nguyễn Văn Hòa", "079080654321", lives="Phường Bến Thành, TP Hồ Chí Minh")
TIEN_GIANG_OLD = "Ấp 3, xã Long Định, huyện Châu Thành, tỉnh Tiền Giang"


# --- the four cases -----------------------------------------------------------------------------------
def test_a_unique_match_resolves_with_every_reason_named() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="82")
    result = resolve(hints, found(HOA_DONG_THAP))
    assert result.outcome.decision is IdentityDecision.RESOLVED
    assert result.person is HOA_DONG_THAP and result.source == "population"
    (only,) = result.outcome.candidates
    assert reasons(only) == [MatchReason.NAME_EXACT, MatchReason.BIRTH_DATE_EXACT, MatchReason.PROVINCE_SAME]
    assert only.score == 100 and only.person_id_masked == "087******456" and only.province_code == "82"


def test_namesakes_with_the_same_birth_date_and_no_province_are_ambiguous() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN)
    result = resolve(hints, found(HOA_DONG_THAP, HOA_SAI_GON))
    assert result.outcome.decision is IdentityDecision.AMBIGUOUS and result.person is None
    assert [c.person_id_masked for c in result.outcome.candidates] == ["079******321", "087******456"]
    for candidate in result.outcome.candidates:
        assert reasons(candidate) == [MatchReason.NAME_EXACT, MatchReason.BIRTH_DATE_EXACT,
                                      MatchReason.PROVINCE_UNKNOWN]
        assert candidate.score == 85
    assert "officer must choose" in result.outcome.detail


def test_the_province_tells_namesakes_apart() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="79")
    result = resolve(hints, found(HOA_DONG_THAP, HOA_SAI_GON))
    assert result.outcome.decision is IdentityDecision.RESOLVED and result.person is HOA_SAI_GON
    best, other = result.outcome.candidates
    assert reasons(best)[2] is MatchReason.PROVINCE_SAME and best.score == 100
    assert reasons(other)[2] is MatchReason.PROVINCE_DIFFERS and other.score == 70


def test_hoa_in_the_old_tone_placement_is_the_same_name_as_hoa_in_the_new() -> None:
    old_style = SubjectHints(full_name="Nguyễn Văn Hoà", birth_date=BORN, province_code="82")
    result = resolve(old_style, found(HOA_DONG_THAP))
    assert result.outcome.decision is IdentityDecision.RESOLVED and result.person is HOA_DONG_THAP
    (only,) = result.outcome.candidates
    assert reasons(only)[0] is MatchReason.NAME_TONE_PLACEMENT and only.reasons[0].detail == "Hoà ~ Hòa"
    # the same name, not a near miss: worth exactly what the exact spelling is worth
    exact = resolve(old_style.model_copy(update={"full_name": "Nguyễn Văn Hòa"}), found(HOA_DONG_THAP))
    assert only.score == exact.outcome.candidates[0].score == 100


@pytest.mark.parametrize(("written", "recorded"), [
    ("Trần Thị Thuỷ", "Trần Thị Thủy"), ("Lê Văn Khoẻ", "Lê Văn Khỏe"), ("Phạm Thị Thủy", "Phạm Thị Thuỷ"),
    ("Hoàng Văn Thoả", "Hoàng Văn Thỏa")])
def test_every_movable_tone_mark_is_one_name(written: str, recorded: str) -> None:
    person = citizen(recorded, "087080123456")
    (only,) = resolve(SubjectHints(full_name=written, birth_date=BORN), found(person)).outcome.candidates
    assert reasons(only)[0] is MatchReason.NAME_TONE_PLACEMENT


def test_an_old_province_address_maps_to_the_province_it_merged_into() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, address=TIEN_GIANG_OLD)
    result = resolve(hints, found(HOA_DONG_THAP, HOA_SAI_GON))
    assert result.outcome.decision is IdentityDecision.RESOLVED and result.person is HOA_DONG_THAP
    best, other = result.outcome.candidates
    assert reasons(best)[2] is MatchReason.PROVINCE_FORMER_SAME
    assert best.reasons[2].detail == "former Tiền Giang -> Đồng Tháp" and best.score == 100
    assert reasons(other)[2] is MatchReason.PROVINCE_DIFFERS
    assert other.reasons[2].detail == "former Tiền Giang vs Hồ Chí Minh"


# --- names ----------------------------------------------------------------------------------------------
def test_a_name_typed_without_diacritics_is_a_weaker_reason() -> None:
    hints = SubjectHints(full_name="Nguyen Van Hoa", birth_date=BORN, province_code="82")
    result = resolve(hints, found(HOA_DONG_THAP))
    (only,) = result.outcome.candidates
    assert reasons(only)[0] is MatchReason.NAME_DIACRITICS_LOST
    assert only.score == 80 and result.outcome.decision is IdentityDecision.RESOLVED
    # without the province it is not enough
    weak = resolve(hints.model_copy(update={"province_code": None}), found(HOA_DONG_THAP))
    assert weak.outcome.decision is IdentityDecision.WEAK and weak.person is None


def test_without_diacritics_two_names_that_fold_alike_are_ambiguous() -> None:
    hoa_with_acute = citizen("Nguyễn Văn Hóa", "087080222333")
    hints = SubjectHints(full_name="Nguyen Van Hoa", birth_date=BORN, province_code="82")
    assert resolve(hints, found(HOA_DONG_THAP, hoa_with_acute)).outcome.decision is IdentityDecision.AMBIGUOUS
    # written with its marks, the name picks its own bearer
    exact = resolve(hints.model_copy(update={"full_name": "Nguyễn Văn Hóa"}), found(HOA_DONG_THAP, hoa_with_acute))
    assert exact.outcome.decision is IdentityDecision.RESOLVED and exact.person is hoa_with_acute


def test_hoa_written_with_marks_against_hoa_on_record_is_not_the_same_name() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hoa", birth_date=BORN, province_code="82")
    result = resolve(hints, found(HOA_DONG_THAP))
    (only,) = result.outcome.candidates
    assert reasons(only)[0] is MatchReason.NAME_DIACRITICS_DIFFER and only.reasons[0].detail == "Hoa ~ Hòa"
    assert result.outcome.decision is IdentityDecision.WEAK


def test_case_spacing_and_decomposed_marks_leave_a_name_exact() -> None:
    written = unicodedata.normalize("NFD", "  NGUYỄN   văn hòa ")
    (only,) = resolve(SubjectHints(full_name=written, birth_date=BORN), found(HOA_DONG_THAP)).outcome.candidates
    assert reasons(only)[0] is MatchReason.NAME_EXACT


def test_another_name_is_never_plausible() -> None:
    other = citizen("Nguyễn Văn Hoàng", "087080123456")
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="82"), found(other))
    assert reasons(result.outcome.candidates[0])[0] is MatchReason.NAME_DIFFERS
    assert result.outcome.decision is IdentityDecision.NO_MATCH


# --- birth dates -----------------------------------------------------------------------------------------
def test_another_birth_date_is_no_match_and_says_so() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=date(1980, 5, 18), province_code="82")
    result = resolve(hints, found(HOA_DONG_THAP))
    (only,) = result.outcome.candidates
    assert reasons(only)[1] is MatchReason.BIRTH_DIFFERS and only.reasons[1].detail == "same year, another day"
    assert result.outcome.decision is IdentityDecision.NO_MATCH


def test_a_birth_year_alone_needs_the_province_to_resolve() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_year=1980)
    weak = resolve(hints, found(HOA_DONG_THAP))
    assert reasons(weak.outcome.candidates[0])[1] is MatchReason.BIRTH_YEAR_MATCHES
    assert weak.outcome.decision is IdentityDecision.WEAK
    placed = resolve(hints.model_copy(update={"province_code": "82"}), found(HOA_DONG_THAP))
    assert placed.outcome.decision is IdentityDecision.RESOLVED


def test_a_birth_year_that_differs_is_no_match() -> None:
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_year=1981, province_code="82"),
                     found(HOA_DONG_THAP))
    assert reasons(result.outcome.candidates[0])[1] is MatchReason.BIRTH_DIFFERS
    assert result.outcome.candidates[0].reasons[1].detail == "1981 vs 1980"
    assert result.outcome.decision is IdentityDecision.NO_MATCH


def test_a_record_without_birth_date_is_compared_by_the_year_its_id_encodes() -> None:
    undated = citizen("Nguyễn Văn Hòa", "087080123456", born=None)
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="82"), found(undated))
    assert reasons(result.outcome.candidates[0])[1] is MatchReason.BIRTH_YEAR_MATCHES


# --- provinces --------------------------------------------------------------------------------------------
def test_a_unique_candidate_elsewhere_is_weak_people_move() -> None:
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="01"),
                     found(HOA_DONG_THAP))
    assert reasons(result.outcome.candidates[0])[2] is MatchReason.PROVINCE_DIFFERS
    assert result.outcome.decision is IdentityDecision.WEAK


def test_two_former_provinces_merged_into_one_unit_are_still_two_places() -> None:
    # The record still shows the pre-merger address in former Đồng Tháp; the judgment names former Tiền Giang.
    person = citizen("Nguyễn Văn Hòa", "087080123456",
                     used_to_live="Xã Mỹ Phong, huyện Cao Lãnh, tỉnh Đồng Tháp")
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, address=TIEN_GIANG_OLD),
                     found(person))
    province = result.outcome.candidates[0].reasons[2]
    assert province.reason is MatchReason.PROVINCE_DIFFERS
    assert province.detail == "former Tiền Giang vs former Đồng Tháp"


def test_the_same_former_province_on_both_sides_is_the_same_province() -> None:
    person = citizen("Nguyễn Văn Hòa", "082080123456", used_to_live=TIEN_GIANG_OLD)
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, address=TIEN_GIANG_OLD),
                     found(person))
    province = result.outcome.candidates[0].reasons[2]
    assert (province.reason, province.detail) == (MatchReason.PROVINCE_SAME, "former Tiền Giang")


def test_a_record_placed_only_by_its_pre_merger_address_maps_too() -> None:
    person = citizen("Nguyễn Văn Hòa", "082080123456", used_to_live=TIEN_GIANG_OLD)
    person = person.model_copy(update={"addresses": person.addresses[1:]})
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="82"), found(person))
    province = result.outcome.candidates[0].reasons[2]
    assert (province.reason, province.detail) == (MatchReason.PROVINCE_FORMER_SAME, "former Tiền Giang -> Đồng Tháp")


def test_an_explicit_province_code_wins_over_an_address_that_disagrees() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="79", address=TIEN_GIANG_OLD)
    assert resolve(hints, found(HOA_DONG_THAP, HOA_SAI_GON)).person is HOA_SAI_GON


def test_an_address_naming_no_known_province_leaves_it_unknown() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, address="Số 5, đường Lê Lợi")
    result = resolve(hints, found(HOA_DONG_THAP))
    assert reasons(result.outcome.candidates[0])[2] is MatchReason.PROVINCE_UNKNOWN


# --- the decision --------------------------------------------------------------------------------------------
def test_nobody_found_is_no_match() -> None:
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN), [])
    assert result.outcome.decision is IdentityDecision.NO_MATCH and result.outcome.candidates == []


def test_one_person_returned_by_two_sources_counts_once() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN)
    result = resolve(hints, found(HOA_DONG_THAP) + found(HOA_DONG_THAP, source="population-vneid"))
    assert result.outcome.decision is IdentityDecision.RESOLVED
    assert [c.source for c in result.outcome.candidates] == ["population"]


def test_a_record_without_citizen_id_cannot_be_a_candidate() -> None:
    anonymous = HOA_SAI_GON.model_copy(update={"person_id": None})
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN), found(anonymous, HOA_DONG_THAP))
    assert result.person is HOA_DONG_THAP and len(result.outcome.candidates) == 1


def test_the_decision_does_not_depend_on_the_agency_order() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN, province_code="79")
    one = resolve(hints, found(HOA_DONG_THAP, HOA_SAI_GON))
    other = resolve(hints, found(HOA_SAI_GON, HOA_DONG_THAP))
    assert one.outcome == other.outcome and one.person is other.person


def test_a_rival_below_plausible_does_not_make_a_match_ambiguous() -> None:
    someone_else = citizen("Nguyễn Văn Hòa", "079080654321", born=date(1980, 9, 1))
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN), found(HOA_DONG_THAP, someone_else))
    assert result.outcome.decision is IdentityDecision.RESOLVED and result.person is HOA_DONG_THAP


def test_many_candidates_list_only_the_best() -> None:
    crowd = [citizen("Nguyễn Văn Hòa", f"0870801{i:05d}", born=date(1980, 1 + i % 12, 1 + i % 28)) for i in range(30)]
    result = resolve(SubjectHints(full_name="Nguyễn Văn Hòa", birth_year=1980), found(*crowd))
    assert result.outcome.decision is IdentityDecision.AMBIGUOUS
    assert len(result.outcome.candidates) == DEFAULT_POLICY.max_listed
    assert "the best 10 of 30 listed" in result.outcome.detail


def test_the_thresholds_are_data() -> None:
    hints = SubjectHints(full_name="Nguyễn Văn Hòa", birth_date=BORN)
    strict = replace(DEFAULT_POLICY, resolve_at=90)
    assert resolve(hints, found(HOA_DONG_THAP), strict).outcome.decision is IdentityDecision.WEAK
    with pytest.raises(ValueError, match="province_unknown"):
        ScoringPolicy(points={r: 0 for r in MatchReason if r is not MatchReason.PROVINCE_UNKNOWN},
                      resolve_at=80, plausible_at=50, margin=15)
    with pytest.raises(ValueError, match="plausible_at"):
        replace(DEFAULT_POLICY, plausible_at=90)
