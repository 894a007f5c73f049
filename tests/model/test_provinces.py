import pytest
from pydantic import BaseModel, ValidationError

from hub.errors import InvalidValue
from hub.model.names import fold_diacritics
from hub.model.provinces import (
    ProvinceCode,
    ProvinceKind,
    abroad_cccd_codes,
    current_provinces,
    former_province,
    former_provinces,
    province,
    resolve_province_name,
    successor_of,
)

# Copied from docs/DOMAIN.md, "Citizen ID" and "Provinces after 1 July 2025".
DOMAIN_FORMER = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa-Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}
DOMAIN_CURRENT = {
    "01": "Hà Nội", "04": "Cao Bằng", "08": "Tuyên Quang", "11": "Điện Biên", "12": "Lai Châu",
    "14": "Sơn La", "15": "Lào Cai", "19": "Thái Nguyên", "20": "Lạng Sơn", "22": "Quảng Ninh",
    "24": "Bắc Ninh", "25": "Phú Thọ", "31": "Hải Phòng", "33": "Hưng Yên", "37": "Ninh Bình",
    "38": "Thanh Hóa", "40": "Nghệ An", "42": "Hà Tĩnh", "44": "Quảng Trị", "46": "Huế", "48": "Đà Nẵng",
    "51": "Quảng Ngãi", "52": "Gia Lai", "56": "Khánh Hòa", "66": "Đắk Lắk", "68": "Lâm Đồng",
    "75": "Đồng Nai", "79": "Hồ Chí Minh", "80": "Tây Ninh", "82": "Đồng Tháp", "86": "Vĩnh Long",
    "91": "An Giang", "92": "Cần Thơ", "96": "Cà Mau",
}
# Resolution 202/2025/QH15: new unit -> the former units merged into it.
MERGERS = {
    "Tuyên Quang": {"Tuyên Quang", "Hà Giang"}, "Lào Cai": {"Lào Cai", "Yên Bái"},
    "Thái Nguyên": {"Thái Nguyên", "Bắc Kạn"}, "Phú Thọ": {"Phú Thọ", "Vĩnh Phúc", "Hòa Bình"},
    "Bắc Ninh": {"Bắc Ninh", "Bắc Giang"}, "Hưng Yên": {"Hưng Yên", "Thái Bình"},
    "Hải Phòng": {"Hải Phòng", "Hải Dương"}, "Ninh Bình": {"Ninh Bình", "Hà Nam", "Nam Định"},
    "Quảng Trị": {"Quảng Trị", "Quảng Bình"}, "Đà Nẵng": {"Đà Nẵng", "Quảng Nam"},
    "Quảng Ngãi": {"Quảng Ngãi", "Kon Tum"}, "Gia Lai": {"Gia Lai", "Bình Định"},
    "Khánh Hòa": {"Khánh Hòa", "Ninh Thuận"}, "Lâm Đồng": {"Lâm Đồng", "Đắk Nông", "Bình Thuận"},
    "Đắk Lắk": {"Đắk Lắk", "Phú Yên"}, "Hồ Chí Minh": {"Hồ Chí Minh", "Bình Dương", "Bà Rịa-Vũng Tàu"},
    "Đồng Nai": {"Đồng Nai", "Bình Phước"}, "Tây Ninh": {"Tây Ninh", "Long An"},
    "Cần Thơ": {"Cần Thơ", "Sóc Trăng", "Hậu Giang"}, "Vĩnh Long": {"Vĩnh Long", "Bến Tre", "Trà Vinh"},
    "Đồng Tháp": {"Đồng Tháp", "Tiền Giang"}, "Cà Mau": {"Cà Mau", "Bạc Liêu"},
    "An Giang": {"An Giang", "Kiên Giang"},
    "Hà Nội": {"Hà Nội"}, "Huế": {"Thừa Thiên Huế"}, "Lai Châu": {"Lai Châu"}, "Điện Biên": {"Điện Biên"},
    "Sơn La": {"Sơn La"}, "Lạng Sơn": {"Lạng Sơn"}, "Quảng Ninh": {"Quảng Ninh"},
    "Thanh Hóa": {"Thanh Hóa"}, "Nghệ An": {"Nghệ An"}, "Hà Tĩnh": {"Hà Tĩnh"}, "Cao Bằng": {"Cao Bằng"},
}
CITIES = {"Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ"}


def test_there_are_34_units_now_and_63_before():
    assert len(current_provinces()) == 34
    assert len(former_provinces()) == 63


def test_codes_and_names_are_those_of_domain_md():
    assert {p.code: p.name for p in current_provinces()} == DOMAIN_CURRENT
    assert {f.cccd_code: f.name for f in former_provinces()} == DOMAIN_FORMER


