"""`thads-hub demo` as a newcomer runs it: one command starts the sandbox, the hub and a worker, tells the
story and writes its summary. The summary is checked here against witnesses the demo does not control:
the mocks' recorders, the hub's API read with a client of the test's own, and `thads-hub audit verify` run
apart. Then the demo is stopped with SIGTERM and must take its children with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.clients import add_client
from hub.store.database import Database
from hub.store.tables import message_log
from tests.conftest import REDIS_URL, free_port

THADS = str(Path(sys.executable).with_name("thads-hub"))
ROOT = Path(__file__).parents[2]
BANKS = ("bank-970436", "bank-970418", "bank-970405")
# Asynchronous traffic that is not part of any step: the worker's reconciliation poll of the court at start-up,
# and retried callbacks of the mocks.
LOOK_UPS = ["TraCuuTaiKhoan", "TraCuuCongDan", "TraCuuThuaDatTheoChuSoHuu"]
UNSTEPPED = {"DanhSachBanAnCoHieuLuc", "callback_attempt"}


class Demo:
    def __init__(self, tmp: Path, redis_prefix: str) -> None:
        self.data = tmp / "data"
        self.summary_file = tmp / "summary.json"
        self.log = tmp / "demo.log"
        self.port, self.sandbox_port = free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("THADS_", "PROMETHEUS_"))}
        self.env.update(THADS_REDIS_URL=REDIS_URL, THADS_REDIS_KEY_PREFIX=f"{redis_prefix}demo:")
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [THADS, "demo", "--port", str(self.port), "--sandbox-port", str(self.sandbox_port),
                 "--data-dir", str(self.data), "--summary", str(self.summary_file), "--hold-for", "300"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.hub, self.sandbox = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.sandbox_port}"

    def summary(self, timeout_s: float = 150) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not self.summary_file.exists():
            assert self.proc.poll() is None, f"the demo exited with {self.proc.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no summary after {timeout_s} s:\n{self.output()}"
            time.sleep(0.2)
        data: dict[str, Any] = json.loads(self.summary_file.read_text(encoding="utf-8"))
        return data

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def recorder(self, agency: str) -> dict[str, list[dict[str, Any]]]:
        path = agency.replace("bank-", "banks/")
        data: dict[str, list[dict[str, Any]]] = httpx.get(f"{self.sandbox}/{path}/_admin/recorder", timeout=10).json()
        return data

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo"), redis_prefix)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def summary(demo: Demo) -> dict[str, Any]:
    return demo.summary()


@pytest.fixture(scope="module")
def hub_get(demo: Demo, summary: dict[str, Any]) -> Any:
    """GET on the demo's hub with an API client of the test's own, made on the demo's database."""
    db = Database(f"sqlite:///{demo.data / 'thads.db'}")
    _, key = add_client(db, "demo-test-reader", ["verify:identity", "cases:read", "command:freeze", "command:notify",
                                                 "command:payout", "audit:read"])
    db.dispose()

    def get(path: str, **params: Any) -> Any:
        r = httpx.get(f"{demo.hub}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    return get


def _step(summary: dict[str, Any], key: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in summary["steps"] if s["key"] == key)
    return step


def test_the_story_is_told_and_every_step_succeeds(demo: Demo, summary: dict[str, Any], hub_get: Any) -> None:
    statuses = {s["key"]: s["status"] for s in summary["steps"]}
    assert list(statuses) == ["judgment", "verification", "notification", "measures", "procuracy", "receipt",
                              "payout", "audit"]
    assert set(statuses.values()) == {"ok"}, (statuses, demo.output())
    assert summary["ok"] is True
    case = hub_get(f"/v1/cases/{summary['case_id']}")
    assert case["case"]["id"] == summary["case_id"]
    intake = _step(summary, "judgment")["figures"]
    assert intake["case_ref"] == summary["case_ref"] and intake["acknowledged"] and intake["feed_new"] == 1
    feed = hub_get("/v1/judgments", after=0)["items"]
    assert [r["case_ref"] for r in feed] == [summary["case_ref"]]


def test_the_partial_report_is_what_the_message_log_and_the_slow_bank_show(demo: Demo,
                                                                            summary: dict[str, Any]) -> None:
    figures = _step(summary, "verification")["figures"]
    assert figures["completeness"] == "partial"
    slow = figures["slow_agency"]
    assert figures["sources"][slow] == "timed_out"
    assert {s for a, s in figures["sources"].items() if a != slow} == {"ok"}
    db = Database(f"sqlite:///{demo.data / 'thads.db'}")
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(select(message_log.c.agency, message_log.c.kind, message_log.c.outcome,
                                       message_log.c.case_ref).where(message_log.c.operation.in_(LOOK_UPS))).all()
    finally:
        db.dispose()
    # A look-up cut by its deadline has no answer envelope to take the case from: its entry names no case,
    # its request does.
    assert {r.agency for r in rows if r.kind == "request" and r.case_ref == summary["case_ref"]} == set(
        figures["sources"])
    answered = {(r.agency, r.outcome) for r in rows if r.kind == "response"}
    assert (slow, "timeout") in answered and (slow, "ok") not in answered
    assert {a for a, o in answered if o == "ok"} == set(figures["sources"]) - {slow}
    asked = [r for r in demo.recorder(slow)["received"] if r["operation"] == "TraCuuTaiKhoan"]
    assert asked, "the slow bank never received the look-up"


def test_each_measure_had_one_effect_at_its_agency_with_the_reference_the_summary_shows(
        demo: Demo, summary: dict[str, Any]) -> None:
    commands = _step(summary, "measures")["figures"]["commands"]
    assert sorted(c["kind"] for c in commands.values()) == ["account_freeze", "land_restriction",
                                                            "procuracy_decision"]
    effect_of = {"account_freeze": "freeze_applied", "land_restriction": "restriction_registered",
                 "procuracy_decision": "decision_received"}
    for command in commands.values():
        effects = [e for e in demo.recorder(command["agency"])["effects"] if e["kind"] == effect_of[command["kind"]]]
        assert [e["receipt"] for e in effects] == [command["agency_ref"]], (command, effects)
        assert effects[0]["case_ref"] == summary["case_ref"]


def test_the_notice_went_by_letter_after_vneid_refused(demo: Demo, summary: dict[str, Any], hub_get: Any) -> None:
    figures = _step(summary, "notification")["figures"]
    view = hub_get(f"/v1/notifications/{figures['notification_id']}")
    assert view["status"] == figures["status"] and view["channel"] == "postal"
    refused = [e for e in demo.recorder("population")["received"] if e["operation"] == "GuiThongBaoVNeID"]
    assert [e["verdict"] for e in refused] == ["refused"]
    letters = [e for e in demo.recorder("postal")["effects"] if e["kind"] == "shipment_created"]
    assert [e["tracking"] for e in letters] == [figures["tracking_number"]] == [view["tracking_number"]]


def test_the_receipt_is_genuine_and_the_payout_is_what_the_bank_settled(demo: Demo, summary: dict[str, Any]) -> None:
    receipt = _step(summary, "receipt")["figures"]
    verify = httpx.get(f"{demo.hub}/v1/receipts/{receipt['receipt_id']}/verify", timeout=10).json()
    assert verify["genuine"] is True and verify["amount_vnd"] == receipt["amount_vnd"]
    qr = httpx.get(f"{demo.hub}/v1/receipts/{receipt['receipt_id']}/qr.svg", timeout=10)
    assert qr.status_code == 200 and len(qr.content) == receipt["qr_bytes"]
    payout = _step(summary, "payout")["figures"]
    paid = [e for bank in BANKS for e in demo.recorder(bank)["effects"] if e["kind"] == "payout_batch"]
    assert sum(e["settled_vnd"] for e in paid) == payout["settled_vnd"] == payout["total_vnd"] > 0
    assert payout["total_vnd"] <= receipt["amount_vnd"]  # nothing paid out that did not come in
    assert {e["case_ref"] for e in paid} == {summary["case_ref"]}


def test_the_per_step_figures_add_up_to_what_the_mocks_recorded(demo: Demo, summary: dict[str, Any]) -> None:
    agencies = ("court", "procuracy", "population", "land", "postal", *BANKS)
    told_received: Counter[str] = Counter()
    told_effects: Counter[str] = Counter()
    for step in summary["steps"]:
        for agency, ops in step["figures"]["mocks"]["received"].items():
            told_received.update({f"{agency} {op}": n for op, n in ops.items()})
        for agency, kinds in step["figures"]["mocks"]["effects"].items():
            told_effects.update({f"{agency} {kind}": n for kind, n in kinds.items()})
    recorded_received: Counter[str] = Counter()
    recorded_effects: Counter[str] = Counter()
    for agency in agencies:
        seen = demo.recorder(agency)
        recorded_received.update(f"{agency} {r['operation']} {r['verdict']}" for r in seen["received"])
        recorded_effects.update(f"{agency} {e['kind']}" for e in seen["effects"])

    def stepped(counts: Counter[str]) -> Counter[str]:
        return Counter({k: n for k, n in counts.items() if not UNSTEPPED & set(k.split())})

    for told, recorded in ((stepped(told_received), stepped(recorded_received)),
                           (stepped(told_effects), stepped(recorded_effects))):
        assert told == recorded, {k: (told[k], recorded[k]) for k in told | recorded if told[k] != recorded[k]}


def test_audit_verify_run_apart_finds_the_log_intact(demo: Demo, summary: dict[str, Any]) -> None:
    env = {**demo.env, "THADS_DATA_DIR": str(demo.data)}
    done = subprocess.run([THADS, "audit", "verify", "--json"], env=env, cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["intact"] is True and summary["audit"]["intact"] is True
    assert report["entries"] >= summary["audit"]["entries"] > 0  # the hub logs on; nothing logged is lost


def test_sigterm_stops_the_demo_and_every_child(demo: Demo, summary: dict[str, Any]) -> None:
    pids = summary["children"]
    assert sorted(pids) == ["hub", "sandbox", "worker"]
    assert demo.stop() == 0, demo.output()
    for name, pid in pids.items():
        assert not _running(pid), f"{name} (pid {pid}) outlived the demo"
    for port in (demo.port, demo.sandbox_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for every purpose but its exit status
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))
