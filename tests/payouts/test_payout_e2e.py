"""A payout of 5,000 creditors across the sandbox's three banks, carried by a real `thads-hub worker`: every
creditor accounted for, the sums exact to the đồng, the rejected transfers re-sent once after the officer's
corrections, and a repeated request paying nobody twice (the banks' own records say so)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.payouts.shares import pro_rata
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT
from sandbox_mocks.config import SANDBOX_BANK_BINS
from sandbox_mocks.seed.records import Account
from tests.commands.conftest import OFFICE, accountable
from tests.notifications.rig import OutboundRig, make_outbound_rig

SEED, CITIZENS, CREDITORS = 43, 6000, 5000
CASE = "THADS-79-2026-0777"
BANKS = [f"bank-{b}" for b in SANDBOX_BANK_BINS]
REJECTED = {"AC04": 20, "AC01": 15, "BE01": 15}  # closed accounts, no such account, a name not the holder's


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[OutboundRig]:
    tmp = tmp_path_factory.mktemp("payouts")
    with make_outbound_rig(tmp, f"sqlite:///{tmp / 'hub.db'}", redis_prefix, seed=SEED, citizens=CITIZENS) as made, \
            made.workers("payout-w1", "payout-w2"):
        yield made


@pytest.fixture(scope="module")
def accounts(rig: OutboundRig) -> Iterator[Account]:
    """Active accounts, each used once in the module."""
    return iter([a for a in rig.world.accounts if a.status == "active"])


def _creditor(account: Account, claim: int, **overrides: Any) -> dict[str, Any]:
    return {"name": account.holder_name, "bank_bin": account.bank_bin, "account_number": account.account_number,
            "claim_vnd": claim, **overrides}


def _decision(number: str) -> dict[str, Any]:
    return {"number": number, "notation": "QĐ-CTHADS", "issued_on": "2026-11-20", "office": OFFICE}


def _body(number: str, creditors: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {**accountable(CASE), "decision": _decision(number), "total_vnd": total, "creditors": creditors,
            "office_accounts": [{"bank_bin": b, "account_number": DEFAULT_OFFICE_ACCOUNT} for b in SANDBOX_BANK_BINS]}


def _settled_effects(rig: OutboundRig) -> list[dict[str, Any]]:
    return [e for bank in BANKS for e in rig.effects(bank, "payout_batch")]


def _finished(rig: OutboundRig, payout_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        view: dict[str, Any] = rig.get(f"/v1/payouts/{payout_id}")
        return view if view["status"] != "paying" else None
    # Each look computes 5,000 creditors' outcomes in the process that also runs the sandbox's banks: seldom.
    found: dict[str, Any] = rig.wait_for("payout reported", check, 120, every_s=1.0)
    return found


def test_five_thousand_creditors_paid_to_the_dong_rejections_resent_once_and_nobody_paid_twice(
        rig: OutboundRig, accounts: Iterator[Account]) -> None:
    rng = random.Random(SEED)
    closed = iter([a for a in rig.world.accounts if a.status == "closed"])
    bad: list[tuple[int, str]] = []  # (position, expected reason)
    creditors = []
    for position in range(1, CREDITORS + 1):
        claim = rng.randrange(1_000_000, 500_000_000)
        if position % 100 == 7 and len(bad) < sum(REJECTED.values()):
            reason = next(r for r, n in REJECTED.items() if Counter(x for _, x in bad)[r] < n)
            if reason == "AC04":
                creditors.append(_creditor(next(closed), claim))
            elif reason == "AC01":
                creditors.append(_creditor(next(accounts), claim, account_number=f"99{position:011d}"))
            else:
                creditors.append(_creditor(next(accounts), claim, name="TRAN THI KHONG PHAI CHU"))
            bad.append((position, reason))
        else:
            creditors.append(_creditor(next(accounts), claim))
    claims = sum(c["claim_vnd"] for c in creditors)
    total = claims * 7 // 10 + 12_345  # not a round share of anything: the remainder rule is exercised
    body = _body("4711", creditors, total)

    accepted = httpx.post(f"{rig.url}/v1/payouts", json=body, headers=rig.auth, timeout=60)
    assert accepted.status_code == 202, accepted.text
    payout = accepted.json()
    assert payout["total_vnd"] == total and payout["claims_vnd"] == claims and payout["rounds"] == 1
    assert sorted(b["bank_bin"] for b in payout["batches"]) == sorted(SANDBOX_BANK_BINS)  # one batch per bank

    view = _finished(rig, payout["id"])
    assert view["status"] == "awaiting_correction"
    assert {r["position"]: r["reason_code"] for r in view["rejected"]} == dict(bad)
    page = rig.get(f"/v1/payouts/{payout['id']}/creditors", limit=10_000)
    shares = pro_rata(total, [c["claim_vnd"] for c in creditors])
    assert page["total"] == CREDITORS
    assert [c["position"] for c in page["creditors"]] == list(range(1, CREDITORS + 1))  # everyone accounted for
    assert [c["share_vnd"] for c in page["creditors"]] == shares and sum(shares) == total
    assert Counter(c["status"] for c in page["creditors"]) == {"settled": CREDITORS - len(bad), "rejected": len(bad)}
    totals = view["totals"]
    assert totals["settled_vnd"] + totals["rejected_vnd"] == total and totals["pending"] == 0

    first = _settled_effects(rig)
    assert len(first) == 3 and sum(e["transfers"] for e in first) == CREDITORS
    assert sum(e["settled_vnd"] for e in first) == totals["settled_vnd"]  # what the banks paid, to the đồng

    # the same request again: the same payout, nothing staged, nothing paid
    again = httpx.post(f"{rig.url}/v1/payouts", json=body, headers=rig.auth, timeout=60)
    assert again.status_code == 202 and again.json()["id"] == payout["id"]
    assert [b["batch_id"] for b in again.json()["batches"]] == [b["batch_id"] for b in view["batches"]]

    # the officer corrects the rejected creditors' accounts; only those are sent again, as new batches
    fixes = []
    for position, _ in bad:
        account = next(accounts)
        fixes.append({"position": position, "bank_bin": account.bank_bin, "account_number": account.account_number,
                      "name": account.holder_name})
    resend = {**accountable(CASE), "round": 1, "corrections": fixes}
    r = httpx.post(f"{rig.url}/v1/payouts/{payout['id']}/resends", json=resend, headers=rig.auth, timeout=60)
    assert r.status_code == 202, r.text
    view = _finished(rig, payout["id"])
    assert view["status"] == "paid" and view["rounds"] == 2 and view["rejected"] == []
    round_two = [b for b in view["batches"] if b["round"] == 2]
    assert sum(b["transfers"] for b in round_two) == len(bad)
    assert not {b["batch_id"] for b in round_two} & {b["batch_id"] for b in view["batches"] if b["round"] == 1}
    assert view["totals"]["settled_vnd"] == total and view["totals"]["settled"] == CREDITORS

    # asked again, the re-send and the payout change nothing at the banks
    assert httpx.post(f"{rig.url}/v1/payouts/{payout['id']}/resends", json=resend, headers=rig.auth,
                      timeout=60).status_code == 202
    assert httpx.post(f"{rig.url}/v1/payouts", json=body, headers=rig.auth, timeout=60).status_code == 202
    every = _settled_effects(rig)
    assert len({e["msg_id"] for e in every}) == len(every) == 3 + len(round_two)
    assert sum(e["settled"] for e in every) == CREDITORS  # each creditor paid exactly once
    assert sum(e["settled_vnd"] for e in every) == total
    assert {e["case_ref"] for e in every} == {CASE}


def test_the_same_decision_with_other_content_is_a_conflict_and_nothing_is_paid(
        rig: OutboundRig, accounts: Iterator[Account]) -> None:
    creditors = [_creditor(next(accounts), 3_000_000), _creditor(next(accounts), 1_000_000)]
    before = len(_settled_effects(rig))
    first = httpx.post(f"{rig.url}/v1/payouts", json=_body("4712", creditors, 1_000_001), headers=rig.auth,
                       timeout=30)
    assert first.status_code == 202, first.text
    other = httpx.post(f"{rig.url}/v1/payouts", json=_body("4712", creditors, 1_000_002), headers=rig.auth,
                       timeout=30)
    assert other.status_code == 409 and other.json()["rule"] == "same_decision_differs"
    view = _finished(rig, first.json()["id"])
    page = rig.get(f"/v1/payouts/{view['id']}/creditors")
    assert [c["share_vnd"] for c in page["creditors"]] == [750_001, 250_000]  # the leftover đồng: larger remainder
    assert len(_settled_effects(rig)) == before + len(view["batches"])
    listed = rig.get("/v1/payouts", case_ref=CASE)
    assert view["id"] in [p["id"] for p in listed]


@pytest.mark.parametrize("change, rule", [
    ({"total_vnd": 10**15}, "payout_exceeds_claims"),
    ({"office_accounts": [{"bank_bin": "970436", "account_number": DEFAULT_OFFICE_ACCOUNT}] * 2},
     "distinct_office_bank"),
    ({"office_accounts": [{"bank_bin": "970999", "account_number": DEFAULT_OFFICE_ACCOUNT}]}, "agency_configured"),
    ({"purpose": " "}, "accountable_command"),
])
def test_a_refused_payout_stores_nothing(rig: OutboundRig, accounts: Iterator[Account], change: dict[str, Any],
                                         rule: str) -> None:
    body = {**_body("4713", [_creditor(next(accounts), 5_000_000)], 1_000_000), **change}
    r = httpx.post(f"{rig.url}/v1/payouts", json=body, headers=rig.auth, timeout=30)
    assert r.status_code in (400, 422) and r.json()["rule"] == rule, r.text
    assert all(p["decision_ref"] != "4713/QĐ-CTHADS" for p in rig.get("/v1/payouts", case_ref=CASE))
