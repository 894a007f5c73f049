"""The banks' mapping (one interbank contract, every BIN): ngan-hang.xsd's elements <-> the canonical model.

Pure functions only (lxml in, canonical pydantic out, and back for requests); the connector in
``connectors.bank`` does the calling, and the hub's inbound endpoint uses ``events`` for what banks push.
``ELEMENTS`` declares, for every leaf element (and attribute, ``/@name``) of ``contracts/ngan-hang.xsd``,
as a path from its global element, where it lands:

- ``canonical:<Model.field>``: a field of the canonical model;
- ``extensions:<Model>.extensions[<key>]``: kept verbatim in that model's extensions;
- ``request:<source>``: a request element, built from that canonical value or argument;
- ``check:<what>``: an echo or a count, verified against the request (a mismatch is an invalid answer);
- ``error:<where>``: a refusal, carried by the typed error;
- ``receipt:<Class.field>``: a bank receipt or event field, returned beside the canonical value;
- ``report:<Class.field>``: the payout status report (``PayoutReport`` / ``TransferOutcome``).

A test derives the element list from the XSD and fails when one is missing here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mappings.bank.accounts import (
    ACCOUNT_ELEMENTS,
    ACCOUNT_STATES,
    FIND_ACCOUNTS,
    NS,
    TAI_KHOAN_ELEMENTS,
    VN_TIME,
    account_from,
    accounts_from,
    accounts_request,
    bank_name,
    owner_kind,
)
from mappings.bank.events import (
    CREDIT_ADVICE,
    EVENT_ELEMENTS,
    EVENT_OPERATIONS,
    FREEZE_CONFIRMED,
    CreditAdvice,
    FreezeConfirmation,
    account_freeze_from,
    credit_advice_from,
    freeze_confirmation_from,
    payment_from,
    payment_id,
)
from mappings.bank.freezes import (
    FREEZE,
    FREEZE_ELEMENTS,
    REFUSAL_CODES,
    RELEASE,
    STATES,
    FreezeReceipt,
    ReleaseReceipt,
    freeze_note,
    freeze_receipt_from,
    freeze_request,
    frozen_from,
    idempotency_key,
    release_request,
    released_from,
)
from mappings.bank.payouts import (
    MAX_TRANSFERS,
    PAYOUT,
    PAYOUT_ELEMENTS,
    REASON_CODES,
    GroupStatus,
    PayoutReport,
    TransferOutcome,
    created_at_of,
    end_to_end_id,
    payout_request,
    report_from,
)

CONTRACTS: Final = Path(__file__).resolve().with_name("contracts")
WSDL: Final = CONTRACTS / "ngan-hang.wsdl"
XSD: Final = CONTRACTS / "ngan-hang.xsd"
BINDING: Final = f"{{{NS}}}NganHangThiHanhAnSoap12Binding"

ELEMENTS: Final[dict[str, str]] = {**ACCOUNT_ELEMENTS, **FREEZE_ELEMENTS, **PAYOUT_ELEMENTS, **EVENT_ELEMENTS}

__all__ = [
    "ACCOUNT_STATES", "BINDING", "CONTRACTS", "CREDIT_ADVICE", "ELEMENTS", "EVENT_OPERATIONS", "FIND_ACCOUNTS",
    "FREEZE", "FREEZE_CONFIRMED", "MAX_TRANSFERS", "NS", "PAYOUT", "REASON_CODES", "REFUSAL_CODES", "RELEASE",
    "STATES", "TAI_KHOAN_ELEMENTS", "VN_TIME", "WSDL", "XSD", "CreditAdvice", "FreezeConfirmation", "FreezeReceipt",
    "GroupStatus", "PayoutReport", "ReleaseReceipt", "TransferOutcome", "account_freeze_from", "account_from",
    "accounts_from", "accounts_request", "bank_name", "created_at_of", "credit_advice_from", "end_to_end_id",
    "freeze_confirmation_from", "freeze_note", "freeze_receipt_from", "freeze_request", "frozen_from",
    "idempotency_key", "owner_kind", "payment_from", "payment_id", "payout_request", "release_request",
    "released_from", "report_from",
]
