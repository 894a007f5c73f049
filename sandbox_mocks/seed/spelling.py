"""Spelling rules the mocks need to compare Vietnamese text: a small, self-contained normaliser.

The mocks may not import the hub, and a real agency has its own matching rules anyway. Two
differences never make a different name here: precomposed versus decomposed diacritics, and the old
versus new tone placement on an open ``oa``/``oe``/``uy`` (Hoà / Hòa, Thuỷ / Thủy, Khoẻ / Khỏe).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

ToneStyle = Literal["new", "old"]

# The five tone marks as combining characters; shape marks (circumflex, breve, horn) never move.
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
# A syllable in decomposed text: letters with their combining marks.
_SYLLABLE = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")
# The only syllables whose tone placement differs between the conventions: an initial (never "qu",
# whose u is a consonant: quý has one spelling) followed by an open oa, oe or uy with no final.
_OPEN_PAIR = re.compile(r"(ch|gh|kh|ng|nh|ph|th|tr|[bcdđghklmnprstvx]?)(oa|oe|uy)")
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def respell(text: str, style: ToneStyle) -> str:
    """``text`` in NFC with every movable tone mark put where ``style`` puts it.

    New style (the key style, as in the 2018 textbooks): on the first vowel, Hòa, Thủy. Old style:
    on the second, Hoà, Thuỷ.
    """
    return nfc(_SYLLABLE.sub(lambda m: _place(m.group(), style), unicodedata.normalize("NFD", text)))


def other_tone_placement(text: str) -> str:
    """``text`` with each movable tone mark moved to the other convention (Hòa -> Hoà, Thuỷ -> Thủy)."""
    return nfc(_SYLLABLE.sub(lambda m: _place(m.group(), None), unicodedata.normalize("NFD", text)))


def has_tone_variant(text: str) -> bool:
    """Whether ``text`` has a syllable that the two conventions spell differently."""
    return other_tone_placement(text) != nfc(text)


def name_key(text: str) -> str:
    """Comparison key: NFC, case-folded, single spaces, new tone placement. Equal keys, same name."""
    return respell(_SPACES.sub(" ", nfc(text).casefold()).strip(), "new")


def fold(text: str) -> str:
    """Every diacritic stripped, đ -> d, case-folded, single spaces: for accent-insensitive search."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold()).strip()


def upper_ascii(text: str) -> str:
    """How banks write a holder's name: upper case, no diacritics (NGUYEN VAN HOA)."""
    return fold(text).upper()


def format_vnd(amount: int) -> str:
    """350000000 -> "350.000.000": the Vietnamese thousands separator is a dot."""
    return f"{amount:,}".replace(",", ".")


def _place(syllable: str, style: ToneStyle | None) -> str:
    """Move the tone of one decomposed syllable; ``style`` None flips it to the other convention."""
    tones = [c for c in syllable if c in _TONES]
    if len(tones) != 1:
        return syllable
    bare = syllable.replace(tones[0], "")
    match = _OPEN_PAIR.fullmatch(bare.lower())
    if match is None:
        return syllable
    first = len(match.group(1))  # index of o/u; the second vowel follows it
    now_first = syllable.index(tones[0]) == first + 1
    on_first = not now_first if style is None else style == "new"
    at = first if on_first else first + 1
    return bare[:at + 1] + tones[0] + bare[at + 1:]
