import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hub.model.names import FullName, clean_name, fold_diacritics, name_key, names_match


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def test_clean_name_normalises_without_respelling():
    assert clean_name("  Nguyễn   Văn\tAn \n") == "Nguyễn Văn An"
    assert clean_name(nfd("Trần Thị Thuỷ")) == "Trần Thị Thuỷ"  # NFC, old tone placement kept
    assert clean_name("LÊ thị HOÀ") == "LÊ thị HOÀ"
    assert clean_name("\ufeffPhạm\u200b Minh") == "Phạm Minh"


@pytest.mark.parametrize(("a", "b"), [
    ("Hoà", "Hòa"), ("Thuỷ", "Thủy"), ("Khoẻ", "Khỏe"), ("Hoạ", "Họa"), ("Tuỵ", "Tụy"),
    ("Uỷ", "Ủy"), ("Loã", "Lõa"), ("Xoè", "Xòe"),
    ("Nguyễn Thị Thuỷ", "Nguyễn Thị Thủy"),
    ("Trần Văn Hoà", nfd("Trần Văn Hòa")),
    ("  Lê   Thị  Hoa ", "Lê Thị Hoa"),
    ("NGUYỄN VĂN AN", "nguyễn văn an"),
    ("ĐẶNG THUỲ DUNG", "Đặng Thùy Dung"),
    ("Ðặng Văn Ba", "Đặng Văn Ba"),  # Ð (eth) from legacy-encoding conversions
    ("D\u0335ặng Văn Ba", "Đặng Văn Ba"),  # D + combining stroke: NFC does not make it Đ
    # Misplaced marks are the same written name: ngòai, qúy, ngừơi.
    ("Ngòai", "Ngoài"), ("Qúy", "Quý"), ("Ngừơi", "Người"),
])
def test_same_name_gives_same_key(a, b):
    assert name_key(a) == name_key(b)
    assert names_match(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("Hòa", "Hóa"), ("Thủy", "Thụy"), ("Hoà", "Hoa"), ("Lan", "Lân"), ("Nguyễn Văn A", "Nguyễn Văn B"),
    ("Đức", "Dức"), ("Hoàn", "Hoán"),
])
def test_different_names_give_different_keys(a, b):
    assert name_key(a) != name_key(b)
    assert not names_match(a, b)


@pytest.mark.parametrize(("name", "key"), [
    ("Thuỷ", "thủy"), ("Khoẻ", "khỏe"), ("HOÀ", "hòa"),
    # Closed syllables and other clusters are spelt one way in both conventions.
    ("Hoàng", "hoàng"), ("Toán", "toán"), ("Huỳnh", "huỳnh"), ("Quỳnh", "quỳnh"), ("Thuyền", "thuyền"),
    ("Ngoài", "ngoài"), ("Khuỷu", "khuỷu"), ("Mía", "mía"), ("Múa", "múa"), ("Quà", "quà"),
    ("Già", "già"), ("Gìn", "gìn"), ("Giữ", "giữ"), ("Người", "người"), ("Ước", "ước"),
    # Not Vietnamese syllables: left as they are.
    ("José", "josé"), ("Smith", "smith"), ("Hoàx", "hoàx"),
])
def test_key_uses_one_tone_placement(name, key):
    assert name_key(name) == key


def test_fold_diacritics_strips_every_mark():
    assert fold_diacritics("Đặng Thị Thuỷ") == "Dang Thi Thuy"
    assert fold_diacritics(nfd("Nguyễn Ngọc Ánh")) == "Nguyen Ngoc Anh"
    assert fold_diacritics("Ưng Hoàng Phúc") == "Ung Hoang Phuc"


class _Person(BaseModel):
    full_name: FullName


def test_full_name_is_cleaned_and_kept_as_written():
    assert _Person(full_name=nfd("  Trần   Thị Thuỷ ")).full_name == "Trần Thị Thuỷ"
    assert _Person(full_name="A" * 200).full_name == "A" * 200


@pytest.mark.parametrize(("value", "rule"), [
    ("", "name_empty"), (" \t\n", "name_empty"), ("\u200b", "name_empty"),
    ("A" * 201, "name_too_long"), ("Lê\x00Văn", "name_characters"),
])
def test_full_name_refusals(value, rule):
    with pytest.raises(ValidationError) as err:
        _Person(full_name=value)
    cause = err.value.errors()[0]["ctx"]["error"]
    assert (cause.code, cause.rule) == ("REQUEST_INVALID", rule)


def test_full_name_schema():
    schema = _Person.model_json_schema()["properties"]["full_name"]
    assert (schema["type"], schema["minLength"], schema["maxLength"]) == ("string", 1, 200)
    assert "Họ và tên" in schema["description"]


# Syllables without tone, and where each convention puts the tone: (base, new, old). Only the open
# oa/oe/uy rhymes differ between conventions.
SYLLABLES = [
    ("hoa", 1, 2), ("thuy", 2, 3), ("khoe", 2, 3), ("tuy", 1, 2), ("loa", 1, 2), ("uy", 0, 1),
    ("hoan", 2, 2), ("nguyên", 4, 4), ("văn", 1, 1), ("thi", 2, 2), ("lan", 1, 1), ("hương", 3, 3),
    ("minh", 1, 1), ("quy", 2, 2), ("ngoai", 3, 3), ("đưc", 1, 1), ("anh", 0, 0), ("giang", 2, 2),
    ("mai", 1, 1), ("tuân", 2, 2), ("quynh", 2, 2), ("thuyên", 4, 4), ("ngươi", 4, 4), ("mua", 1, 1),
]
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]


def render(base: str, pos: int, tone: str, decomposed: bool) -> str:
    text = base[:pos] + unicodedata.normalize("NFD", base[pos]) + tone + base[pos + 1:]
    return unicodedata.normalize("NFD" if decomposed else "NFC", text)


syllable_choice = st.tuples(st.sampled_from(SYLLABLES), st.sampled_from(TONES))
names = st.lists(syllable_choice, min_size=1, max_size=4)


@given(names, st.lists(st.booleans(), min_size=8, max_size=8), st.booleans(), st.booleans())
def test_key_ignores_tone_placement_normalisation_case_and_spacing(parts, old_style, decomposed, upper):
    canonical = " ".join(render(b, new, t, False) for (b, new, _), t in parts)
    variant = "  ".join(render(b, old if o else new, t, decomposed)
                        for ((b, new, old), t), o in zip(parts, old_style, strict=False))
    variant = f" {variant.upper() if upper else variant.title()}\t"
    assert name_key(variant) == name_key(canonical)


@given(names, names)
def test_key_distinguishes_a_real_tone_difference(a, b):
    def text(parts):
        return " ".join(render(base, new, t, False) for (base, new, _), t in parts)
    assert (name_key(text(a)) == name_key(text(b))) == ([(s[0], t) for s, t in a] == [(s[0], t) for s, t in b])


@given(st.text())
def test_key_is_idempotent(s):
    assert name_key(name_key(s)) == name_key(s)


@given(st.text())
def test_key_is_invariant_under_nfc_and_nfd(s):
    assert name_key(unicodedata.normalize("NFD", s)) == name_key(unicodedata.normalize("NFC", s))


@given(st.lists(st.text(alphabet=st.characters(categories=["L", "M"]), min_size=1), min_size=1),
       st.lists(st.sampled_from([" ", "  ", "\t", "\u00a0", "\n"]), min_size=1))
def test_key_is_invariant_under_whitespace(words, spaces):
    spaced = "".join(w + spaces[i % len(spaces)] for i, w in enumerate(words))
    assert name_key(" " + spaced) == name_key(" ".join(words))
