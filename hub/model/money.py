"""Money: whole Vietnamese đồng (VND, ISO 4217 code 704, no minor unit), held as ``int``.

Amounts are financial data, which the Personal Data Protection Law treats as sensitive: refusals
name the rule, never the amount.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from hub.errors import InvalidValue

_CURRENCY_SUFFIX = re.compile(r"\s*(?:vnđ|vnd|đồng|đ|₫)\Z", re.IGNORECASE)
_PLAIN = re.compile("[0-9]+")
# Thousands grouped by one separator used throughout; a leading 0 would make "0.500" look decimal.
_GROUPED = re.compile("[1-9][0-9]{0,2}(?P<sep>[., \u00a0\u202f])[0-9]{3}(?:(?P=sep)[0-9]{3})*")
_MINUS = ("-", "\u2212")


def _refuse(rule: str, why: str) -> InvalidValue:
    return InvalidValue(f"amount breaks rule {rule}: {why}", code="AMOUNT_INVALID", rule=rule)


def _validate_vnd(value: object) -> int:
    # bool is an int subclass: True must not become 1 đồng.
    if isinstance(value, float):
        raise _refuse("whole_vnd", "got a float, so the amount was computed in floating point; "
                                   "send whole đồng as an integer")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _refuse("whole_vnd", f"expected a whole number of VND (đồng), got {type(value).__name__}")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise _refuse("whole_vnd", "VND has no minor unit: the amount must be whole đồng")
        value = int(value)
    if value < 0:
        raise _refuse("non_negative", "an amount is never negative")
    return value


def parse_vnd_text(text: str) -> int:
    """Read an amount as agencies write it: "1500000", "1.500.000", "1,500,000", "1 500 000 đ".

    A separator must group exactly three digits, so "1.5" or "1.50.000" (a decimal, a typo?) are
    refused rather than guessed.
    """
    if not isinstance(text, str):
        raise _refuse("whole_vnd", "expected text")
    body = _CURRENCY_SUFFIX.sub("", unicodedata.normalize("NFC", text).strip())
    if body.startswith(_MINUS):
        parse_vnd_text(body[1:])
        raise _refuse("non_negative", "an amount is never negative")
    if not body or not (_PLAIN.fullmatch(body) or _GROUPED.fullmatch(body)):
        raise _refuse("whole_vnd", "expected whole đồng, digits optionally grouped by 3 with . , or space")
    return int(re.sub("[^0-9]", "", body))


Vnd = Annotated[
    int,
    BeforeValidator(_validate_vnd),
    WithJsonSchema({
        "type": "integer", "minimum": 0,
        "description": "Số tiền (đồng, VND): a whole, non-negative number of đồng; VND has no minor unit.",
    }),
]