def test_six_cities_and_28_provinces():
    assert {p.name for p in current_provinces() if p.kind is ProvinceKind.CITY} == CITIES
    assert sum(p.kind == "province" for p in current_provinces()) == 28


def test_every_former_province_merged_into_exactly_one_current_unit():
    owners = {code: [p.code for p in current_provinces() if code in p.former_codes]
              for code in DOMAIN_FORMER}
    assert all(len(o) == 1 for o in owners.values())
    for f in former_provinces():
        assert successor_of(f.cccd_code).code == f.successor_code == owners[f.cccd_code][0]


def test_every_current_unit_has_at_least_one_former_province():
    assert all(p.former_codes for p in current_provinces())


def test_mergers_follow_resolution_202_2025():
    merged = {p.name: {former_province(c).name for c in p.former_codes} for p in current_provinces()}
    assert merged == MERGERS


def test_new_codes_are_not_derived_from_the_old_ones():
    # The new Đồng Tháp keeps the code of Tiền Giang (082), where its centre is.
    assert province("82").name == "Đồng Tháp"
    assert successor_of("087").code == successor_of("082").code == "82"
    assert province("15").name == "Lào Cai" and former_province("015").name == "Yên Bái"
    assert province("80").name == "Tây Ninh" and former_province("080").name == "Long An"


@pytest.mark.parametrize("code", ["087", "02", "99", "", "8"])
def test_unknown_current_code_is_refused(code):
    with pytest.raises(InvalidValue) as err:
        province(code)
    assert (err.value.code, err.value.rule) == ("PROVINCE_UNKNOWN", "province_code")


@pytest.mark.parametrize("code", ["003", "82", "999", "100"])
def test_unknown_former_code_is_refused(code):
    with pytest.raises(InvalidValue) as err:
        former_province(code)
    assert (err.value.code, err.value.rule) == ("PROVINCE_UNKNOWN", "former_province_code")
    with pytest.raises(InvalidValue):
        successor_of(code)


def test_no_abroad_codes_until_a_source_confirms_them():
    assert dict(abroad_cccd_codes()) == {}


@pytest.mark.parametrize(("text", "code"), [
    ("Tỉnh Tiền Giang", "82"),
    ("Bà Rịa - Vũng Tàu", "79"),
    ("Tỉnh Bà Rịa – Vũng Tàu", "79"),
    ("Thừa Thiên Huế", "46"),
    ("Thừa Thiên - Huế", "46"),
    ("Thành phố Huế", "46"),
    ("TP Hồ Chí Minh", "79"),
    ("TP. Hồ Chí Minh", "79"),
    ("tp.hcm", "79"),
    ("Thành phố Hà Nội", "01"),
    ("HA NOI", "01"),
    ("ha noi", "01"),
    ("  Đồng   Tháp ", "82"),
    ("Hoà Bình", "25"),  # old tone placement
    ("Khánh Hoà", "56"),
    ("Tỉnh Kiên Giang", "91"),
    ("Bac Kan", "19"),
    ("Quảng Nam", "48"),
    ("Đăk Nông", "68"),
])
def test_names_resolve_to_the_current_unit(text, code):
    found = resolve_province_name(text)
    assert found is not None and found.code == code


@pytest.mark.parametrize("text", ["", "Tỉnh", "Sài Gòn Mới", "Quận 1", "Hà", "Paris", "Hà Tây"])
def test_unknown_names_resolve_to_nothing(text):
    assert resolve_province_name(text) is None


def test_every_name_in_the_data_resolves_also_without_diacritics():
    for f in former_provinces():
        for text in (f.name, fold_diacritics(f.name).upper(), "Tỉnh " + f.name):
            assert resolve_province_name(text) == successor_of(f.cccd_code)
    for p in current_provinces():
        assert resolve_province_name(p.name) == p


class _Office(BaseModel):
    province_code: ProvinceCode


def test_province_code_type_accepts_the_34_codes():
    assert _Office(province_code="82").province_code == "82"
    assert _Office(province_code=" 01 ").province_code == "01"


@pytest.mark.parametrize("value", ["087", "99", "Đồng Tháp", ""])
def test_province_code_type_refuses_other_codes(value):
    with pytest.raises(ValidationError) as err:
        _Office(province_code=value)
    cause = err.value.errors()[0]["ctx"]["error"]
    assert (cause.code, cause.rule) == ("PROVINCE_UNKNOWN", "province_code")


def test_province_code_schema_lists_the_codes():
    schema = _Office.model_json_schema()["properties"]["province_code"]
    assert schema["type"] == "string"
    assert schema["enum"] == sorted(DOMAIN_CURRENT)
    assert "tỉnh" in schema["description"]
