from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hub.errors import InvalidValue
from hub.model import person_id as person_id_module
from hub.model.person_id import (
    Gender,
    LegacyIdStr,
    PersonIdStr,
    check_person_id_consistency,
    decode_person_id,
    mask_person_id,
)
from hub.model.provinces import former_provinces

FAR_FUTURE = date(2199, 12, 31)


def test_domain_example_decodes_to_dong_thap_male_1984():
    info = decode_person_id("087084000999")
    assert info.value == "087084000999"
    assert (info.province_code, info.province_name) == ("087", "Đồng Tháp")
    assert (info.gender, info.birth_year) == (Gender.MALE, 1984)
    assert not info.registered_abroad


@pytest.mark.parametrize(("value", "province", "gender", "year"), [
    ("001185000123", "Hà Nội", Gender.FEMALE, 1985),
    ("001000000001", "Hà Nội", Gender.MALE, 1900),
    ("079203001234", "Hồ Chí Minh", Gender.MALE, 2003),
    ("046310004321", "Thừa Thiên Huế", Gender.FEMALE, 2010),
    ("096199999999", "Cà Mau", Gender.FEMALE, 1999),
])
def test_century_digit_gives_century_and_gender(value, province, gender, year):
    info = decode_person_id(value, today=date(2025, 1, 1))
    assert (info.province_name, info.gender, info.birth_year) == (province, gender, year)


def test_2100s_are_valid_once_they_have_come():
    assert decode_person_id("001400000001", today=date(2100, 1, 1)).birth_year == 2100
    info = decode_person_id("001505000001", today=FAR_FUTURE)
    assert (info.gender, info.birth_year) == (Gender.FEMALE, 2105)


def _refusal(value: str, **kwargs) -> InvalidValue:
    with pytest.raises(InvalidValue) as err:
        decode_person_id(value, **kwargs)
    assert err.value.code == "ID_INVALID"
    return err.value


@pytest.mark.parametrize("value", [
    "08708400099", "0870840009990", "08708400099a", " 087084000999", "087 084 000 999", "",
    "０８７０８４０００９９９",  # full-width digits
    "٠٨٧٠٨٤٠٠٠٩٩٩",  # Arabic-Indic digits
])
def test_anything_but_12_ascii_digits_breaks_length_digits(value):
    assert _refusal(value).rule == "length_digits"


@pytest.mark.parametrize("value", ["003084000999", "000084000999", "097084000999", "999084000999"])
def test_unknown_province_code_breaks_province_code(value):
    assert _refusal(value).rule == "province_code"


@pytest.mark.parametrize("digit", "6789")
def test_century_digit_above_5_breaks_century_digit(digit):
    assert _refusal(f"087{digit}84000999").rule == "century_digit"


def test_birth_year_after_this_year_breaks_birth_year_future():
    assert _refusal("001225000001", today=date(2024, 12, 31)).rule == "birth_year_future"
    assert decode_person_id("001225000001", today=date(2025, 1, 1)).birth_year == 2025
    assert _refusal("001400000001", today=date(2099, 12, 31)).rule == "birth_year_future"


@pytest.mark.parametrize("value", ["003084000999", "087684000999", "001299000001"])
def test_refusals_name_the_rule_and_never_show_the_full_id(value):
    err = _refusal(value, today=date(2025, 1, 1))
    assert value not in err.detail
    assert mask_person_id(value) in err.detail
    assert err.rule in err.detail


def test_decoded_info_repr_does_not_leak_the_id():
    info = decode_person_id("087084000999")
    assert "087084000999" not in repr(info)
    assert info.masked == "087******999"


@pytest.mark.parametrize(("value", "masked"), [
    ("079084000123", "079******123"),
    (" 079084000123 ", "079******123"),
    ("123456789", "12*****89"),
    ("abc", "***"),
    ("07908400012", "***********"),
    ("", ""),
    ("x" * 500, "*" * 16),
])
def test_mask(value, masked):
    assert mask_person_id(value) == masked


def test_consistent_birth_date_and_gender_pass():
    check_person_id_consistency("087084000999", birth_date=date(1984, 3, 9), gender=Gender.MALE)
    check_person_id_consistency("087084000999", birth_date=None, gender=None)


