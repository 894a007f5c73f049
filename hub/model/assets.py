"""Assets found during verification: land parcels (thửa đất) and bank accounts (tài khoản)."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from hub.model.base import CanonicalModel, Extensions, ShortText, UtcDatetime
from hub.model.money import Vnd
from hub.model.party import Address
from hub.model.person_id import PersonIdStr


def _normalise_serial(value: str) -> str:
    # Certificates are typed with and without the space after the two letters ("CS 123456"): one
    # stored form keeps look-ups and idempotency keys stable.
    return unicodedata.normalize("NFC", value).replace(" ", "").upper()


CertificateSerial = Annotated[
    str,
    AfterValidator(_normalise_serial),
    StringConstraints(pattern=r"^[A-ZĐ]{2}\s?\d{6,8}$"),
    Field(description="Số phát hành giấy chứng nhận: two letters and 6 to 8 digits (stored without space)."),
]

BankBin = Annotated[str, StringConstraints(pattern=r"^\d{6}$"), Field(
    description="NAPAS/VietQR bank identification number, e.g. 970436 (Vietcombank).")]

AccountNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{5,24}$"), Field(
    description="Số tài khoản as the bank writes it.")]


class EncumbranceKind(StrEnum):
    MORTGAGE = "mortgage"  # thế chấp
    TRANSFER_RESTRICTION = "transfer_restriction"  # tạm dừng đăng ký, chuyển nhượng
    SEIZURE = "seizure"  # kê biên
    OTHER = "other"


class Encumbrance(CanonicalModel):
    kind: EncumbranceKind
    reference: ShortText = Field(description="The decision or contract that created it.")
    registered_on: date | None = None
    holder: ShortText | None = None


class LandParcel(CanonicalModel):
    """Thửa đất: identified by certificate serial, or by parcel number + map sheet within a commune."""

    certificate_serial: CertificateSerial
    parcel_number: int = Field(ge=1, description="Thửa đất số.")
    map_sheet: int = Field(ge=1, description="Tờ bản đồ số.")
    address: Address
    area_m2: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="Diện tích (m²).")
    land_use: ShortText | None = Field(None, description="Mục đích sử dụng, as the registry codes it.")
    owner_ids: list[PersonIdStr] = Field(default_factory=list)
    encumbrances: list[Encumbrance] = Field(default_factory=list)
    extensions: Extensions = Field(default_factory=dict)


class BankAccount(CanonicalModel):
    """Tài khoản thanh toán of a judgment debtor, as a bank reported it at ``balance_at``."""

    bank_bin: BankBin
    account_number: AccountNumber
    holder_name: ShortText
    holder_id: PersonIdStr | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "VND"
    balance_vnd: Vnd | None = None
    balance_at: UtcDatetime | None = None
    frozen_vnd: Vnd = Field(0, description="Amount already frozen (phong tỏa) on the account.")
    extensions: Extensions = Field(default_factory=dict)
