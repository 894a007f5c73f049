"""Batches: one per paying bank and at most its limit, ids that come out the same every time."""

from __future__ import annotations

from hub.payouts.batches import Transfer, batch_id, plan_batches, transfer_id

KEY = "G12.HCM.079|88/QĐ-CTHADS"
OFFICE = {"970436": "0071000868686", "970418": "1200000000001"}


def _transfers(banks: list[str]) -> list[Transfer]:
    return [Transfer(transfer_id(KEY, n, 1), n, bank, f"{n:013d}", f"NGUYEN VAN {n}", 1000 + n)
            for n, bank in enumerate(banks, start=1)]


def test_twelve_thousand_transfers_at_one_bank_are_three_messages_of_at_most_five_thousand() -> None:
    transfers = _transfers(["970436"] * 12_001)
    batches = plan_batches(KEY, 1, transfers, OFFICE, {"970436": 5000, "970418": 5000})
    assert [len(b.transfers) for b in batches] == [5000, 5000, 2001]
    assert [t.position for b in batches for t in b.transfers] == list(range(1, 12_002))
    assert {b.debtor_account for b in batches} == {"0071000868686"}
    assert len({b.batch_id for b in batches}) == 3 and all(len(b.batch_id) <= 35 for b in batches)


def test_planning_again_gives_the_same_ids_and_another_round_gives_new_ones() -> None:
    transfers = _transfers(["970436", "970418", "970405"] * 10)
    first = plan_batches(KEY, 1, transfers, OFFICE, {"970436": 7, "970418": 7})
    again = plan_batches(KEY, 1, list(reversed(transfers)), OFFICE, {"970436": 7, "970418": 7})
    assert first == again
    assert transfer_id(KEY, 3, 1) == transfer_id(KEY, 3, 1) != transfer_id(KEY, 3, 2)
    assert batch_id(KEY, "970436", 1, 1) != batch_id(KEY, "970436", 2, 1) != batch_id("other|1/QĐ", "970436", 1, 1)


def test_a_creditor_at_a_bank_where_the_office_has_no_account_is_paid_from_the_first_office_bank() -> None:
    batches = plan_batches(KEY, 1, _transfers(["970405", "970418", "970436"]), OFFICE, {"970436": 10, "970418": 10})
    by_bank = {b.paying_bin: [t.bank_bin for t in b.transfers] for b in batches}
    assert by_bank == {"970436": ["970405", "970436"], "970418": ["970418"]}
