"""The court's two look-ups (court-judgments.wsdl), wire <-> canonical. Pure functions.

- GetJudgment: ``TraCuuBanAn`` (SoBanAn, MaToaAn) -> ``TraCuuBanAnPhanHoi``: the ``BanAn`` document
  (mapped by :func:`mappings.court.judgment.judgment_from`) or ``KhongTimThay`` (a clean answer: None).
  Numbers are unique per court only, so the answer must be about the very number and court asked for.
- ListEffectiveJudgments: ``DanhSachBanAnCoHieuLuc`` (TuNgay, Trang, SoBanGhiMoiTrang) ->
  ``DanhSachBanAnCoHieuLucPhanHoi``: one page of (number, court, effective date), oldest first, as
  :class:`EffectiveJudgmentRef`; the connector pages through them all.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.errors import InvalidValue
from hub.model.judgment import Judgment
from hub.model.judgment_number import JudgmentNumber
from mappings.court.judgment import (
    BAN_AN_ELEMENTS,
    NSMAP,
    invalid,
    judgment_from,
    parse_date,
    q,
    required_text,
)

# WSDL operation -> request element -> answer element
GET_JUDGMENT: Final = "GetJudgment"
LIST_EFFECTIVE: Final = "ListEffectiveJudgments"
REQUEST_ELEMENTS: Final = {GET_JUDGMENT: "TraCuuBanAn", LIST_EFFECTIVE: "DanhSachBanAnCoHieuLuc"}
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500

# The contract's patterns (SoBanAnType, MaToaAnType), checked before anything is sent.
_NUMBER: Final = re.compile(r"[0-9]{1,5}/(19|20)[0-9]{2}/(QĐ(ST|PT|GĐT|TT)-(DS|HS|HNGĐ|KDTM|LĐ|HC)"
                            r"|(DS|HS|HNGĐ|KDTM|LĐ|HC)-?(ST|PT|GĐT|TT))")
_COURT: Final = re.compile(r"TANDTC|TANDCC-(HN|DN|HCM)|TAND-[0-9]{3}(-[0-9]{2})?|TAND-[0-9]{2}(-KV[0-9]{2})?")


class EffectiveJudgmentRef(BaseModel):
    """Bản án có hiệu lực (BanAnCoHieuLuc): one line of the court's reconciliation list. ``number`` is the
    number as the court writes it (the key to ask GetJudgment with, together with ``court_code``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = Field(description="SoBanAn as written, e.g. 12/2024/DS-ST.")
    court_code: str = Field(description="MaToaAn, e.g. TAND-79-KV01.")
    effective_on: dt.date = Field(description="NgayCoHieuLuc: the day the judgment took legal effect.")

    @field_validator("number")
    @classmethod
    def _parses(cls, value: str) -> str:
        JudgmentNumber.parse(value)
        return value

    @property
    def parsed_number(self) -> JudgmentNumber:
        return JudgmentNumber.parse(self.number)


@dataclass(frozen=True)
class EffectiveJudgmentPage:
    """One page of ``DanhSachBanAnCoHieuLucPhanHoi``."""

    since: dt.date
    total: int  # TongSo: every judgment since ``since``
    page: int
    pages: int  # SoTrang
    page_size: int
    refs: tuple[EffectiveJudgmentRef, ...]


def format_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _element(local: str, **children: str | None) -> etree._Element:
    el = etree.Element(q(local), nsmap=NSMAP)
    for name, text in children.items():
        if text is not None:
            etree.SubElement(el, q(name)).text = text
    return el


# --- canonical -> wire --------------------------------------------------------------------------------
def wire_number(number: str) -> str:
    """A judgment number as the court writes it (NFC, D + stroke read as Đ), refused when the court's
    contract cannot carry it."""
    text = unicodedata.normalize("NFC", number).strip()
    try:
        text = JudgmentNumber.parse(text).format()
    except InvalidValue:
        text = ""
    if not _NUMBER.fullmatch(text):
        raise InvalidValue(f"judgment number {number!r} is not a number the court writes",
                           code="JUDGMENT_NUMBER_INVALID", rule="court_number")
    return text


def wire_court_code(court_code: str) -> str:
    text = court_code.strip().upper()
    if not _COURT.fullmatch(text):
        raise InvalidValue(f"court code {court_code!r} is not a court system code (TAND-79-KV01...)",
                           code="REQUEST_INVALID", rule="court_code")
    return text


def judgment_request(number: str, court_code: str) -> etree._Element:
    """TraCuuBanAn for the judgment ``number`` of the court ``court_code``."""
    return _element("TraCuuBanAn", SoBanAn=wire_number(number), MaToaAn=wire_court_code(court_code))


def effective_request(since: dt.date, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE) -> etree._Element:
    """DanhSachBanAnCoHieuLuc: judgments effective on or after ``since``, page ``page`` (from 1)."""
    if page < 1:
        raise InvalidValue("pages are numbered from 1", code="REQUEST_INVALID", rule="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidValue(f"a page holds 1 to {MAX_PAGE_SIZE} judgments", code="REQUEST_INVALID", rule="page_size")
    if not 1900 <= since.year <= 2099:
        raise InvalidValue("the court's dates are in 1900-2099", code="DATE_INVALID", rule="since")
    return _element("DanhSachBanAnCoHieuLuc", TuNgay=format_date(since), Trang=str(page),
                    SoBanGhiMoiTrang=str(page_size))


# --- wire -> canonical --------------------------------------------------------------------------------
def _expect_root(answer: etree._Element, local: str) -> None:
    if answer.tag != q(local):
        raise invalid(f"expected {local}, got {answer.tag}", "answer_element")


def judgment_answer_from(answer: etree._Element, number: str, court_code: str) -> Judgment | None:
    """TraCuuBanAnPhanHoi -> the Judgment, or None for KhongTimThay; about the judgment asked for only."""
    _expect_root(answer, "TraCuuBanAnPhanHoi")
    asked_number, asked_court = wire_number(number), wire_court_code(court_code)
    ban_an, missing = answer.find(q("BanAn")), answer.find(q("KhongTimThay"))
    if (ban_an is None) == (missing is None):
        raise invalid("expected exactly one of BanAn and KhongTimThay", "answer_choice")
    if missing is not None:
        required_text(missing, "ThongBao")
        if (required_text(missing, "SoBanAn"), required_text(missing, "MaToaAn")) != (asked_number, asked_court):
            raise invalid("KhongTimThay names another judgment than the one asked for", "number_echo")
        return None
    assert ban_an is not None
    judgment = judgment_from(ban_an)
    if judgment.number.format() != JudgmentNumber.parse(asked_number).format() or judgment.court.code != asked_court:
        raise invalid("the answer is about another judgment than the one asked for", "number_echo")
    return judgment


def effective_page_from(answer: etree._Element, since: dt.date, page: int, page_size: int) -> EffectiveJudgmentPage:
    """DanhSachBanAnCoHieuLucPhanHoi -> one page, checked against what was asked."""
    _expect_root(answer, "DanhSachBanAnCoHieuLucPhanHoi")
    if parse_date(required_text(answer, "TuNgay"), "TuNgay") != since:
        raise invalid("TuNgay differs from the day asked for", "since_echo")

    def count(local: str) -> int:
        value = required_text(answer, local)
        if not value.isascii() or not value.isdigit():
            raise invalid(f"{local} {value!r} is not a count", f"count_{local}")
        return int(value)

    total, got_page, pages, size = count("TongSo"), count("Trang"), count("SoTrang"), count("SoBanGhiMoiTrang")
    if got_page != page or size != page_size:
        raise invalid("Trang or SoBanGhiMoiTrang differs from the page asked for", "page_echo")
    if pages != -(-total // size):
        raise invalid(f"SoTrang {pages} does not fit TongSo {total} in pages of {size}", "page_count")
    refs = []
    for item in answer.findall(q("BanAnCoHieuLuc")):
        effective = parse_date(required_text(item, "NgayCoHieuLuc"), "NgayCoHieuLuc")
        if effective < since:
            raise invalid("a listed judgment took effect before the day asked for", "since_listed")
        try:
            refs.append(EffectiveJudgmentRef(number=required_text(item, "SoBanAn"),
                                             court_code=required_text(item, "MaToaAn"), effective_on=effective))
        except ValueError as exc:
            raise invalid(f"BanAnCoHieuLuc: {exc}", "listed_number") from None
    expected = max(0, min(size, total - (page - 1) * size))
    if len(refs) != expected:
        raise invalid(f"page {page} holds {len(refs)} judgments, expected {expected}", "page_fill")
    return EffectiveJudgmentPage(since=since, total=total, page=page, pages=pages, page_size=size, refs=tuple(refs))


# --- where each element lands (paths from the global elements; checked against the XSD by the tests) ----
LOOKUP_ELEMENTS: Final[dict[str, str]] = {
    "TraCuuBanAn/SoBanAn": "request:number (argument, as the court writes it)",
    "TraCuuBanAn/MaToaAn": "request:court_code (argument)",
    **{f"TraCuuBanAnPhanHoi/BanAn/{k}": v for k, v in BAN_AN_ELEMENTS.items()},
    "TraCuuBanAnPhanHoi/KhongTimThay/SoBanAn": "check:equals the number asked for; the answer is None",
    "TraCuuBanAnPhanHoi/KhongTimThay/MaToaAn": "check:equals the court asked for; the answer is None",
    "TraCuuBanAnPhanHoi/KhongTimThay/ThongBao": "check:present; the not-found answer is None "
                                                "(the text stays in the message log)",
    "DanhSachBanAnCoHieuLuc/TuNgay": "request:since (argument)",
    "DanhSachBanAnCoHieuLuc/Trang": "request:page (the connector pages from 1)",
    "DanhSachBanAnCoHieuLuc/SoBanGhiMoiTrang": "request:page_size (argument, default 100)",
    "DanhSachBanAnCoHieuLucPhanHoi/TuNgay": "check:equals since",
    "DanhSachBanAnCoHieuLucPhanHoi/TongSo": "check:the number of refs returned over all pages",
    "DanhSachBanAnCoHieuLucPhanHoi/Trang": "check:equals the page asked for",
    "DanhSachBanAnCoHieuLucPhanHoi/SoTrang": "check:ceil(TongSo / SoBanGhiMoiTrang); the last page to ask for",
    "DanhSachBanAnCoHieuLucPhanHoi/SoBanGhiMoiTrang": "check:equals the page size asked for",
    "DanhSachBanAnCoHieuLucPhanHoi/BanAnCoHieuLuc/SoBanAn": "ref:EffectiveJudgmentRef.number",
    "DanhSachBanAnCoHieuLucPhanHoi/BanAnCoHieuLuc/MaToaAn": "ref:EffectiveJudgmentRef.court_code",
    "DanhSachBanAnCoHieuLucPhanHoi/BanAnCoHieuLuc/NgayCoHieuLuc": "ref:EffectiveJudgmentRef.effective_on",
}

__all__ = [
    "DEFAULT_PAGE_SIZE", "GET_JUDGMENT", "LIST_EFFECTIVE", "LOOKUP_ELEMENTS", "MAX_PAGE_SIZE", "REQUEST_ELEMENTS",
    "EffectiveJudgmentPage", "EffectiveJudgmentRef", "effective_page_from", "effective_request", "format_date",
    "judgment_answer_from", "judgment_request", "wire_court_code", "wire_number",
]
