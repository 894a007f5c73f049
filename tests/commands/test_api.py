"""The commands API: what it accepts (202, one command per agency and target, staged in the outbox in the
same transaction), what it refuses (problem+json, nothing stored), and how a repeat finds the first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.clients import add_client
from hub.store.tables import command_events, commands, outbox
from tests.commands.conftest import Rig, accountable, decision, decision_ref

FREEZES = "/v1/commands/account-freezes"


def _stored(rig: Rig) -> tuple[int, int, int]:
    with rig.db.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (commands, command_events, outbox))


def _freeze_body(rig: Rig, n: int = 2, **overrides: Any) -> dict[str, Any]:
    accounts = [{"bank_bin": a.bank_bin, "account_number": a.account_number, "amount_vnd": 1_000_000 + i}
                for i, a in enumerate(rig.fresh_accounts(n))]
    return {**accountable(), "decision": decision(), "accounts": accounts, **overrides}


def test_a_freeze_is_one_command_per_account_and_a_linked_copy_to_the_procuracy(rig: Rig) -> None:
    body = _freeze_body(rig, 2)
    before = _stored(rig)
    made = rig.accepted(FREEZES, body)
    assert [c["kind"] for c in made] == ["account_freeze", "account_freeze", "procuracy_decision"]
    copy = made[2]
    assert [c["agency"] for c in made] == [f"bank-{a['bank_bin']}" for a in body["accounts"]] + ["procuracy"]
    assert [c["target"] for c in made[:2]] == [a["account_number"] for a in body["accounts"]]
    assert all(c["status"] == "queued" and c["linked_to"] == copy["id"] for c in made[:2])
    ref = f"{body['decision']['number']}/QĐ-CCTHADS"
    assert {c["decision_ref"] for c in made} == {ref}
    assert copy["target"] == f"G12.HCM.079,2026/11/20,{ref}"
    # rows, their first history entries and their outbox entries, together
    assert _stored(rig) == (before[0] + 3, before[1] + 3, before[2] + 3)
    with rig.db.engine.connect() as conn:
        staged = [r.fields for r in conn.execute(select(outbox).order_by(outbox.c.id.desc()).limit(3))]
    assert sorted(s["command"] for s in staged) == sorted(c["id"] for c in made)
    view = rig.command(copy["id"])
    assert sorted(view["copy_of"]) == sorted(c["id"] for c in made[:2])
    assert [h["status"] for h in view["history"]] == ["queued"]
    assert view["case_ref"] == body["case_ref"] and view["officer"] == body["officer"]


def test_the_same_freeze_again_is_the_same_commands_and_stages_nothing(rig: Rig) -> None:
    body = _freeze_body(rig, 1)
    first = rig.accepted(FREEZES, body)
    before = _stored(rig)
    assert rig.accepted(FREEZES, body) == first
    # a second account under the same decision: a new freeze, linked to the same copy
    extra = rig.fresh_accounts(1)[0]
    more = {**body, "accounts": [*body["accounts"], {"bank_bin": extra.bank_bin,
                                                     "account_number": extra.account_number, "amount_vnd": 5}]}
    grown = rig.accepted(FREEZES, more)
    assert [c["id"] for c in grown][0::2] == [first[0]["id"], first[1]["id"]]
    assert grown[1]["linked_to"] == first[1]["id"] and grown[1]["id"] not in {c["id"] for c in first}
    assert _stored(rig) == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_an_idempotency_key_answers_the_first_answer_and_refuses_another_request(rig: Rig) -> None:
    body = _freeze_body(rig, 1)
    key = {"Idempotency-Key": f"case-system-req-{body['decision']['number']}"}
    first = rig.accepted(FREEZES, body, headers=key)
    before = _stored(rig)
    assert rig.accepted(FREEZES, body, headers=key) == first
    other = rig.post(FREEZES, _freeze_body(rig, 1), headers=key)
    assert other.status_code == 409 and other.json()["rule"] == "idempotency_key_reused"
    assert _stored(rig) == before


def test_the_same_act_with_other_content_is_a_conflict_and_stores_nothing(rig: Rig) -> None:
    body = _freeze_body(rig, 1)
    first = rig.accepted(FREEZES, body)
    changed = {**body, "accounts": [{**body["accounts"][0], "amount_vnd": body["accounts"][0]["amount_vnd"] + 1}]}
    before = _stored(rig)
    r = rig.post(FREEZES, changed)
    assert r.status_code == 409 and r.json()["code"] == "CONFLICT" and r.json()["rule"] == "same_act_differs"
    assert r.json()["command_id"] == first[0]["id"]
    assert _stored(rig) == before


def _refusal_cases(rig: Rig) -> list[tuple[str, str, dict[str, Any], int, str, str | None]]:
    good = _freeze_body(rig, 1)
    account = good["accounts"][0]
    return [
        ("no officer", FREEZES, {**good, "officer": " "}, 422, "PURPOSE_MISSING", "accountable_command"),
        ("no purpose", FREEZES, {k: v for k, v in good.items() if k != "purpose"}, 422, "PURPOSE_MISSING",
         "accountable_command"),
        ("float amount", FREEZES, {**good, "accounts": [{**account, "amount_vnd": 10.5}]}, 422, "AMOUNT_INVALID",
         "whole_vnd"),
        ("zero amount", FREEZES, {**good, "accounts": [{**account, "amount_vnd": 0}]}, 422, "AMOUNT_INVALID",
         "freeze_amount"),
        ("no accounts", FREEZES, {**good, "accounts": []}, 400, "REQUEST_INVALID", None),
        ("same account twice", FREEZES, {**good, "accounts": [account, account]}, 400, "REQUEST_INVALID",
         "distinct_account"),
        ("not a freeze decision", FREEZES, {**good, "decision": decision("enforcement")}, 400, "REQUEST_INVALID",
         "decision_kind"),
        ("bank not configured", FREEZES, {**good, "accounts": [{**account, "bank_bin": "970999"}]}, 400,
         "REQUEST_INVALID", "agency_configured"),
        ("unknown field", FREEZES, {**good, "amount": 1}, 400, "REQUEST_INVALID", None),
        ("bad organ code", "/v1/commands/procuracy-decisions",
         {**accountable(), "decision": decision("enforcement", procuracy={"organ_id": "vks hcm", "name": "VKS"})},
         400, "REQUEST_INVALID", None),
        ("bad certificate", "/v1/commands/land-restrictions",
         {**accountable(), "decision": decision_ref(), "restriction_kind": "seizure",
          "certificate_serials": ["123"]}, 400, "REQUEST_INVALID", None),
        ("bad decision ref", "/v1/commands/account-releases",
         {**accountable(), "freeze_decision_ref": "15 / QĐ", "decision": decision_ref(),
          "accounts": [{"bank_bin": account["bank_bin"], "account_number": account["account_number"]}]},
         400, "REQUEST_INVALID", None),
    ]


def test_bad_requests_are_refused_as_problems_and_store_nothing(rig: Rig) -> None:
    before = _stored(rig)
    for name, path, body, status, code, rule in _refusal_cases(rig):
        r = rig.post(path, body)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
        problem = r.json()
        assert (problem["code"], problem["type"]) == (code, f"urn:thads:problem:{code}"), (name, problem)
        if rule:
            assert problem.get("rule") == rule, (name, problem)
    assert _stored(rig) == before


def test_callers_need_a_key_and_the_command_scope(rig: Rig) -> None:
    before = _stored(rig)
    body = _freeze_body(rig, 1)
    anonymous = httpx.post(f"{rig.url}{FREEZES}", json=body, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "AUTH_REQUIRED"
    _, land_only = add_client(rig.db, "case-land-only", ["command:land"])
    refused = rig.post(FREEZES, body, key=land_only)
    assert refused.status_code == 403 and refused.json()["code"] == "SCOPE_MISSING"
    assert refused.json()["missing"] == ["command:freeze"]
    _, verifier = add_client(rig.db, "case-verifier", ["verify:identity"])
    listing = httpx.get(f"{rig.url}/v1/commands", params={"case_ref": "X"}, timeout=10,
                        headers={"Authorization": f"Bearer {verifier}"})
    assert listing.status_code == 403 and listing.json()["code"] == "SCOPE_MISSING"
    assert _stored(rig) == before
    # a land-only client still reads commands (any command scope reads them)
    made = rig.accepted(FREEZES, body)
    r = httpx.get(f"{rig.url}/v1/commands/{made[0]['id']}", headers={"Authorization": f"Bearer {land_only}"},
                  timeout=10)
    assert r.status_code == 200 and r.json()["id"] == made[0]["id"]


@pytest.mark.parametrize("path, body", [
    ("/v1/commands/account-releases", lambda rig, a: {
        **accountable("THADS-79-2026-0777"), "freeze_decision_ref": "15/QĐ-CCTHADS", "decision": decision_ref(),
        "accounts": [{"bank_bin": a.bank_bin, "account_number": a.account_number}]}),
    ("/v1/commands/land-restrictions", lambda rig, a: {
        **accountable("THADS-79-2026-0777"), "decision": decision_ref(), "restriction_kind": "halt_transfer",
        "certificate_serials": [rig.world.parcels[0].certificate_serial]}),
    ("/v1/commands/land-restriction-lifts", lambda rig, a: {
        **accountable("THADS-79-2026-0777"), "restriction_decision_ref": "16/QĐ-CCTHADS",
        "decision": decision_ref(), "certificate_serials": [rig.world.parcels[1].certificate_serial]}),
    ("/v1/commands/procuracy-decisions", lambda rig, a: {
        **accountable("THADS-79-2026-0777"), "decision": decision("enforcement")}),
])
def test_each_kind_is_accepted_and_listed_by_case(rig: Rig, path: str, body: Any) -> None:
    made = rig.accepted(path, body(rig, rig.fresh_accounts(1)[0]))
    assert len(made) == 1 and made[0]["status"] == "queued" and made[0]["url"] == f"/v1/commands/{made[0]['id']}"
    listed = httpx.get(f"{rig.url}/v1/commands", params={"case_ref": "THADS-79-2026-0777"}, headers=rig.auth,
                       timeout=10).json()
    assert made[0]["id"] in [c["id"] for c in listed]
    assert all(c["case_ref"] == "THADS-79-2026-0777" for c in listed)


def test_an_unknown_command_is_not_found(rig: Rig) -> None:
    r = httpx.get(f"{rig.url}/v1/commands/00000000-0000-4000-8000-000000000000", headers=rig.auth, timeout=10)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
