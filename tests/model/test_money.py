from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from hub.errors import InvalidValue
from hub.model.money import Vnd, parse_vnd_text


class _Obligation(BaseModel):
    amount_vnd: Vnd


@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (1_500_000, 1_500_000), (495_000_000_000_000_000, 495_000_000_000_000_000),
    (Decimal("1500000"), 1_500_000), (Decimal("1.5E+6"), 1_500_000), (Decimal("2000.00"), 2000),
])
def test_whole_non_negative_amounts_are_accepted(value, expected):
    amount = _Obligation(amount_vnd=value).amount_vnd
    assert amount == expected and type(amount) is int


@pytest.mark.parametrize(("value", "rule"), [
    (1.0, "whole_vnd"), (1.5, "whole_vnd"), (True, "whole_vnd"), (False, "whole_vnd"),
    ("1500000", "whole_vnd"), (Decimal("1.5"), "whole_vnd"), (Decimal("NaN"), "whole_vnd"),
    (Decimal("Infinity"), "whole_vnd"), (None, "whole_vnd"), ([1], "whole_vnd"),
    (-1, "non_negative"), (Decimal("-1000"), "non_negative"),
])
def test_other_values_are_refused(value, rule):
    with pytest.raises(ValidationError) as err:
        _Obligation(amount_vnd=value)
    cause = err.value.errors()[0]["ctx"]["error"]
    assert (cause.code, cause.rule) == ("AMOUNT_INVALID", rule)


def test_a_float_on_the_wire_is_refused_even_when_whole():
    adapter = TypeAdapter(Vnd)
    assert adapter.validate_json("1500000") == 1_500_000
    for body in ("1500000.0", "1.5e6", '"1500000"', "true"):
        with pytest.raises(ValidationError) as err:
            adapter.validate_json(body)
        assert err.value.errors()[0]["ctx"]["error"].rule == "whole_vnd"


def test_refusals_do_not_repeat_the_amount():
    with pytest.raises(ValidationError) as err:
        _Obligation(amount_vnd=-1234567)
    assert "1234567" not in err.value.errors()[0]["ctx"]["error"].detail


def test_json_schema_is_a_non_negative_integer():
    schema = _Obligation.model_json_schema()["properties"]["amount_vnd"]
    assert (schema["type"], schema["minimum"]) == ("integer", 0)
    assert "đồng" in schema["description"]


@pytest.mark.parametrize(("text", "expected"), [
    ("1500000", 1_500_000), ("1.500.000", 1_500_000), ("1,500,000", 1_500_000),
    ("1 500 000", 1_500_000), ("1\u00a0500\u00a0000", 1_500_000), (" 1.500.000 VND ", 1_500_000),
    ("1.500.000đ", 1_500_000), ("1.500.000 đồng", 1_500_000), ("2.000 VNĐ", 2000), ("2.000 ₫", 2000),
    ("1.500 vnd", 1500), ("0", 0), ("999", 999), ("12.345.678.901", 12_345_678_901),
])
def test_parse_vnd_text_reads_what_agencies_write(text, expected):
    assert parse_vnd_text(text) == expected


@pytest.mark.parametrize(("text", "rule"), [
    ("", "whole_vnd"), ("  ", "whole_vnd"), ("VND", "whole_vnd"), ("1.5", "whole_vnd"),
    ("1.50.000", "whole_vnd"), ("1.500,000", "whole_vnd"), ("1.500.000,00", "whole_vnd"),
    ("1,500.50", "whole_vnd"), ("0.500", "whole_vnd"), ("1..500", "whole_vnd"), ("1.500.", "whole_vnd"),
    ("1  500", "whole_vnd"), ("+1000", "whole_vnd"), ("1000 USD", "whole_vnd"), ("một triệu", "whole_vnd"),
    ("１０００", "whole_vnd"), ("-x", "whole_vnd"),
    ("-1000", "non_negative"), ("-1.000 VND", "non_negative"), ("\u22121000", "non_negative"),
])
def test_parse_vnd_text_refuses_what_it_would_have_to_guess(text, rule):
    with pytest.raises(InvalidValue) as err:
        parse_vnd_text(text)
    assert (err.value.code, err.value.rule) == ("AMOUNT_INVALID", rule)


@given(st.integers(0, 10**15), st.sampled_from([".", ",", " ", "\u00a0", ""]),
       st.sampled_from(["", " VND", "đ", " đồng", " ₫"]))
def test_grouped_text_reads_back_the_amount(amount, separator, suffix):
    grouped = f"{amount:,}".replace(",", separator)
    assert parse_vnd_text(grouped + suffix) == amount
