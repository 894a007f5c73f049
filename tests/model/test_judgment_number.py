import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hub.errors import InvalidValue
from hub.model.judgment_number import CaseType, Instance, JudgmentNumber


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


@pytest.mark.parametrize(("text", "seq", "year", "case_type", "instance", "kind", "legacy"), [
    ("01/2022/LĐ-ST", 1, 2022, CaseType.LD, Instance.ST, "judgment", False),
    ("759/2017/LĐ-PT", 759, 2017, CaseType.LD, Instance.PT, "judgment", False),
    ("12/2024/DS-ST", 12, 2024, CaseType.DS, Instance.ST, "judgment", False),
    ("21/2014/HSST", 21, 2014, CaseType.HS, Instance.ST, "judgment", True),
    ("3/2013/HNGĐPT", 3, 2013, CaseType.HNGD, Instance.PT, "judgment", True),
    ("7/2012/KDTMGĐT", 7, 2012, CaseType.KDTM, Instance.GDT, "judgment", True),
    ("1750/2017/QĐPT-LĐ", 1750, 2017, CaseType.LD, Instance.PT, "decision", False),
    ("45/2021/QĐST-HNGĐ", 45, 2021, CaseType.HNGD, Instance.ST, "decision", False),
    ("08/2020/KDTM-GĐT", 8, 2020, CaseType.KDTM, Instance.GDT, "judgment", False),
    ("2/2019/HC-TT", 2, 2019, CaseType.HC, Instance.TT, "judgment", False),
])
def test_parse_real_numbers(text, seq, year, case_type, instance, kind, legacy):
    number = JudgmentNumber.parse(text)
    assert (number.seq, number.year, number.case_type, number.instance, number.kind, number.legacy) == (
        seq, year, case_type, instance, kind, legacy)
    assert number.format() == str(number) == number.text == text


def test_zero_padding_of_the_sequence_is_kept():
    number = JudgmentNumber.parse("01/2022/LĐ-ST")
    assert number.seq_width == 2 and number.format() == "01/2022/LĐ-ST"
    assert JudgmentNumber.parse("1/2022/LĐ-ST").format() == "1/2022/LĐ-ST"
    assert JudgmentNumber.parse("1/2022/LĐ-ST") != number


def test_surrounding_spaces_are_ignored():
    assert JudgmentNumber.parse("  01/2022/LĐ-ST\n").format() == "01/2022/LĐ-ST"


def test_decomposed_d_with_stroke_is_read_as_d_with_stroke():
    # Đ has no Unicode decomposition, so NFD leaves it alone; the decomposed spelling people
    # produce is D + a combining stroke overlay, which NFC does not recompose.
    assert nfd("LĐ") == "LĐ"
    for stroke in ("\u0335", "\u0336"):
        number = JudgmentNumber.parse(f"1750/2017/QD{stroke}PT-LD{stroke}")
        assert (number.kind, number.case_type, number.format()) == ("decision", CaseType.LD, "1750/2017/QĐPT-LĐ")


def _refusal(text) -> InvalidValue:
    with pytest.raises(InvalidValue) as err:
        JudgmentNumber.parse(text)
    assert err.value.code == "JUDGMENT_NUMBER_INVALID"
    return err.value


@pytest.mark.parametrize(("text", "rule"), [
    ("", "pattern"), ("abc", "pattern"), ("1/2022", "pattern"), ("1/2022/", "pattern"),
    ("1-2022-DS-ST", "pattern"), ("1 /2022/DS-ST", "pattern"), ("1/2022/DS ST", "pattern"),
    ("1/2022/DS-ST/x", "pattern"), ("Số 1/2022/DS-ST", "pattern"), ("1/2020/QĐST", "pattern"),
    ("1/2022/DS-ST" + "0" * 60, "pattern"), (None, "pattern"), (12, "pattern"),
    ("1/1944/DS-ST", "year"), ("1/2101/DS-ST", "year"), ("1/22/DS-ST", "year"), ("1/02022/DS-ST", "year"),
    ("0/2022/DS-ST", "seq"), ("000/2022/DS-ST", "seq"),
    ("1/2022/XX-ST", "case_type"), ("1/2022/XXST", "case_type"), ("1/2022/ds-st", "case_type"),
    ("1/2022/LD-ST", "case_type"), ("1/2022/HNGD-ST", "case_type"),  # D is not Đ
    ("1/2022/QDPT-LĐ", "case_type"), ("1/2022/QĐPT-LD", "case_type"),
    ("1/2022/DS-XX", "instance"), ("1/2022/DSXX", "instance"), ("1/2022/DS-GDT", "instance"),
    ("1/2022/QĐXX-DS", "instance"), ("1/2022/DS-ST-PT", "instance"),
])
def test_bad_numbers_are_refused_with_their_rule(text, rule):
    assert _refusal(text).rule == rule


