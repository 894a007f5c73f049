"""Commands carried to the sandbox agencies by real `thads-hub worker` processes: each kind ends acknowledged
with the agency's reference and exactly one effect at the agency; a repeat changes nothing; a refusal ends
the command as failed with the agency's code and dead-letters its entry."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.commands.conftest import Rig, accountable, decision, decision_ref, trail

FREEZES = "/v1/commands/account-freezes"


@pytest.fixture(scope="module")
def worker(rig: Rig) -> Iterator[None]:
    with rig.workers("delivery-w1"):
        yield


def _effects(rig: Rig, agency: str, kind: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in rig.recorder(agency)["effects"]
            if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())]


def _confirmed(rig: Rig, command_id: str, timeout_s: float = 20) -> dict[str, Any]:
    """The command's 'confirmed' history entry, once the bank's pushed confirmation has reached the hub."""
    deadline = time.monotonic() + timeout_s
    while True:
        entries = [h for h in rig.command(command_id)["history"] if h["status"] == "confirmed"]
        if entries or time.monotonic() > deadline:
            assert len(entries) == 1, f"confirmation entries of {command_id}: {entries}"
            return entries[0]
        time.sleep(0.2)


def _ended(rig: Rig, made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rig.wait_ended([c["id"] for c in made], 30, "delivery")
    return [rig.command(c["id"]) for c in made]


def test_a_freeze_and_its_copy_are_acknowledged_once_at_the_bank_and_the_procuracy(rig: Rig, worker: None) -> None:
    accounts = rig.fresh_accounts(2)
    body = {**accountable(), "decision": decision(), "accounts": [
        {"bank_bin": a.bank_bin, "account_number": a.account_number, "amount_vnd": 700_000} for a in accounts]}
    made = rig.accepted(FREEZES, body)
    views = _ended(rig, made)
    assert [v["status"] for v in views] == ["acknowledged"] * 3
    ref = made[0]["decision_ref"]
    for view, account in zip(views[:2], accounts, strict=True):
        applied = _effects(rig, view["agency"], "freeze_applied", decision=ref, account_number=account.account_number)
        assert len(applied) == 1, applied
        assert view["agency_ref"] == applied[0]["receipt"] == view["receipt"]["reference"]
        assert applied[0]["case_ref"] == body["case_ref"] and applied[0]["requested"] == 700_000
        own = trail(view)
        assert [h["status"] for h in own] == ["queued", "sent", "acknowledged"]
        assert own[-1]["agency_ref"] == view["agency_ref"] and view["error"] is None
    received = _effects(rig, "procuracy", "decision_received", document_id=made[2]["target"])
    assert len(received) == 1 and received[0]["document_type"] == "QDPTTK"
    # Each bank then pushes its freeze confirmation: it lands in the freeze command's history.
    for view in views[:2]:
        confirmed = _confirmed(rig, view["id"])
        assert confirmed["agency_ref"].startswith(f"SK{view['agency'].removeprefix('bank-')}"), confirmed
        assert "700,000 VND" in confirmed["detail"], confirmed
        assert rig.command(view["id"])["status"] == "acknowledged"  # a history entry, never a status
    assert views[2]["agency_ref"] == received[0]["receipt"] and received[0]["case_ref"] == body["case_ref"]

    # the same request again: the same commands, already acknowledged, and nothing more at the agencies
    assert [c["id"] for c in rig.accepted(FREEZES, body)] == [c["id"] for c in made]
    release = rig.accepted("/v1/commands/account-releases", {
        **accountable(), "freeze_decision_ref": ref, "decision": decision_ref(),
        "accounts": [{"bank_bin": accounts[0].bank_bin, "account_number": accounts[0].account_number}]})
    released = _ended(rig, release)[0]
    assert released["status"] == "acknowledged", released
    lifted = _effects(rig, released["agency"], "freeze_released", decision=ref)
    assert len(lifted) == 1 and lifted[0]["receipt"] == released["agency_ref"]
    for view, account in zip(views[:2], accounts, strict=True):
        assert len(_effects(rig, view["agency"], "freeze_applied", decision=ref,
                            account_number=account.account_number)) == 1


def test_land_restrictions_are_registered_and_lifted_once(rig: Rig, worker: None) -> None:
    serials = [p.certificate_serial for p in rig.world.parcels[10:12]]
    registration = decision_ref()
    body = {**accountable(), "decision": registration, "restriction_kind": "seizure", "certificate_serials": serials}
    made = rig.accepted("/v1/commands/land-restrictions", body)
    views = _ended(rig, made)
    ref = made[0]["decision_ref"]
    for view in views:
        assert view["status"] == "acknowledged", view
        effects = _effects(rig, "land", "restriction_registered", decision=ref)
        assert view["agency_ref"] in [e["receipt"] for e in effects]
    assert len(_effects(rig, "land", "restriction_registered", decision=ref)) == 2
    assert {e["restriction_kind"] for e in _effects(rig, "land", "restriction_registered", decision=ref)} == {"KEBIEN"}
    lift = rig.accepted("/v1/commands/land-restriction-lifts", {
        **accountable(), "restriction_decision_ref": ref, "decision": decision_ref(),
        "certificate_serials": serials[:1]})
    lifted = _ended(rig, lift)[0]
    assert lifted["status"] == "acknowledged" and lifted["receipt"]["details"]["status"] == "lifted"
    assert [e["receipt"] for e in _effects(rig, "land", "restriction_lifted", decision=ref)] == [lifted["agency_ref"]]


def test_a_decision_sent_for_supervision_records_the_procuracys_receipt(rig: Rig, worker: None) -> None:
    body = {**accountable("THADS-79-2026-0099"), "decision": decision("enforcement", judgment_number="12/2024/DS-ST")}
    made = rig.accepted("/v1/commands/procuracy-decisions", body)
    view = _ended(rig, made)[0]
    assert view["status"] == "acknowledged"
    received = _effects(rig, "procuracy", "decision_received", document_id=made[0]["target"])
    assert len(received) == 1 and received[0]["document_type"] == "QDTHA"
    assert view["agency_ref"] == received[0]["receipt"] and view["agency_ref"].startswith("VKS-TN-")
    assert view["receipt"]["details"]["document_id"] == made[0]["target"]


def test_a_refusal_fails_the_command_with_the_agencys_code_and_dead_letters_it(rig: Rig, worker: None) -> None:
    closed = next(a for a in rig.world.accounts if a.status == "closed")
    body = {**accountable(), "decision": decision(), "accounts": [
        {"bank_bin": closed.bank_bin, "account_number": closed.account_number, "amount_vnd": 1000}]}
    made = rig.accepted(FREEZES, body)
    freeze, copy = _ended(rig, made)
    assert freeze["status"] == "failed" and freeze["agency_ref"] is None
    assert freeze["error"]["code"] == "AGENCY_REJECTED" and "TAI_KHOAN_DA_DONG" in freeze["error"]["detail"]
    assert [h["status"] for h in trail(freeze)] == ["queued", "sent", "failed"]
    assert copy["status"] == "acknowledged"  # the decision still reaches the procuracy
    letters = rig.dead_letters()
    assert any(d["fields"]["command"] == freeze["id"] and "AGENCY_REJECTED" in d["reason"] for d in letters), letters
    assert Counter(h["status"] for h in freeze["history"])["sent"] == 1  # refused once, never asked again
