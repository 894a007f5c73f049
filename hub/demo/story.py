"""The story the demo tells, one step at a time, against the running sandbox, hub and worker.

Each step acts as the agency or the case system would (a court's signed push, a case system's API call)
and then reads back what happened: from the hub's API, from the mocks' recorders and from the message
log. A step fails when those witnesses contradict the story; a step whose API this hub does not offer
is skipped, with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.redis_client import sync_client
from adapters.trust_store import TrustStore
from hub.agency_ids import SANDBOX_BANK_BINS
from hub.clients import add_client
from hub.demo.cast import Cast, pick_cast
from hub.demo.probes import Exchange, LogProbe, MockProbe, effect_counts, exchange_delta, received_counts
from hub.settings import Settings, get_settings
from hub.store.database import Database
from hub.store.tables import judgments
from hub.worker.heartbeat import heartbeat_key
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT, EVENTS_PATH, transfer_push_items
from sandbox_mocks.bank import xml_sender as bank_sender
from sandbox_mocks.court.pusher import judgment_push_items, soap_sender
from sandbox_mocks.framework.pusher import Ack, PushItem, Send, push
from sandbox_mocks.procuracy.edxml import enforcement_organ, procuracy_organ
from sandbox_mocks.procuracy.pusher import action_push_items
from sandbox_mocks.procuracy.pusher import xml_sender as procuracy_sender
from sandbox_mocks.seed.world import World, build_world

OFFICER = "Chấp hành viên Lê Văn Tám"
PURPOSE = "Tổ chức thi hành án (Luật Thi hành án dân sự)"
SCOPES = ["verify:identity", "verify:residence", "verify:bank_accounts", "verify:land", "command:freeze",
          "command:land", "command:notify", "command:payout", "audit:read", "cases:read"]
AGENCIES = ["court", "procuracy", "population", "land", "postal", *(f"bank-{b}" for b in SANDBOX_BANK_BINS)]
DEADLINE_MS = 2500  # the verification's deadline; the slow bank answers well after it
SLOW_MS = 6000
END_STATES = ("acknowledged", "failed", "dead_lettered")


class Skipped(Exception):
    """The step cannot be told on this hub (its API is missing, or an earlier step it needs failed)."""


class Contradicted(Exception):
    """What the witnesses show is not what the story says should happen."""


@dataclass
class StepResult:
    number: int
    key: str
    title: str
    status: str = "ok"  # ok, failed, skipped
    reason: str | None = None
    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def say(self, line: str) -> None:
        self.lines.append(line)

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "key": self.key, "title": self.title, "status": self.status,
                "reason": self.reason, "seconds": round(self.seconds, 2), "lines": self.lines,
                "figures": self.figures}


def push_one(item: PushItem, sender: tuple[Send, Callable[[], Any]]) -> Ack:
    """Send one prepared message as its agency would, and return what the hub answered."""
    send, close = sender

    async def main() -> Ack:
        try:
            report = await push([item], send, rate_per_s=100)
        finally:
            await close()
        return report.outcomes[0].ack

    return asyncio.run(main())


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Contradicted(what)


def _decision_number() -> str:
    """A decision number of its own for each run, so a data dir that told the story before still sees new
    freezes, restrictions and payouts (the agencies key their effects by decision)."""
    return str(int(time.time()) % 900_000 + 100_000)


@dataclass
class Story:
    hub: str
    sandbox: str
    settings: Settings
    world: World
    cast: Cast
    fresh: bool
    key: str
    db: Database
    mocks: MockProbe
    log: LogProbe
    http: httpx.Client
    run_seed: int = field(default_factory=lambda: int(time.time()))
    case_ref: str | None = None
    case_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    _marks: dict[str, tuple[int, int]] = field(default_factory=dict)
    _exchanges: Counter[Exchange] = field(default_factory=Counter)

    # --- plumbing ---------------------------------------------------------------------------------
    def worker_alive(self, consumer: str) -> bool:
        client = sync_client(self.settings.redis_url)
        try:
            return bool(client.exists(heartbeat_key(self.settings.redis_key_prefix, consumer)))
        finally:
            client.close()

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(f"{self.hub}{path}", params=params)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict[str, Any], expected: int = 202) -> Any:
        r = self.http.post(f"{self.hub}{path}", json=body)
        if r.status_code != expected:
            raise Contradicted(f"POST {path} answered {r.status_code}: {r.text[:300]}")
        return r.json()

    def wait_for(self, what: str, check: Callable[[], Any], timeout_s: float = 60) -> Any:
        """The hub works on behind its 202s (the worker): poll its API until ``check`` sees the end."""
        give_up = time.monotonic() + timeout_s
        while (found := check()) is None or found is False or found == []:
            if time.monotonic() > give_up:
                raise Contradicted(f"{what}: not reached after {timeout_s:.0f} s")
            time.sleep(0.2)
        return found

    def accountable(self) -> dict[str, Any]:
        return {"case_ref": self.case_ref, "officer": OFFICER, "purpose": PURPOSE}

    def organs(self) -> tuple[dict[str, str], dict[str, str]]:
        """The office the case was routed to, and the procuracy of its province."""
        province = self.state["province"]
        office, procuracy = enforcement_organ(province), procuracy_organ(province)
        return ({"organ_id": office.organ_id, "name": office.name},
                {"organ_id": procuracy.organ_id, "name": procuracy.name})

    def case_view(self) -> dict[str, Any]:
        view: dict[str, Any] = self.get(f"/v1/cases/{self.case_id}")
        return view

    def offers(self, path: str) -> bool:
        return path in self.get("/openapi.json").get("paths", {})

    # --- the run ----------------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, str, Callable[[StepResult], None]]]:
        return [
            ("judgment", "A court pushes a signed judgment; the intake record appears", self.judgment),
            ("verification", "The debtor is verified across agencies, one bank slow: a partial report",
             self.verification),
            ("notification", "Notice: VNeID refused for lack of consent, registered letter, delivery",
             self.notification),
            ("measures", "Account freeze and land restriction, the copy to the procuracy", self.measures),
            ("procuracy", "The procuracy answers with a recommendation, linked to the case", self.recommendation),
            ("receipt", "A transfer arrives: an electronic receipt with its QR code", self.receipt),
            ("payout", "Payout to the creditors, per creditor", self.payout),
            ("audit", "audit verify: the message log is intact", self.audit),
        ]

    def run(self, on_step: Callable[[StepResult], None] = lambda s: None) -> list[StepResult]:
        results = []
        self._marks, self._exchanges = self.mocks.mark(AGENCIES), self.log.exchanges()
        for number, (key, title, act) in enumerate(self.steps(), start=1):
            result = self._told(StepResult(number, key, title), act)
            results.append(result)
            on_step(result)
        return results

    def _told(self, result: StepResult, act: Callable[[StepResult], None]) -> StepResult:
        """One step, and what the witnesses recorded from the end of the previous step to the end of this one."""
        started = time.monotonic()
        try:
            if result.key != "judgment" and self.case_id is None:
                raise Skipped("no case: the judgment's intake (step 1) did not happen")
            act(result)
        except Skipped as exc:
            result.status, result.reason = "skipped", str(exc)
        except Contradicted as exc:
            result.status, result.reason = "failed", str(exc)
        except (httpx.HTTPError, OSError, ValueError, LookupError) as exc:
            result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
        seen, self._marks = self.mocks.since(self._marks)
        exchanges = self.log.exchanges()
        result.figures["mocks"] = {"received": received_counts(seen), "effects": effect_counts(seen)}
        result.figures["message_log"] = exchange_delta(self._exchanges, exchanges)
        self._exchanges = exchanges
        result.seconds = time.monotonic() - started
        return result

    # --- 1 ----------------------------------------------------------------------------------------
    def _feed(self, after: int = 0) -> tuple[list[dict[str, Any]], int]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.get("/v1/judgments", after=after, limit=500)
            items += page["items"]
            if not page["items"]:
                return items, after
            after = page["next"]

    def judgment(self, s: StepResult) -> None:
        number = self.cast.judgment.number
        _, cursor = self._feed()
        item = judgment_push_items(self.world, self.settings.keys, count=1, start=self.cast.index)[0]
        trust = TrustStore.load(self.settings.keys)
        ack = push_one(item, soap_sender(f"{self.hub}/soap/court", trust=trust))
        s.say(f"court → hub SubmitJudgment {number}: "
              + ("acknowledged (DA_TIEP_NHAN, hub-signed receipt verified)" if ack.acknowledged
                 else f"not acknowledged: {ack.code or ack.status}"))
        expect(ack.acknowledged or ack.code == "DUPLICATE", f"the court's push was refused: {ack.code} {ack.detail}")
        new, _ = self._feed(cursor)
        record = next((r for r in new if r["judgment"]["number"]["text"] == number), None)
        if record is None:  # told before on this data dir: the court's push was a duplicate
            record = next((r for r in self._feed()[0] if r["judgment"]["number"]["text"] == number), None)
        expect(record is not None, f"no intake record for {number} in GET /v1/judgments")
        assert record is not None
        self.case_ref, self.case_id = record["case_ref"], record["case"]["id"]
        self.state["province"] = self.case_ref.split("-")[1]
        view = self.case_view()
        s.say(f"intake {record['intake_ref']}: case {self.case_ref} at {view['case']['office']['name']}, "
              f"state {view['case']['status']}; feed: {len(new)} new record(s)")
        s.figures.update(intake_ref=record["intake_ref"], case_ref=self.case_ref, case_id=self.case_id,
                         judgment=number, acknowledged=ack.acknowledged, duplicate=ack.code == "DUPLICATE",
                         feed_new=len(new), obligations=len(view["case"]["obligations"]))
        self.state["record"] = record

    # --- 2 ----------------------------------------------------------------------------------------
    def verification(self, s: StepResult) -> None:
        debtor = self.cast.debtor
        own_banks = {a.bank_bin for a in self.world.accounts_of(debtor.world_id) if a.status == "active"}
        slow_bin = next((b for b in reversed(SANDBOX_BANK_BINS) if b not in own_banks), SANDBOX_BANK_BINS[-1])
        slow = f"bank-{slow_bin}"
        mark = self.mocks.mark([slow])
        self.mocks.faults(slow, latency_ms=SLOW_MS, latency_sigma=0)
        s.say(f"sandbox: {slow} answers after {SLOW_MS} ms (PUT /banks/{slow_bin}/_admin/faults); "
              f"the request's deadline is {DEADLINE_MS} ms")
        try:
            report = self.post("/v1/verifications", {
                "person_id": debtor.person_id_as_written, "scopes": ["identity", "residence", "bank_accounts", "land"],
                **self.accountable(), "deadline_ms": DEADLINE_MS}, expected=200)
        finally:
            self.mocks.reset_faults(slow)
        sources = {src["agency"]: src for src in report["sources"]}
        accounts = [a for src in report["sources"] for a in src.get("accounts", [])]
        parcels = [p for src in report["sources"] for p in src.get("parcels", [])]
        for agency, src in sorted(sources.items()):
            found = (f", {len(src['accounts'])} account(s)" if src.get("accounts") else "") + (
                f", {len(src['parcels'])} parcel(s)" if src.get("parcels") else "")
            s.say(f"{agency:<12} {src['status']:<10} {src['duration_ms']:>5} ms{found}")
        s.say(f"report {report['id']}: completeness {report['completeness']}")
        s.figures.update(verification_id=report["id"], completeness=report["completeness"], slow_agency=slow,
                         sources={a: src["status"] for a, src in sources.items()}, accounts=len(accounts),
                         parcels=len(parcels))
        self.state["accounts"], self.state["parcels"] = accounts, parcels
        self.state["residence"] = next((src["residence"] for src in report["sources"] if src.get("residence")), None)
        # The slow bank still answers, after the report was given: wait for it, so that its late request is
        # counted in this step and not in the next one.
        late = self.wait_for(f"{slow} answering late", lambda: self.mocks.since(mark)[0][slow]["received"],
                             SLOW_MS / 1000 + 15)
        took = [dt.datetime.fromisoformat(r["at"]) - dt.datetime.fromisoformat(r["arrived_at"]) for r in late]
        s.say(f"{slow} answered the hub {max(took).total_seconds():.1f} s after the request arrived, "
              "when the report had been given")
        expect(report["completeness"] != "complete", "the report is complete although a bank was slow")
        expect(sources.get(slow, {}).get("status") == "timed_out", f"{slow} is not reported timed out")

    # --- 3 ----------------------------------------------------------------------------------------
    def notification(self, s: StepResult) -> None:
        if not self.offers("/v1/notifications"):
            raise Skipped("this hub has no notifications API yet (POST /v1/notifications, issue #11)")
        debtor, residence = self.cast.debtor, self.state.get("residence")
        if not residence or not residence.get("province_code"):
            raise Skipped("the population database gave no residence with a province to send a letter to")
        office, _ = self.organs()
        number = _decision_number()
        made = self.post("/v1/notifications", {
            **self.accountable(), "office": office,
            "recipient": {"name": debtor.name_as_written, "person_id": debtor.person_id_as_written,
                          "address": {k: residence.get(k) for k in ("original_text", "province_code", "commune",
                                                                      "street")}},
            "document": {"ref": f"{number}/QĐ-CCTHADS", "kind": "enforcement_decision",
                         "title": f"Quyết định số {number}/QĐ-CCTHADS về thi hành án",
                         "issued_on": dt.date.today().isoformat()}})
        s.say(f"notification {made['reference']}: mode {made['mode']}, due by {made['due_by']}")

        def closed() -> dict[str, Any] | None:
            view: dict[str, Any] = self.get(f"/v1/notifications/{made['id']}")
            return view if view["status"] in ("delivered", "returned") else None

        view = self.wait_for("notification delivered or returned", closed, 90)
        for event in view["events"]:
            why = f" ({event['reason']})" if event.get("reason") else ""
            s.say(f"{event['channel']:<7} {event['status']:<10} from {event['source']}{why}")
        s.say(f"→ {view['status']} by {view['channel']}"
              + (f", letter {view['tracking_number']}" if view.get("tracking_number") else "")
              + f"; deadline {view['deadline_state']}")
        s.figures.update(notification_id=made["id"], status=view["status"], channel=view["channel"],
                         channels=view["channels"], tracking_number=view.get("tracking_number"),
                         events=[[e["channel"], e["status"], e["source"]] for e in view["events"]])
        refused = [e for e in view["events"] if e["channel"] == "vneid" and e["status"] == "refused"]
        expect(bool(refused), "VNeID did not refuse the notice (the debtor has not consented)")
        expect(view["channel"] == "postal", f"the notice was closed by {view['channel']}, not by the letter")

    # --- 4 ----------------------------------------------------------------------------------------
    def _ended(self, ids: Sequence[str], timeout_s: float = 90) -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            views = [self.get(f"/v1/commands/{i}") for i in ids]
            return views if all(v["status"] in END_STATES for v in views) else None
        found: list[dict[str, Any]] = self.wait_for("commands acknowledged", check, timeout_s)
        return found

    def measures(self, s: StepResult) -> None:
        accounts, parcels = self.state.get("accounts"), self.state.get("parcels")
        if not accounts and not parcels:
            raise Skipped("the verification found no account and no parcel to act on")
        office, procuracy = self.organs()
        owed = sum(o.get("amount_vnd") or 0 for o in self._money_owed()) or 1_000_000
        made: list[dict[str, Any]] = []
        if accounts:
            number = _decision_number()
            freeze = self.post("/v1/commands/account-freezes", {**self.accountable(), "decision": {
                "number": number, "notation": "QĐ-CCTHADS", "issued_on": dt.date.today().isoformat(),
                "kind": "account_freeze", "office": office, "procuracy": procuracy, "place": office["name"],
                "subject": "Phong tỏa tài khoản của người phải thi hành án", "signer_name": "Lê Văn Tám",
                "signer_position": "Chấp hành viên", "judgment_number": self.cast.judgment.number},
                "accounts": [{"bank_bin": a["bank_bin"], "account_number": a["account_number"], "amount_vnd": owed}
                             for a in accounts]})
            made += freeze["commands"]
        if parcels:
            restriction = self.post("/v1/commands/land-restrictions", {**self.accountable(), "decision": {
                "number": str(int(_decision_number()) + 1), "notation": "QĐ-CCTHADS",
                "issued_on": dt.date.today().isoformat(), "office": office}, "restriction_kind": "seizure",
                "certificate_serials": [p["certificate_serial"] for p in parcels]})
            made += restriction["commands"]
        views = self._ended([c["id"] for c in made])
        for view in views:
            copy = " (copy of the freeze decision)" if view["kind"] == "procuracy_decision" else ""
            s.say(f"{view['kind']:<18} → {view['agency']:<12} {view['status']:<12} ref {view['agency_ref']}{copy}")
        s.figures.update(commands={v["id"]: {"kind": v["kind"], "agency": v["agency"], "status": v["status"],
                                             "agency_ref": v["agency_ref"]} for v in views})
        expect(all(v["status"] == "acknowledged" for v in views),
               "not every command was acknowledged: " + ", ".join(f"{v['kind']} {v['status']}" for v in views))
        expect(not accounts or any(v["kind"] == "procuracy_decision" for v in views), "no copy to the procuracy")

    def _money_owed(self) -> list[dict[str, Any]]:
        obligations: list[dict[str, Any]] = self.state["record"]["judgment"].get("obligations", [])
        return [o for o in obligations if o.get("kind") == "pay_money" and o.get("amount_vnd")]

    # --- 5 ----------------------------------------------------------------------------------------
    def recommendation(self, s: StepResult) -> None:
        before = len(self.case_view()["procuracy_actions"])
        item = action_push_items(self.world, self.settings.keys, count=1, case_refs=[str(self.case_ref)],
                                 seed=self.run_seed)[0]
        ack = push_one(item, procuracy_sender(f"{self.hub}/v1/inbound/procuracy"))
        s.say("procuracy → hub GuiKienNghi: " + ("acknowledged" if ack.acknowledged else f"refused {ack.code}"))
        expect(ack.acknowledged, f"the procuracy's push was refused: {ack.code} {ack.detail}")
        actions = self.case_view()["procuracy_actions"]
        s.say(f"case {self.case_ref}: {len(actions)} procuracy action(s), {len(actions) - before} new")
        for action in actions[before:]:
            s.say(f"{action['kind']} {action.get('document_id', '')}: {action.get('subject', '')[:80]}")
        s.figures.update(actions_before=before, actions_after=len(actions),
                         kinds=[a["kind"] for a in actions[before:]])
        expect(len(actions) == before + 1 and actions[-1]["kind"] == "recommendation",
               "the recommendation is not linked to the case")

    # --- 6 ----------------------------------------------------------------------------------------
    def receipt(self, s: StepResult) -> None:
        before = len(self.case_view()["receipts"])
        # A world holding only this judgment: the transfer is the debtor's own, its note names the case.
        own = dataclasses.replace(self.world, judgments=(self.cast.judgment,))
        payer_bank = next(a.bank_bin for a in self.world.accounts_of(self.cast.debtor.world_id)
                          if a.status == "active")
        item = transfer_push_items(own, self.settings.keys, payer_bank, count=1, office_account=DEFAULT_OFFICE_ACCOUNT,
                                   seed=self.run_seed, case_ref_of=lambda _j, _i: str(self.case_ref))[0]
        ack = push_one(item, bank_sender(self.hub + EVENTS_PATH.format(bin=payer_bank)))
        s.say(f"bank-{payer_bank} → hub BaoCo: " + ("acknowledged" if ack.acknowledged else f"refused {ack.code}"))
        expect(ack.acknowledged, f"the bank's credit advice was refused: {ack.code} {ack.detail}")
        receipts = self.case_view()["receipts"]
        expect(len(receipts) == before + 1, f"{len(receipts) - before} new receipts on the case, not 1")
        receipt_id = str(receipts[-1]["id"])
        full = self.get(f"/v1/receipts/{receipt_id}")
        verify = httpx.get(f"{self.hub}/v1/receipts/{receipt_id}/verify", timeout=10).json()
        qr = httpx.get(f"{self.hub}/v1/receipts/{receipt_id}/qr.svg", timeout=10)
        qr_file = self.settings.data_dir / "demo" / f"receipt-{receipt_id}.svg"
        qr_file.parent.mkdir(parents=True, exist_ok=True)
        qr_file.write_bytes(qr.content)
        s.say(f"receipt {verify.get('series')} no. {verify.get('number')}: {verify.get('amount_vnd'):,} đồng, "
              f"genuine={verify.get('genuine')}")
        s.say(f"QR code ({qr.headers.get('content-type')}, {len(qr.content)} bytes) saved: {qr_file}")
        s.say(f"public check: {self.hub}/v1/receipts/{receipt_id}/verify")
        s.figures.update(receipt_id=receipt_id, receipts_before=before, receipts_after=len(receipts),
                         amount_vnd=verify.get("amount_vnd"), genuine=verify.get("genuine"),
                         number=verify.get("number"), series=verify.get("series"), qr_bytes=len(qr.content),
                         signed=bool(full.get("signed_xml") or full.get("signed")))
        self.state["received_vnd"] = verify.get("amount_vnd")
        expect(verify.get("genuine") is True, f"the receipt does not verify: {verify}")
        expect(qr.status_code == 200 and b"<svg" in qr.content[:400], "no QR code")

    # --- 7 ----------------------------------------------------------------------------------------
    def payout(self, s: StepResult) -> None:
        received = self.state.get("received_vnd")
        if not received:
            raise Skipped("no money received for the case (step 6)")
        account = self.cast.creditor_account
        claim = sum(o["amount_vnd"] for o in self._money_owed()) or received
        office, _ = self.organs()
        body = {**self.accountable(), "decision": {"number": _decision_number(), "notation": "QĐ-CTHADS",
                                                   "issued_on": dt.date.today().isoformat(), "office": office},
                "total_vnd": min(received, claim), "office_accounts": [
                    {"bank_bin": b, "account_number": DEFAULT_OFFICE_ACCOUNT} for b in SANDBOX_BANK_BINS],
                "creditors": [{"name": account.holder_name, "bank_bin": account.bank_bin,
                               "account_number": account.account_number, "claim_vnd": claim}]}
        payout = self.post("/v1/payouts", body)

        def reported() -> dict[str, Any] | None:
            view: dict[str, Any] = self.get(f"/v1/payouts/{payout['id']}")
            return view if view["status"] != "paying" else None

        view = self.wait_for("payout reported", reported, 90)
        page = self.get(f"/v1/payouts/{payout['id']}/creditors")
        for c in page["creditors"]:
            s.say(f"creditor {c['position']}: share {c['share_vnd']:,} đồng → {c['status']}")
        s.say(f"payout {view['status']}: settled {view['totals']['settled_vnd']:,} of {view['total_vnd']:,} đồng "
              f"in {len(view['batches'])} batch(es)")
        s.figures.update(payout_id=payout["id"], status=view["status"], total_vnd=view["total_vnd"],
                         settled_vnd=view["totals"]["settled_vnd"],
                         creditors=[{"position": c["position"], "share_vnd": c["share_vnd"], "status": c["status"]}
                                    for c in page["creditors"]])
        expect(view["status"] == "paid", f"the payout ended {view['status']}")

    # --- 8 ----------------------------------------------------------------------------------------
    def audit(self, s: StepResult) -> None:
        from hub.audit.verify import verify_log

        report = verify_log(self.db, TrustStore.load(self.settings.keys))
        s.say(f"{report.entries} entries in {report.partitions} partitions, {report.checkpoints} checkpoint(s): "
              + ("intact" if report.intact else f"NOT INTACT ({len(report.findings)} findings)"))
        for finding in report.findings[:5]:
            s.say(f"TAMPERED {finding}")
        s.figures.update(intact=report.intact, entries=report.entries, partitions=report.partitions,
                         checkpoints=report.checkpoints, findings=[str(f) for f in report.findings])
        expect(report.intact, "the message log is not intact")

    def close(self) -> None:
        self.http.close()
        self.mocks.close()
        self.db.dispose()


def start_story(hub: str, sandbox: str, *, seed: int, citizens: int) -> Story:
    """The world the sandbox serves (the same seed and size give the same one), the cast, and an API client
    holding every scope the story needs."""
    settings = get_settings()
    db = Database(settings.database_url)
    world = build_world(seed=seed, citizens=citizens)
    with db.engine.connect() as conn:
        held = [r[0] for r in conn.execute(judgments.select().with_only_columns(judgments.c.number_text))]
    cast, fresh = pick_cast(world, held)
    _, key = add_client(db, f"demo-{uuid.uuid4().hex[:8]}", SCOPES)
    http = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {key}"})
    return Story(hub, sandbox, settings, world, cast, fresh, key, db, MockProbe(sandbox), LogProbe(db), http)
