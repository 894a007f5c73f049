"""Transfers grouped into batches: one pain.001-like message per paying bank, at most its limit each.

Everything here is a pure function of the payout's key, the round and the transfers, so planning the same
payout again (another API process racing, a request repeated) gives the same transfer ids and the same
batch ids, byte for byte the same messages: the banks, which key a payout on its MsgId, pay it once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_NAMESPACE = uuid.UUID("6f1c2b0e-4d0a-4d7e-9a63-2f3b7f1d0c55")  # payout transfer ids (uuid5)


@dataclass(frozen=True)
class Transfer:
    """One attempt to pay a creditor's share: its id is the EndToEndId the bank reports on."""

    id: uuid.UUID
    position: int
    bank_bin: str
    account_number: str
    name: str
    amount_vnd: int


@dataclass(frozen=True)
class Batch:
    batch_id: str
    paying_bin: str
    debtor_account: str
    transfers: tuple[Transfer, ...]

    @property
    def amount_vnd(self) -> int:
        return sum(t.amount_vnd for t in self.transfers)


def transfer_id(payout_key: str, position: int, round_: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{payout_key}|{position}|{round_}")


def batch_id(payout_key: str, paying_bin: str, round_: int, chunk: int) -> str:
    """``PO-<12 hex of the payout key>-<BIN>-<round>-<chunk>``: 29 characters, within MsgId's 35."""
    digest = hashlib.sha256(payout_key.encode()).hexdigest()[:12]
    return f"PO-{digest}-{paying_bin}-{round_:02d}-{chunk:03d}"


def paying_bank(creditor_bin: str, office_accounts: Mapping[str, str]) -> str:
    """The creditor's own bank when the office holds an account there (a transfer inside one bank), else the
    office's first bank (an interbank transfer through NAPAS)."""
    return creditor_bin if creditor_bin in office_accounts else next(iter(office_accounts))


def plan_batches(payout_key: str, round_: int, transfers: Sequence[Transfer], office_accounts: Mapping[str, str],
                 limits: Mapping[str, int]) -> list[Batch]:
    """Group ``transfers`` by paying bank (banks in the office's order, transfers in the creditors' order) and
    cut each group into batches of at most ``limits[bank]`` transfers."""
    groups: dict[str, list[Transfer]] = {bank: [] for bank in office_accounts}
    for transfer in sorted(transfers, key=lambda t: t.position):
        groups[paying_bank(transfer.bank_bin, office_accounts)].append(transfer)
    batches = []
    for bank, group in groups.items():
        limit = limits[bank]
        for chunk, start in enumerate(range(0, len(group), limit), start=1):
            batches.append(Batch(batch_id(payout_key, bank, round_, chunk), bank, office_accounts[bank],
                                 tuple(group[start:start + limit])))
    return batches
