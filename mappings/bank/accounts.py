"""Bank accounts (tài khoản thanh toán), wire <-> canonical, and the banks' shared formats. Pure functions.

The interbank contract (ngan-hang.xsd) and where each ``TaiKhoan`` field lands in ``BankAccount``:

- ``MaNganHang`` of the answer -> ``bank_bin`` (checked to be the bank asked);
- ``SoTaiKhoan`` -> ``account_number`` (digits, leading zeros kept);
- ``TenChuTaiKhoan`` (upper case, no diacritics: NGUYEN VAN HOA) -> ``holder_name``, as the bank wrote it;
- the owner asked for: a personal id -> ``holder_id``; a tax code (an organisation) -> extensions ``MaSoThue``;
- ``LoaiTien`` -> ``currency``; ``SoDu`` -> ``balance_vnd`` at ``ThoiDiemSoDu`` (Viet Nam time) ->
  ``balance_at`` (UTC); ``SoTienDangPhongToa`` -> ``frozen_vnd``;
- ``TrangThai`` (HOAT_DONG / DONG: closed accounts are kept, not dropped), ``SoDuKhaDung``,
  ``NgayMoTaiKhoan`` and each freeze in force (``PhongToa/<SoQuyetDinh>/...``) -> extensions, verbatim.

This module also holds what the other bank mappings share: the namespace, element building, the banks'
date and time formats (dd/MM/yyyy, "dd/MM/yyyy HH:mm:ss" Viet Nam time), amounts (whole VND) and the
checks of the values the hub sends (decision numbers, account numbers).

An answer that breaks these rules raises ``AgencyInvalidResponse``: the connector validates answers
against the XSD first, so this is the second line, for what the schema cannot say (echoes, counts).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal

from lxml import etree
from pydantic import ValidationError

from hub.errors import AgencyInvalidResponse, InvalidValue
from hub.model.assets import BankAccount
from hub.model.names import fold_diacritics
from hub.model.person_id import decode_person_id

NS: Final = "urn:vn:napas:thads:nganhang:1"
NSMAP: Final = {"nh": NS}
# Viet Nam keeps UTC+07:00 all year: the banks' dates and times are local.
VN_TIME: Final = dt.timezone(dt.timedelta(hours=7), "ICT")

FIND_ACCOUNTS: Final = "TraCuuTaiKhoan"
ACCOUNT_STATES: Final = ("HOAT_DONG", "DONG")  # TrangThaiTaiKhoanType

OwnerKind = Literal["SoDinhDanh", "MaSoThue"]

_TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")
_ACCOUNT = re.compile(r"[0-9]{6,19}")
_BIN = re.compile(r"[0-9]{6}")
_DECISION = re.compile(r"[0-9]{1,6}/\S{1,60}")
_AMOUNT = re.compile(r"\+?[0-9]{1,19}")
_MAX_LONG = 2**63 - 1


# --- elements ----------------------------------------------------------------------------------------
def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def element(local: str, **children: str | None) -> etree._Element:
    """A bank element with text children in the order given (None leaves a child out)."""
    el = etree.Element(q(local), nsmap=NSMAP)
    for name, text in children.items():
        if text is not None:
            etree.SubElement(el, q(name)).text = text
    return el


def sub(parent: etree._Element, path: str, text: str | None = None) -> etree._Element:
    """Append the chain of children ``path`` ("CdtrAgt/FinInstnId/ClrSysMmbId/MmbId") with ``text`` at its end."""
    el = parent
    for step in path.split("/"):
        el = etree.SubElement(el, q(step))
    if text is not None:
        el.text = text
    return el


def invalid(detail: str, rule: str) -> AgencyInvalidResponse:
    return AgencyInvalidResponse(f"bank answer: {detail}", rule=rule)


def find(parent: etree._Element, path: str) -> etree._Element | None:
    return parent.find("/".join(q(step) for step in path.split("/")))


def text_of(parent: etree._Element, path: str, *, required: bool = True) -> str | None:
    """The stripped text at ``path`` (bare local names, "Rsn/Cd"); a missing required one is an invalid answer."""
    child = find(parent, path)
    value = (child.text or "").strip() if child is not None else ""
    if not value:
        if required:
            raise invalid(f"{etree.QName(parent).localname}/{path} is missing", f"missing_{path.split('/')[-1]}")
        return None
    return value


def required_text(parent: etree._Element, path: str) -> str:
    value = text_of(parent, path)
    assert value is not None  # text_of raised otherwise
    return value


def expect_root(answer: etree._Element, local: str) -> None:
    if answer.tag != q(local):
        raise invalid(f"expected {local}, got {answer.tag}", "answer_element")


# --- the banks' formats ------------------------------------------------------------------------------
def parse_date(text: str, where: str) -> dt.date:
    """dd/MM/yyyy."""
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise invalid(f"{where} {text!r} is not dd/MM/yyyy", f"date_{where}") from None


def parse_time(text: str, where: str) -> dt.datetime:
    """dd/MM/yyyy HH:mm:ss, Viet Nam time -> an aware datetime (UTC)."""
    try:
        local = dt.datetime.strptime(text, "%d/%m/%Y %H:%M:%S")
    except ValueError:
        raise invalid(f"{where} {text!r} is not dd/MM/yyyy HH:mm:ss", f"time_{where}") from None
    return local.replace(tzinfo=VN_TIME).astimezone(dt.UTC)


def parse_iso_time(text: str, where: str) -> dt.datetime:
    """ISO 8601 with an explicit offset (the ISO 20022 documents' CreDtTm) -> UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise invalid(f"{where} {text!r} is not an ISO 8601 date-time", f"time_{where}") from None
    if value.tzinfo is None:
        raise invalid(f"{where} {text!r} has no offset", f"time_{where}")
    return value.astimezone(dt.UTC)


def format_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def format_iso_time(value: dt.datetime) -> str:
    """An aware time as the ISO documents want it: local offset, whole seconds."""
    if value.tzinfo is None:
        raise InvalidValue("a message time must carry its offset", code="DATE_INVALID", rule="aware_time")
    return value.astimezone(VN_TIME).isoformat(timespec="seconds")


def parse_amount(text: str, where: str) -> int:
    """Whole VND as xs:long ("12500000"; never "12.500.000" or "12500000.00")."""
    if not _AMOUNT.fullmatch(text) or int(text) > _MAX_LONG:
        raise invalid(f"{where} {text!r} is not a whole number of VND", f"amount_{where}")
    return int(text)


def parse_count(text: str, where: str) -> int:
    if not text.isdigit():
        raise invalid(f"{where} {text!r} is not a count", f"count_{where}")
    return int(text)


def parse_bool(text: str, where: str) -> bool:
    """xs:boolean."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise invalid(f"{where} {text!r} is not a boolean", f"boolean_{where}")


def bool_text(value: bool) -> str:
    return "true" if value else "false"


def bank_name(name: str) -> str:
    """A name as the banks write it: upper case, no diacritics, single spaces (NGUYEN VAN HOA)."""
    return " ".join(fold_diacritics(name).upper().split())


# --- the values the hub sends ------------------------------------------------------------------------
def check_decision_ref(ref: str, rule: str = "decision_ref") -> str:
    """A decision (or record) number the banks accept (SoQuyetDinhType): "15/QĐ-CCTHADS", "7/BB-THADS"."""
    value = ref.strip()
    if not _DECISION.fullmatch(value):
        raise InvalidValue(f"decision number {ref!r} is not <number>/<issuer suffix> without spaces",
                           code="REQUEST_INVALID", rule=rule)
    return value


def check_account_number(number: str, rule: str = "account_number") -> str:
    """An account number as the contract carries it: 6 to 19 digits (SoTaiKhoanType)."""
    value = number.strip()
    if not _ACCOUNT.fullmatch(value):
        raise InvalidValue("an account number at a bank is 6 to 19 digits", code="REQUEST_INVALID", rule=rule)
    return value


def check_bin(bank_bin: str, rule: str = "bank_bin") -> str:
    value = bank_bin.strip()
    if not _BIN.fullmatch(value):
        raise InvalidValue(f"a bank BIN is 6 digits, got {bank_bin!r}", code="REQUEST_INVALID", rule=rule)
    return value


def check_text(value: str, limit: int, rule: str) -> str:
    """Free text of 1 to ``limit`` characters, whitespace collapsed."""
    text = " ".join(value.split())
    if not 1 <= len(text) <= limit:
        raise InvalidValue(f"{rule} must be 1 to {limit} characters", code="REQUEST_INVALID", rule=rule)
    return text


def owner_kind(owner_id: str) -> OwnerKind:
    """SoDinhDanh for a 12-digit personal id (validated), MaSoThue for a tax code; refused otherwise."""
    value = owner_id.strip()
    if _TAX_CODE.fullmatch(value):
        return "MaSoThue"
    decode_person_id(value)  # InvalidValue ID_INVALID with the rule it breaks
    return "SoDinhDanh"


# --- canonical -> wire -------------------------------------------------------------------------------
def accounts_request(owner_id: str) -> etree._Element:
    """TraCuuTaiKhoan for a person (SoDinhDanh) or an organisation (MaSoThue)."""
    value = owner_id.strip()
    return element(FIND_ACCOUNTS, **{owner_kind(value): value})


# --- wire -> canonical -------------------------------------------------------------------------------
def account_from(tai_khoan: etree._Element, bank_bin: str, owner_id: str) -> BankAccount:
    """One ``TaiKhoan`` of the owner ``owner_id`` at the bank ``bank_bin`` as a canonical ``BankAccount``."""
    owner = owner_id.strip()
    state = required_text(tai_khoan, "TrangThai")
    if state not in ACCOUNT_STATES:
        raise invalid(f"TrangThai {state!r} is not in the contract's code list", "account_state")
    extensions = {"TrangThai": state,
                  "SoDuKhaDung": str(parse_amount(required_text(tai_khoan, "SoDuKhaDung"), "SoDuKhaDung")),
                  "NgayMoTaiKhoan": required_text(tai_khoan, "NgayMoTaiKhoan")}
    parse_date(extensions["NgayMoTaiKhoan"], "NgayMoTaiKhoan")
    kind = owner_kind(owner)
    if kind == "MaSoThue":
        extensions["MaSoThue"] = owner
    for held in tai_khoan.findall(q("PhongToa")):
        decision = required_text(held, "SoQuyetDinh")
        prefix = f"PhongToa/{decision}"
        if f"{prefix}/MaGiaoDich" in extensions:
            raise invalid(f"two freezes under decision {decision} on one account", "freeze_duplicate")
        extensions[f"{prefix}/MaGiaoDich"] = required_text(held, "MaGiaoDich")
        extensions[f"{prefix}/SoTienDaPhongToa"] = str(parse_amount(required_text(held, "SoTienDaPhongToa"),
                                                                    "SoTienDaPhongToa"))
        extensions[f"{prefix}/KhanCap"] = bool_text(parse_bool(required_text(held, "KhanCap"), "KhanCap"))
        when = required_text(held, "ThoiGianThucHien")
        parse_time(when, "ThoiGianThucHien")
        extensions[f"{prefix}/ThoiGianThucHien"] = when
    try:
        return BankAccount(
            bank_bin=bank_bin,
            account_number=required_text(tai_khoan, "SoTaiKhoan"),
            holder_name=required_text(tai_khoan, "TenChuTaiKhoan"),
            holder_id=owner if kind == "SoDinhDanh" else None,
            currency=required_text(tai_khoan, "LoaiTien"),
            balance_vnd=parse_amount(required_text(tai_khoan, "SoDu"), "SoDu"),
            balance_at=parse_time(required_text(tai_khoan, "ThoiDiemSoDu"), "ThoiDiemSoDu"),
            frozen_vnd=parse_amount(required_text(tai_khoan, "SoTienDangPhongToa"), "SoTienDangPhongToa"),
            extensions=extensions,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid(f"TaiKhoan does not fit the canonical account: {where}: {first['msg']}",
                      "canonical_account") from None


def accounts_from(answer: etree._Element, owner_id: str, bank_bin: str) -> list[BankAccount]:
    """TraCuuTaiKhoanPhanHoi -> the owner's accounts at this bank (closed ones too); [] when none.
    The echoed owner, the bank and the count are checked."""
    expect_root(answer, f"{FIND_ACCOUNTS}PhanHoi")
    owner = owner_id.strip()
    kind = owner_kind(owner)
    if text_of(answer, kind, required=False) != owner:
        raise invalid("the answer is about another owner than the one asked for", "owner_echo")
    if required_text(answer, "MaNganHang") != bank_bin:
        raise invalid("the answer names another bank than the one asked", "bank_echo")
    accounts = [account_from(el, bank_bin, owner) for el in answer.findall(q("TaiKhoan"))]
    total = parse_count(required_text(answer, "TongSo"), "TongSo")
    if total != len(accounts):
        raise invalid(f"TongSo {total} but {len(accounts)} TaiKhoan", "count")
    if len({a.account_number for a in accounts}) != len(accounts):
        raise invalid("an account is listed twice", "account_duplicate")
    return accounts


# --- where each element of the contract lands (checked against the XSD by the tests) ----------------
# Kinds: "canonical:<Model.field>", "extensions:<Model>.extensions[<key>]", "request:<source>" (built from
# a canonical value or an argument), "check:<what>" (an echo or a count verified against the request),
# "error:<where>" (a refusal, carried by the typed error), "receipt:<Class.field>" (a bank receipt returned
# beside, or kept for, the canonical value), "report:<Class.field>" (the payout's status report).
TAI_KHOAN_ELEMENTS: Final[dict[str, str]] = {
    "SoTaiKhoan": "canonical:BankAccount.account_number",
    "TenChuTaiKhoan": "canonical:BankAccount.holder_name",
    "TrangThai": "extensions:BankAccount.extensions[TrangThai]",
    "LoaiTien": "canonical:BankAccount.currency",
    "SoDu": "canonical:BankAccount.balance_vnd",
    "SoTienDangPhongToa": "canonical:BankAccount.frozen_vnd",
    "SoDuKhaDung": "extensions:BankAccount.extensions[SoDuKhaDung]",
    "ThoiDiemSoDu": "canonical:BankAccount.balance_at",
    "NgayMoTaiKhoan": "extensions:BankAccount.extensions[NgayMoTaiKhoan]",
    "PhongToa/SoQuyetDinh": "extensions:BankAccount.extensions[PhongToa/<SoQuyetDinh>/...] (the key)",
    "PhongToa/MaGiaoDich": "extensions:BankAccount.extensions[PhongToa/<SoQuyetDinh>/MaGiaoDich]",
    "PhongToa/SoTienDaPhongToa": "extensions:BankAccount.extensions[PhongToa/<SoQuyetDinh>/SoTienDaPhongToa]",
    "PhongToa/KhanCap": "extensions:BankAccount.extensions[PhongToa/<SoQuyetDinh>/KhanCap]",
    "PhongToa/ThoiGianThucHien": "extensions:BankAccount.extensions[PhongToa/<SoQuyetDinh>/ThoiGianThucHien]",
}

ACCOUNT_ELEMENTS: Final[dict[str, str]] = {
    f"{FIND_ACCOUNTS}/SoDinhDanh": "request:owner_id (PersonIdStr, a person)",
    f"{FIND_ACCOUNTS}/MaSoThue": "request:owner_id (TaxCode, an organisation)",
    f"{FIND_ACCOUNTS}PhanHoi/SoDinhDanh": "canonical:BankAccount.holder_id (checked to equal the owner_id asked for)",
    f"{FIND_ACCOUNTS}PhanHoi/MaSoThue": "extensions:BankAccount.extensions[MaSoThue] (checked to equal the owner "
                                        "asked for)",
    f"{FIND_ACCOUNTS}PhanHoi/MaNganHang": "canonical:BankAccount.bank_bin (checked to be the bank asked)",
    f"{FIND_ACCOUNTS}PhanHoi/TongSo": "check:equals the number of BankAccount returned",
    **{f"{FIND_ACCOUNTS}PhanHoi/TaiKhoan/{k}": v for k, v in TAI_KHOAN_ELEMENTS.items()},
}
