"""Vietnamese personal names (họ và tên): a clean stored form and a separate comparison key.

The stored name stays as the agency wrote it (only Unicode-normalised): it goes back on documents.
Matching uses ``name_key``, which folds the differences that do not make a different name:
precomposed versus decomposed diacritics, case, spacing, and where the tone mark (dấu thanh) sits.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from hub.errors import InvalidValue

MAX_NAME_LENGTH = 200

# The five tone marks as combining characters. Vowel-shape marks (circumflex, breve, horn) belong
# to the letter and never move.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = frozenset("aăâeêioôơuưy")
_SHAPED_VOWELS = frozenset("ăâêôơư")
# Longest first, so that "ngh" wins over "ng" and "gi"/"qu" over "g"/"q".
_INITIALS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
             "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
_FINALS = frozenset({"", "c", "ch", "m", "n", "ng", "nh", "p", "t"})
# In decomposed, case-folded text: a run of Latin letters and combining marks is one syllable.
_SYLLABLE = re.compile("[a-zđ\u0300-\u036f]+")
_SYLLABLE_PARTS = re.compile("([aăâeêioôơuưy]{1,3})([a-zđ]*)")
# Ð (Icelandic eth) stands in for Đ in text converted from legacy 8-bit encodings (TCVN3, VNI), and
# Unicode gives Đ no decomposition, so NFC cannot rebuild it from d + a combining stroke overlay.
_LOOKALIKE_D = re.compile("ð|d[\u0335\u0336]")


def clean_name(s: str) -> str:
    """NFC, whitespace collapsed, invisible format characters removed; spelling and case kept."""
    text = unicodedata.normalize("NFC", s)
    # Zero-width spaces, BOMs and soft hyphens come from copy-paste; they are invisible, so two
    # names that look identical on paper would otherwise differ.
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.split())


def fold_diacritics(s: str) -> str:
    """Every diacritic stripped and đ -> d, case kept: for loose search ("Nguyen Van A")."""
    decomposed = unicodedata.normalize("NFD", s)
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", bare.replace("đ", "d").replace("Đ", "D"))


def name_key(s: str) -> str:
    """The comparison key of a name: equal keys mean the same written name.

    NFC, case-folded, single spaces, and every tone mark placed by one convention (Hòa, Thủy, Khỏe:
    the mark on the first vowel of an open oa/oe/uy), so that old- and new-style tone placement
    (Hoà/Hòa, Thuỷ/Thủy) give the same key. Names that differ by the tone itself stay different.
    """
    text = _LOOKALIKE_D.sub("đ", clean_name(s).casefold())
    text = _SYLLABLE.sub(lambda m: _place_tone(m.group()), unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", text)


def names_match(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def _place_tone(syllable: str) -> str:
    """Move the tone mark of one decomposed, lower-case syllable to its canonical vowel.

    Anything that is not a well-formed Vietnamese syllable with exactly one tone mark (a foreign
    name, a typo) is left where it is: the key must never merge two different spellings.
    """
    tones = [c for c in syllable if c in _TONE_MARKS]
    if len(tones) != 1:
        return unicodedata.normalize("NFC", syllable)
    base = unicodedata.normalize("NFC", syllable.replace(tones[0], ""))
    position = _tone_position(base)
    if position is None:
        return unicodedata.normalize("NFC", syllable)
    marked = unicodedata.normalize("NFD", base[position]) + tones[0]
    return unicodedata.normalize("NFC", base[:position] + marked + base[position + 1:])


def _tone_position(base: str) -> int | None:
    """Index in ``base`` (a precomposed syllable without its tone) of the vowel that takes the tone."""
    for initial in _INITIALS:
        # "gi" and "qu" are consonants only before another vowel: in "gìn" the i is the vowel.
        if base.startswith(initial) and base[len(initial):][:1] in _VOWELS:
            break
    else:
        return None
    parts = _SYLLABLE_PARTS.fullmatch(base, len(initial))
    if parts is None or parts.group(2) not in _FINALS:
        return None
    vowels, final = parts.groups()
    shaped = [i for i, v in enumerate(vowels) if v in _SHAPED_VOWELS]
    if shaped:
        # ươ (người) takes it on ơ; any other cluster has a single shaped vowel.
        offset = shaped[-1]
    elif final:
        offset = len(vowels) - 1  # hoàn, toán, huỳnh: the same in both conventions
    elif len(vowels) == 3:
        offset = 1  # ngoài, xoáy, khuỷu
    else:
        # Open two-vowel clusters take it on the first vowel (mía, múa, túi). For oa/oe/uy the old
        # convention put it on the second (hoà, khoẻ, thuỷ); the key uses the first (hòa, khỏe, thủy).
        offset = 0
    return len(initial) + offset


def _validate_full_name(value: str) -> str:
    cleaned = clean_name(value)
    if not cleaned:
        raise InvalidValue("full name (họ và tên) is empty", code="REQUEST_INVALID", rule="name_empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidValue(f"full name (họ và tên) is longer than {MAX_NAME_LENGTH} characters",
                           code="REQUEST_INVALID", rule="name_too_long")
    if any(unicodedata.category(c) == "Cc" for c in cleaned):
        raise InvalidValue("full name (họ và tên) contains control characters",
                           code="REQUEST_INVALID", rule="name_characters")
    return cleaned


FullName = Annotated[
    str,
    AfterValidator(_validate_full_name),
    WithJsonSchema({
        "type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH,
        "description": "Họ và tên (full name), stored as written after Unicode NFC normalisation.",
    }),
]
