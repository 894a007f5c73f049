"""Notifications against the running sandbox, carried by a real `thads-hub worker`, the postal operator's
events pushed to the hub's own endpoint: consent refused -> a letter -> its delivery closes the notification;
a returned letter; a deadline across Tết; events out of order and twice; webhooks that fail their HMAC."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.commands import END_STATES
from sandbox_mocks.postal.mock import hmac_headers
from sandbox_mocks.seed.records import Citizen
from tests.commands.conftest import OFFICE, accountable
from tests.notifications.rig import POSTAL_HMAC, OutboundRig, make_outbound_rig

SEED, CITIZENS = 47, 500
CASE = "THADS-79-2026-0555"
VIETNAM = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[OutboundRig]:
    tmp = tmp_path_factory.mktemp("notifications")
    with make_outbound_rig(tmp, f"sqlite:///{tmp / 'hub.db'}", redis_prefix, seed=SEED, citizens=CITIZENS) as made, \
            made.workers("notify-w1"):
        yield made


@pytest.fixture
def postal(rig: OutboundRig) -> Iterator[Any]:
    """The postal mock, its knobs put back after each test."""
    mock = rig.mocks["postal"]
    share, callback = mock.delivered_share, mock.callback_url
    yield mock
    mock.delivered_share, mock.callback_url = share, callback
    rig.faults("postal", duplicate_callback_rate=0.0, out_of_order_callbacks=False)


@pytest.fixture(scope="module")
def citizens(rig: OutboundRig) -> dict[bool, Iterator[Citizen]]:
    """Citizens by consent to VNeID, each notified once in the module."""
    return {consent: iter([c for c in rig.world.citizens if c.vneid_consent is consent]) for consent in (True, False)}


def _today() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


def _body(citizen: Citizen, number: str, *, kind: str = "enforcement_decision", issued_on: dt.date | None = None,
          with_id: bool = True) -> dict[str, Any]:
    a = citizen.permanent_address
    recipient: dict[str, Any] = {"name": citizen.full_name, "address": {
        "original_text": a.text, "province_code": a.province_code, "commune": a.commune, "street": a.street}}
    if with_id:
        recipient["person_id"] = citizen.person_id
    return {**accountable(CASE), "office": OFFICE, "recipient": recipient, "document": {
        "ref": f"{number}/QĐ-CCTHADS", "kind": kind, "title": f"Quyết định số {number} về thi hành án",
        "issued_on": (issued_on or _today()).isoformat()}}


def _notify(rig: OutboundRig, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{rig.url}/v1/notifications", json=body, headers=rig.auth, timeout=30)
    assert r.status_code == 202, r.text
    made: dict[str, Any] = r.json()
    return made


def _ended(rig: OutboundRig, notification_id: str, *statuses: str) -> dict[str, Any]:
    """The notification once in one of ``statuses`` and its channels' commands ended (a letter's events may
    arrive before the worker has written its tracking number and the command's outcome)."""
    def check() -> dict[str, Any] | None:
        view: dict[str, Any] = rig.get(f"/v1/notifications/{notification_id}")
        done = all(c["status"] in END_STATES for c in view["commands"])
        return view if view["status"] in statuses and done else None
    found: dict[str, Any] = rig.wait_for(f"notification {statuses}", check, 60)
    return found


def _journey(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["channel"], e["status"], e["source"]) for e in view["events"]]


def test_consent_refused_sends_a_letter_whose_delivery_closes_the_notification(
        rig: OutboundRig, postal: Any, citizens: dict[bool, Iterator[Citizen]]) -> None:
    postal.delivered_share = 1.0
    body = _body(next(citizens[False]), "301")
    made = _notify(rig, body)
    assert made["status"] == "queued" and made["channels"] == ["vneid"] and made["mode"] == "vneid_else_postal"
    view = _ended(rig, made["id"], "delivered")
    assert view["channels"] == ["vneid", "postal"] and view["channel"] == "postal"
    assert view["tracking_number"] and view["deadline_state"] == "met" and view["deadline"]["state"] == "met"
    refused = next(e for e in view["events"] if e["channel"] == "vneid")
    assert refused["status"] == "refused" and refused["source"] == "hub" and "vneid_consent" in refused["reason"]
    letter = [(e["status"], e["source"]) for e in view["events"] if e["channel"] == "postal"]
    assert letter == [("accepted", "postal"), ("in_transit", "postal"), ("delivered", "postal")]  # VNPost's pushes
    by_kind = {c["kind"]: c for c in view["commands"]}
    assert by_kind["notification_vneid"]["status"] == "failed"
    assert by_kind["notification_letter"]["status"] == "acknowledged"
    assert by_kind["notification_letter"]["agency_ref"] == view["tracking_number"]
    vneid = rig.command(by_kind["notification_vneid"]["id"])
    assert vneid["error"]["code"] == "AGENCY_REJECTED" and "vneid_consent" in vneid["error"]["detail"]
    letters = [e for e in rig.effects("postal", "shipment_created") if e["reference"] == view["reference"]]
    assert len(letters) == 1 and letters[0]["tracking"] == view["tracking_number"]
    assert not [e for e in rig.effects("population", "vneid_notification") if e["reference"] == view["reference"]]
    assert _notify(rig, body)["id"] == made["id"]  # asked again: the same notification, nothing sent again
    assert len(rig.get(f"/v1/notifications/{made['id']}")["commands"]) == 2