@pytest.mark.parametrize(("birth_date", "gender", "rule"), [
    (date(1985, 3, 9), None, "birth_year_mismatch"),
    (date(2084, 3, 9), Gender.MALE, "birth_year_mismatch"),
    (None, Gender.FEMALE, "gender_mismatch"),
    (date(1984, 3, 9), Gender.FEMALE, "gender_mismatch"),
])
def test_inconsistent_birth_date_or_gender_is_refused(birth_date, gender, rule):
    with pytest.raises(InvalidValue) as err:
        check_person_id_consistency("087084000999", birth_date=birth_date, gender=gender)
    assert (err.value.code, err.value.rule) == ("ID_INVALID", rule)
    assert "087084000999" not in err.value.detail


def test_consistency_check_validates_the_id_first():
    with pytest.raises(InvalidValue) as err:
        check_person_id_consistency("087784000999", birth_date=None, gender=None)
    assert err.value.rule == "century_digit"


def test_abroad_codes_listed_in_the_data_are_accepted(monkeypatch):
    monkeypatch.setattr(person_id_module, "abroad_cccd_codes", lambda: {"999": "Registered abroad"})
    info = decode_person_id("999084000999")
    assert (info.province_code, info.province_name, info.registered_abroad) == (
        "999", "Registered abroad", True)
    assert _refusal("998084000999").rule == "province_code"


class _Party(BaseModel):
    person_id: PersonIdStr | None = None
    legacy_id: LegacyIdStr | None = None


def test_person_id_type_strips_and_keeps_the_12_digits():
    assert _Party(person_id=" 087084000999\n").person_id == "087084000999"


@pytest.mark.parametrize(("value", "rule"), [
    ("08708400099", "length_digits"), ("003084000999", "province_code"), ("087984000999", "century_digit"),
])
def test_person_id_type_reports_code_and_rule(value, rule):
    with pytest.raises(ValidationError) as err:
        _Party(person_id=value)
    cause = err.value.errors()[0]["ctx"]["error"]
    assert (cause.code, cause.rule) == ("ID_INVALID", rule)


def test_person_id_type_refuses_numbers_which_lose_leading_zeros():
    with pytest.raises(ValidationError):
        _Party.model_validate({"person_id": 87084000999})


def test_legacy_id_type_is_nine_digits():
    assert _Party(legacy_id=" 123456789 ").legacy_id == "123456789"
    for bad in ("12345678", "1234567890", "12345678x", "087084000999"):
        with pytest.raises(ValidationError) as err:
            _Party(legacy_id=bad)
        cause = err.value.errors()[0]["ctx"]["error"]
        assert (cause.code, cause.rule) == ("ID_INVALID", "legacy_length_digits")
        assert bad not in cause.detail


def test_json_schema_has_pattern_and_vietnamese_description():
    props = _Party.model_json_schema()["properties"]
    person = props["person_id"]["anyOf"][0]
    legacy = props["legacy_id"]["anyOf"][0]
    assert (person["type"], person["pattern"]) == ("string", "^[0-9]{12}$")
    assert "căn cước" in person["description"]
    assert (legacy["type"], legacy["pattern"]) == ("string", "^[0-9]{9}$")
    assert "CMND" in legacy["description"]


former_codes = st.sampled_from([f.cccd_code for f in former_provinces()])


@given(former_codes, st.integers(0, 5), st.integers(0, 99), st.integers(0, 999_999))
def test_any_well_formed_id_decodes_to_its_parts(code, century_digit, yy, serial):
    value = f"{code}{century_digit}{yy:02d}{serial:06d}"
    info = decode_person_id(value, today=FAR_FUTURE)
    assert info.province_code == code
    assert info.birth_year == 1900 + 100 * (century_digit // 2) + yy
    assert info.gender == (Gender.MALE if century_digit % 2 == 0 else Gender.FEMALE)


@given(st.from_regex(r"\A[0-9]{12}\Z"))
def test_mask_hides_the_six_middle_digits(value):
    masked = mask_person_id(value)
    assert masked[3:9] == "******" and masked[:3] + masked[9:] == value[:3] + value[9:]