class _Judgment(BaseModel):
    number: JudgmentNumber


def test_a_field_accepts_the_written_number():
    assert _Judgment(number=nfd("1750/2017/QĐPT-LĐ")).number == JudgmentNumber.parse("1750/2017/QĐPT-LĐ")
    assert _Judgment.model_validate_json('{"number": "21/2014/HSST"}').number.legacy


def test_a_field_reports_code_and_rule():
    with pytest.raises(ValidationError) as err:
        _Judgment(number="1/2022/DS-XX")
    cause = err.value.errors()[0]["ctx"]["error"]
    assert (cause.code, cause.rule) == ("JUDGMENT_NUMBER_INVALID", "instance")


def test_serialisation_carries_the_text_and_reads_back():
    judgment = _Judgment(number="01/2022/LĐ-ST")
    dumped = judgment.model_dump(mode="json")
    assert dumped["number"]["text"] == "01/2022/LĐ-ST"
    assert dumped["number"]["case_type"] == "LĐ"
    assert _Judgment.model_validate(dumped) == judgment
    assert _Judgment.model_validate_json(judgment.model_dump_json()) == judgment


def test_components_build_the_same_number():
    built = JudgmentNumber(seq=1750, year=2017, case_type=CaseType.LD, instance=Instance.PT, kind="decision")
    assert built == JudgmentNumber.parse("1750/2017/QĐPT-LĐ")
    # A width the sequence fills anyway is no padding.
    assert JudgmentNumber(seq=10, year=2020, case_type="DS", instance="ST", seq_width=2) == \
        JudgmentNumber.parse("10/2020/DS-ST")


@pytest.mark.parametrize(("fields", "rule"), [
    ({"seq": 0}, "seq"), ({"year": 1900}, "year"), ({"kind": "decision", "legacy": True}, "pattern"),
])
def test_components_are_checked_too(fields, rule):
    with pytest.raises(ValidationError) as err:
        JudgmentNumber(**{"seq": 1, "year": 2020, "case_type": "DS", "instance": "ST", **fields})
    assert err.value.errors()[0]["ctx"]["error"].rule == rule


def test_numbers_are_frozen_values():
    number = JudgmentNumber.parse("12/2024/DS-ST")
    with pytest.raises(ValidationError):
        number.seq = 13  # type: ignore[misc]
    assert len({number, JudgmentNumber.parse("12/2024/DS-ST")}) == 1


def test_json_schema_accepts_the_text_form():
    schema = _Judgment.model_json_schema()["$defs"]["JudgmentNumber"]
    text_form = next(s for s in schema["anyOf"] if s.get("type") == "string")
    for text in ("01/2022/LĐ-ST", "21/2014/HSST", "1750/2017/QĐPT-LĐ"):
        assert re.fullmatch(text_form["pattern"].strip("^$"), text)
    output = _Judgment.model_json_schema(mode="serialization")["$defs"]["JudgmentNumber"]
    assert "text" in output["properties"]


case_types = st.sampled_from(list(CaseType))
instances = st.sampled_from(list(Instance))


@st.composite
def components(draw):
    seq = draw(st.integers(1, 99_999))
    padding = draw(st.integers(0, 3))
    kind = draw(st.sampled_from(["judgment", "decision"]))
    return JudgmentNumber(
        seq=seq, year=draw(st.integers(1945, 2100)), case_type=draw(case_types), instance=draw(instances),
        kind=kind, legacy=kind == "judgment" and draw(st.booleans()),
        seq_width=len(str(seq)) + padding if padding else 0)


@given(components())
def test_format_then_parse_gives_the_same_number(number):
    assert JudgmentNumber.parse(number.format()) == number


@given(st.integers(1, 99_999), st.integers(0, 3), st.integers(1945, 2100), case_types, instances,
       st.sampled_from(["judgment", "legacy", "decision"]), st.booleans(), st.sampled_from(["", " ", "\t "]))
def test_parse_then_format_gives_the_nfc_input(seq, zeros, year, case_type, instance, form, decompose, pad):
    notation = {"judgment": f"{case_type}-{instance}", "legacy": f"{case_type}{instance}",
                "decision": f"QĐ{instance}-{case_type}"}[form]
    canonical = f"{'0' * zeros}{seq}/{year}/{notation}"
    written = pad + (nfd(canonical).replace("Đ", "D\u0335") if decompose else canonical) + pad
    assert JudgmentNumber.parse(written).format() == unicodedata.normalize("NFC", canonical)