def test_a_citizen_who_consented_is_served_on_vneid_and_no_letter_is_sent(
        rig: OutboundRig, citizens: dict[bool, Iterator[Citizen]]) -> None:
    made = _notify(rig, _body(next(citizens[True]), "302"))
    view = _ended(rig, made["id"], "delivered")
    assert view["channels"] == ["vneid"] and view["channel"] == "vneid" and view["tracking_number"] is None
    assert [(e["channel"], e["status"], e["source"]) for e in view["events"]] == [("vneid", "accepted", "vneid")]
    sent = [e for e in rig.effects("population", "vneid_notification") if e["reference"] == view["reference"]]
    assert len(sent) == 1 and sent[0]["case"] == CASE
    assert view["commands"][0]["agency_ref"] == sent[0]["notification_id"]
    assert not [e for e in rig.effects("postal", "shipment_created") if e["reference"] == view["reference"]]


def test_a_returned_letter_and_a_deadline_across_tet_are_visible_and_counted(
        rig: OutboundRig, postal: Any, citizens: dict[bool, Iterator[Citizen]]) -> None:
    postal.delivered_share = 0.0
    # Issued on Thursday 12/02/2026: three working days skip the Tết Bính Ngọ break (14/02 - 22/02), so the
    # notice is due on Tuesday 24/02, not on Tuesday 17/02 as a calendar without holidays would say.
    made = _notify(rig, _body(next(citizens[True]), "303", kind="summons", issued_on=dt.date(2026, 2, 12)))
    assert made["mode"] == "postal" and made["channels"] == ["postal"]
    assert made["due_by"] == "2026-02-24" and made["deadline"]["start"] == "2026-02-12"
    assert made["deadline"]["rule_id"] == "notification" and made["deadline_state"] == "missed"
    view = _ended(rig, made["id"], "returned")
    assert view["channel"] == "postal" and view["returned_reason"] and view["delivered_at"] is None
    assert [e["status"] for e in view["events"]][-1] == "returned"
    # no personal ID: VNeID cannot reach the recipient, the letter goes at once
    direct = _notify(rig, _body(next(citizens[True]), "304", with_id=False))
    assert direct["channels"] == ["postal"] and [c["kind"] for c in direct["commands"]] == ["notification_letter"]
    _ended(rig, direct["id"], "returned")
    listed = rig.get("/v1/notifications", case_ref=CASE)
    ours = {n["id"]: n for n in listed["notifications"]}
    assert ours[made["id"]]["status"] == "returned" and ours[made["id"]]["deadline_state"] == "missed"
    counts = listed["counts"]
    assert counts["returned"] == sum(n["status"] == "returned" for n in listed["notifications"]) >= 2
    assert counts["deadline_missed"] == sum(n["deadline_state"] == "missed" for n in listed["notifications"]) >= 1
    assert counts["total"] == len(listed["notifications"])


