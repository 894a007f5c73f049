"""What a case system asks: a payout by decision, and a re-send of a round's rejected transfers."""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from hub.commands.requests import _Accountable, _distinct
from hub.errors import InvalidValue
from hub.model.assets import BankBin
from hub.model.base import CanonicalModel
from hub.model.decisions import DecisionRef
from hub.model.money import Vnd

MAX_CREDITORS = 50_000
MAX_ROUNDS = 20
# What an interbank transfer (NAPAS, the banks' pain.001) carries: account numbers of 6 to 19 digits and names
# of at most 140 characters. Checked here so that one odd creditor cannot make a bank refuse a whole batch.
TransferAccount = Annotated[str, StringConstraints(pattern=r"^[0-9]{6,19}$")]
HolderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]


class OfficeAccount(CanonicalModel):
    """The enforcement office's account (tài khoản tạm giữ) at one bank, which a batch there debits."""

    bank_bin: BankBin
    account_number: TransferAccount


class Creditor(CanonicalModel):
    """Người được thi hành án: paid by transfer to their own account."""

    name: HolderName = Field(description="The account holder's name; the bank compares it with its records.")
    bank_bin: BankBin
    account_number: TransferAccount
    claim_vnd: Vnd = Field(description="What the creditor is owed, in whole đồng: the weight of the pro rata.")

    @model_validator(mode="after")
    def _positive(self) -> Creditor:
        if self.claim_vnd < 1:
            raise InvalidValue("a creditor's claim is at least 1 đồng", code="AMOUNT_INVALID", rule="claim_amount")
        return self


class PayoutRequest(_Accountable):
    """Chi trả: pay ``total_vnd`` to the creditors pro rata to their claims, by transfer, under one decision."""

    decision: DecisionRef = Field(description="The payout decision (quyết định chi trả): the payout's key.")
    total_vnd: Vnd = Field(description="The money to pay out, at most the sum of the claims.")
    office_accounts: list[OfficeAccount] = Field(
        min_length=1, max_length=50, description="The office's account at each bank it pays from. A creditor "
        "whose bank is not listed is paid from the first one (an interbank transfer).")
    creditors: list[Creditor] = Field(min_length=1, max_length=MAX_CREDITORS,
                                      description="In the decision's order, which breaks ties of the remainder.")

    @model_validator(mode="after")
    def _consistent(self) -> PayoutRequest:
        if self.total_vnd < 1:
            raise InvalidValue("a payout pays at least 1 đồng", code="AMOUNT_INVALID", rule="payout_amount")
        if self.total_vnd > sum(c.claim_vnd for c in self.creditors):
            raise InvalidValue("a payout cannot pay more than the creditors claim", code="AMOUNT_INVALID",
                               rule="payout_exceeds_claims")
        _distinct([a.bank_bin for a in self.office_accounts], "office_bank")
        _distinct([(c.bank_bin, c.account_number) for c in self.creditors], "creditor_account")
        return self

    @property
    def natural_key(self) -> str:
        """One payout per decision of an office: the same decision asked again is the same payout."""
        return f"{self.decision.office.organ_id}|{self.decision.ref}"

    def body_hash(self) -> str:
        """What makes it the same payout: who asks and why may differ between two askings, not what is paid."""
        return hashlib.sha256(self.model_dump_json(
            include={"case_ref", "decision", "total_vnd", "office_accounts", "creditors"}).encode()).hexdigest()


class Correction(CanonicalModel):
    """The account a rejected creditor is paid to instead (the officer checked it with the creditor)."""

    position: int = Field(ge=1, le=MAX_CREDITORS, description="The creditor's number: its place in the payout.")
    bank_bin: BankBin
    account_number: TransferAccount
    name: HolderName | None = Field(None, description="The holder's name, when the bank refused the name (BE01).")


class ResendRequest(_Accountable):
    """Re-send the transfers a round left rejected, as new batches: only those, corrected where given."""

    round: int = Field(ge=1, le=MAX_ROUNDS - 1, description="The round whose rejected transfers are re-sent "
                       "(1: the payout itself). Asking again for the same round answers the same re-send.")
    corrections: list[Correction] = Field(default_factory=list, max_length=MAX_CREDITORS)

    @model_validator(mode="after")
    def _distinct_positions(self) -> ResendRequest:
        _distinct([c.position for c in self.corrections], "correction")
        return self

    def body_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json(include={"round", "corrections"}).encode()).hexdigest()

