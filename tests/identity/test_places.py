"""Places for identity resolution: today's province from a written address, and the former province a
text names, mapped to the unit it merged into."""

from __future__ import annotations

from datetime import date

from hub.identity import place_in_text, place_of_hints, places_of
from hub.model import Address, SubjectHints
from hub.model.provinces import former_province


def test_a_former_province_name_maps_to_its_successor_and_is_remembered() -> None:
    place = place_in_text("Ấp 3, xã Long Định, huyện Châu Thành, Tỉnh Tiền Giang")
    assert place is not None and (place.code, place.name) == ("82", "Đồng Tháp")
    assert place.former == former_province("082") and place.label == "former Tiền Giang"


def test_prefixes_accents_and_case_do_not_matter() -> None:
    for text in ("Phường Bến Thành, TP. Hồ Chí Minh", "phuong Ben Thanh, thanh pho ho chi minh", "Bến Thành, HCM"):
        place = place_in_text(text)
        assert place is not None and place.code == "79" and place.former is None, text


def test_a_name_both_former_and_current_is_former_only_in_a_pre_merger_text() -> None:
    today = place_in_text("Xã Mỹ Phong, tỉnh Đồng Tháp")
    before = place_in_text("Xã Mỹ Phong, huyện Cao Lãnh, tỉnh Đồng Tháp", pre_merger=True)
    assert today is not None and today.former is None and today.label == "Đồng Tháp"
    assert before is not None and before.former == former_province("087") and before.code == "82"


def test_text_without_a_province_places_nothing() -> None:
    assert place_in_text("Số 5, đường Lê Lợi") is None
    assert place_in_text(" , ") is None


def test_hints_take_the_address_when_it_agrees_with_the_code_and_the_code_when_not() -> None:
    old = "Xã Long Định, huyện Châu Thành, tỉnh Tiền Giang"
    agreeing = place_of_hints(SubjectHints(full_name="A", birth_date=date(1980, 1, 1), province_code="82", address=old))
    assert agreeing is not None and agreeing.former == former_province("082")
    contradicting = place_of_hints(SubjectHints(full_name="A", province_code="01", address=old))
    assert contradicting is not None and (contradicting.code, contradicting.former) == ("01", None)
    assert place_of_hints(SubjectHints(full_name="A")) is None


def test_a_record_address_with_a_former_district_is_read_as_pre_merger() -> None:
    current = Address.from_text("Xã Mỹ Phong, tỉnh Đồng Tháp")
    old = Address.from_text("Xã Mỹ Phong, huyện Cao Lãnh, tỉnh Đồng Tháp").model_copy(
        update={"former_district": "huyện Cao Lãnh"})
    unplaced = Address(original_text="somewhere")
    today, before = places_of([current, old, unplaced])
    assert today.former is None and before.former == former_province("087")