def test_events_twice_and_out_of_order_never_reopen_a_delivered_letter(
        rig: OutboundRig, postal: Any, citizens: dict[bool, Iterator[Citizen]]) -> None:
    postal.delivered_share = 1.0
    rig.faults("postal", duplicate_callback_rate=1.0, out_of_order_callbacks=True)
    made = _notify(rig, _body(next(citizens[True]), "305", kind="summons"))
    view = _ended(rig, made["id"], "delivered")
    tracking = view["tracking_number"]

    def pushed() -> list[dict[str, Any]] | None:
        ids = _event_ids(tracking)
        done = [e for e in rig.effects("postal", "callback_attempt") if e["outcome"] == "delivered"
                and e["event_id"] in ids]
        return done if len(done) == 6 else None
    attempts: list[dict[str, Any]] = rig.wait_for("every copy pushed", pushed, 30)
    assert len(attempts) == 6  # three events, each pushed twice, in a shuffled order
    view = rig.get(f"/v1/notifications/{made['id']}")
    assert view["status"] == "delivered" and len(view["events"]) == 3  # each event stored once
    order = [e["event_id"] for e in attempts if e["copy"] == 0]
    assert order != sorted(order, key=_event_ids(tracking).index)
    final = next(e for e in view["events"] if e["status"] == "delivered")
    assert final["effect"] == "applied" and final["sequence"] == 3
    late = [e for e in view["events"] if e["status"] != "delivered"]
    assert late and all(e["sequence"] < 3 for e in late)
    if order[0] == _event_ids(tracking)[2]:  # the delivery came first: what followed changed nothing
        assert all(e["effect"] == "stale" for e in late)


def _event_ids(tracking: str) -> list[str]:
    """The postal mock's event ids of a letter's three steps (the contract: EV- and 20 hex digits)."""
    return [f"EV-{hashlib.sha256(f'{tracking}:{n}'.encode()).hexdigest()[:20]}" for n in (1, 2, 3)]


def _push(rig: OutboundRig, event: dict[str, Any], *, secret: str = POSTAL_HMAC,
          timestamp: float | None = None) -> httpx.Response:
    body = json.dumps(event, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **hmac_headers(secret, body, timestamp)}
    return httpx.post(f"{rig.url}/v1/inbound/postal/events", content=body, headers=headers, timeout=10)


def test_a_webhook_is_taken_only_with_the_operators_hmac_and_once_per_event(
        rig: OutboundRig, postal: Any, citizens: dict[bool, Iterator[Citizen]]) -> None:
    postal.callback_url = None  # VNPost pushes nothing for this letter: the test does, by hand
    made = _notify(rig, _body(next(citizens[True]), "306", kind="summons"))
    view = rig.wait_for("letter sent", lambda: (v := rig.get(f"/v1/notifications/{made['id']}"))["tracking_number"]
                        and v, 60)
    tracking, reference = view["tracking_number"], view["reference"]
    now = dt.datetime.now(VIETNAM).strftime("%d/%m/%Y %H:%M:%S")

    def event(n: int, state: str) -> dict[str, Any]:
        return {"maSuKien": _event_ids(tracking)[n - 1], "soHieuBuuGui": tracking, "maThamChieu": reference,
                "thuTu": n, "trangThai": state, "moTa": state, "thoiGian": now, "buuCuc": "Bưu cục phát",
                "nguoiNhan": "Người nhận" if state == "DA_PHAT" else None, "maLyDoHoan": None, "lyDoHoan": None}

    assert _push(rig, event(3, "DA_PHAT")).json() == {"events": [{"event_id": _event_ids(tracking)[2],
                                                                  "effect": "applied"}]}
    assert _push(rig, event(2, "DANG_VAN_CHUYEN")).json()["events"][0]["effect"] == "stale"
    assert _push(rig, event(3, "DA_PHAT")).json()["events"][0]["effect"] == "duplicate"
    forged = _push(rig, event(1, "DA_NHAN_GUI"), secret="not-the-secret")
    assert forged.status_code == 401 and forged.json()["rule"] == "hmac_mismatch"
    replayed = _push(rig, event(1, "DA_NHAN_GUI"), timestamp=time.time() - 3600)
    assert replayed.status_code == 401 and replayed.json()["rule"] == "hmac_timestamp_window"
    broken = _push(rig, {**event(1, "DA_NHAN_GUI"), "thuTu": "một"})
    assert broken.status_code == 400 and broken.json()["rule"] == "su_kien_schema"
    stranger = {**event(1, "DA_NHAN_GUI"), "maThamChieu": "TB-not-ours", "maSuKien": "EV-" + "0" * 20}
    assert _push(rig, stranger).json()["events"][0]["effect"] == "unmatched"
    view = rig.get(f"/v1/notifications/{made['id']}")
    assert view["status"] == "delivered" and [e["effect"] for e in view["events"]] == ["applied", "stale"]
