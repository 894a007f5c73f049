"""Accepting payouts and re-sends, and reading them back.

Accepting is one SQL transaction: the payout, every creditor's share, the transfers, their batches and one
``payout_batch`` command per batch (with its history and outbox entry) commit together. A payout is keyed
by its decision (the office and the decision's number): the same request again answers the stored payout
and stages nothing, so nobody is paid twice; the same decision with other content is a conflict.

A re-send takes the transfers a finished round left rejected (and only those), with the officer's corrected
accounts, into a new round: new transfer ids, new batch ids, new commands. It is keyed by the round it
re-sends, so asking twice re-sends once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from hub.clients import ApiClient
from hub.commands.kinds import CommandKind, CommandStatus, PlannedCommand
from hub.commands.requests import CommandRequest, bank_agency
from hub.commands.service import CommandService
from hub.errors import Conflict, InvalidValue, NotFound
from hub.payouts.batches import Transfer, plan_batches, transfer_id
from hub.payouts.requests import PayoutRequest, ResendRequest
from hub.payouts.shares import pro_rata
from hub.payouts.views import (
    BatchView,
    CreditorPage,
    CreditorStatus,
    CreditorView,
    PayoutStatus,
    PayoutSummary,
    PayoutTotals,
    PayoutView,
    TransferOutcome,
)
from hub.store.database import Database
from hub.store.tables import commands, payout_batches, payout_rounds, payout_shares, payout_transfers, payouts
from hub.store.timestamps import as_utc, utc_now

_CHUNK = 1000
MAX_LISTED = 1000


def payout_url(payout_id: uuid.UUID) -> str:
    return f"/v1/payouts/{payout_id}"


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(table), rows[start:start + _CHUNK])


@dataclass
class PayoutService:
    db: Database

    # -- accepting ---------------------------------------------------------------------------------------

    def accept(self, client: ApiClient, request: PayoutRequest, limits: Mapping[str, int]) -> uuid.UUID:
        """The payout's id; ``limits`` is the most transfers one message may carry, per office bank."""
        for attempt in range(3):
            try:
                with self.db.begin() as conn:
                    return self._accept(conn, client, request, limits)
            except IntegrityError:  # the same payout accepted by another request first: read it next round
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _accept(self, conn: Connection, client: ApiClient, request: PayoutRequest, limits: Mapping[str, int]
                ) -> uuid.UUID:
        key, body_hash = request.natural_key, request.body_hash()
        seen = conn.execute(select(payouts.c.id, payouts.c.request_hash).where(payouts.c.natural_key == key)).first()
        if seen is not None:
            if seen.request_hash != body_hash:
                raise Conflict(f"decision {request.decision.ref} already pays out with other content "
                               f"(payout {seen.id})", rule="same_decision_differs", payout_id=str(seen.id))
            return uuid.UUID(str(seen.id))
        now = utc_now()
        payout_id = uuid.uuid5(uuid.NAMESPACE_URL, f"thads-payout:{key}")
        shares = pro_rata(request.total_vnd, [c.claim_vnd for c in request.creditors])
        conn.execute(insert(payouts).values(
            id=payout_id, natural_key=key, request_hash=body_hash, case_ref=request.case, client_name=client.name,
            officer=(request.officer or "").strip(), purpose=(request.purpose or "").strip(),
            decision_ref=request.decision.ref, decision=request.decision.model_dump(mode="json"),
            total_vnd=request.total_vnd, claims_vnd=sum(c.claim_vnd for c in request.creditors),
            office_accounts=[a.model_dump() for a in request.office_accounts], creditors=len(request.creditors),
            created_at=now))
        _insert(conn, payout_shares, [
            {"payout_id": payout_id, "position": n, "name": c.name, "claim_vnd": c.claim_vnd, "share_vnd": share}
            for n, (c, share) in enumerate(zip(request.creditors, shares, strict=True), start=1)])
        transfers = [Transfer(transfer_id(key, n, 1), n, c.bank_bin, c.account_number, c.name, share)
                     for n, (c, share) in enumerate(zip(request.creditors, shares, strict=True), start=1) if share]
        office = {a.bank_bin: a.account_number for a in request.office_accounts}
        self._round(conn, client, request, payout_id, key, 1, body_hash, [], transfers, office, limits)
        return payout_id

    def _round(self, conn: Connection, client: ApiClient, asked: PayoutRequest | ResendRequest,
               payout_id: uuid.UUID, key: str, round_: int, body_hash: str, corrections: list[dict[str, Any]],
               transfers: list[Transfer], office: Mapping[str, str], limits: Mapping[str, int]) -> None:
        now = utc_now()
        conn.execute(insert(payout_rounds).values(payout_id=payout_id, round=round_, request_hash=body_hash,
                                                  corrections=corrections, created_at=now))
        batches = plan_batches(key, round_, transfers, office, limits)
        decision_ref = conn.execute(select(payouts.c.decision_ref).where(payouts.c.id == payout_id)).scalar_one()
        planned = [PlannedCommand(kind=CommandKind.PAYOUT_BATCH, agency=bank_agency(b.paying_bin), target=b.batch_id,
                                  decision_ref=decision_ref, payload={"batch_id": b.batch_id}) for b in batches]
        # The commands' own acceptance, inside this transaction: each batch's command row, its first history
        # entry and its outbox entry commit with the payout's rows.
        asking = cast(CommandRequest, asked)
        command_ids = CommandService(self.db)._accept(conn, client, asking, planned, None, "")
        _insert(conn, payout_batches, [
            {"batch_id": b.batch_id, "payout_id": payout_id, "round": round_, "paying_bin": b.paying_bin,
             "debtor_account": b.debtor_account, "command_id": c, "transfers": len(b.transfers),
             "amount_vnd": b.amount_vnd} for b, c in zip(batches, command_ids, strict=True)])
        _insert(conn, payout_transfers, [
            {"id": t.id, "payout_id": payout_id, "position": t.position, "round": round_, "batch_id": b.batch_id,
             "bank_bin": t.bank_bin, "account_number": t.account_number, "name": t.name,
             "amount_vnd": t.amount_vnd, "status": CreditorStatus.PENDING.value, "created_at": now}
            for b in batches for t in b.transfers])

    def resend(self, client: ApiClient, payout_id: uuid.UUID, request: ResendRequest,
               limits: Mapping[str, int]) -> None:
        for attempt in range(3):
            try:
                with self.db.begin() as conn:
                    self._resend(conn, client, payout_id, request, limits)
                return
            except IntegrityError:  # the same re-send accepted by another request first
                if attempt == 2:
                    raise

    def _resend(self, conn: Connection, client: ApiClient, payout_id: uuid.UUID, request: ResendRequest,
                limits: Mapping[str, int]) -> None:
        payout = self._payout(conn, payout_id)
        if payout.case_ref != request.case:
            raise Conflict("the re-send names another case than the payout", rule="case_differs")
        new_round, body_hash = request.round + 1, request.body_hash()
        rounds = {r.round: r.request_hash for r in conn.execute(
            select(payout_rounds.c.round, payout_rounds.c.request_hash).where(payout_rounds.c.payout_id == payout_id))}
        if new_round in rounds:
            if rounds[new_round] != body_hash:
                raise Conflict(f"round {request.round} was already re-sent with other corrections",
                               rule="resend_differs", round=new_round)
            return
        if request.round != max(rounds):
            raise Conflict(f"round {request.round} is not the payout's latest ({max(rounds)})", rule="round_not_latest")
        outcomes = _outcomes(conn, payout_id, request.round)
        if any(o.status is CreditorStatus.PENDING for o in outcomes):
            raise Conflict(f"round {request.round} still waits for a bank's report", rule="round_open")
        rejected = {o.position: o for o in outcomes if o.status is CreditorStatus.REJECTED}
        if not rejected:
            raise Conflict(f"round {request.round} left nothing rejected", rule="nothing_rejected")
        stray = sorted(c.position for c in request.corrections if c.position not in rejected)
        if stray:
            raise InvalidValue(f"creditors {stray[:10]} were not rejected in round {request.round}",
                               code="REQUEST_INVALID", rule="correction_not_rejected")
        fixed = {c.position: c for c in request.corrections}
        transfers = []
        for position, was in sorted(rejected.items()):
            fix = fixed.get(position)
            transfers.append(Transfer(
                transfer_id(payout.natural_key, position, new_round), position,
                fix.bank_bin if fix else was.bank_bin, fix.account_number if fix else was.account_number,
                (fix.name if fix and fix.name else was.name), was.amount_vnd))
        office = {a["bank_bin"]: a["account_number"] for a in payout.office_accounts}
        self._round(conn, client, request, payout_id, payout.natural_key, new_round, body_hash,
                    [c.model_dump() for c in request.corrections], transfers, office, limits)

    # -- reading -----------------------------------------------------------------------------------------

    @staticmethod
    def _payout(conn: Connection, payout_id: uuid.UUID) -> Any:
        row = conn.execute(select(payouts).where(payouts.c.id == payout_id)).first()
        if row is None:
            raise NotFound(f"no payout {payout_id}")
        return row

    def get(self, payout_id: uuid.UUID) -> PayoutView:
        with self.db.engine.connect() as conn:
            payout = self._payout(conn, payout_id)
            latest = _latest_outcomes(conn, payout_id)
            shares = _shares(conn, payout_id)
            batches = conn.execute(
                select(payout_batches, commands.c.status).join(commands, commands.c.id == payout_batches.c.command_id)
                .where(payout_batches.c.payout_id == payout_id)
                .order_by(payout_batches.c.round, payout_batches.c.batch_id)).all()
        totals = _totals(len(shares), latest.values())
        return PayoutView(
            **_summary(payout, totals, max((b.round for b in batches), default=1)).model_dump(),
            officer=payout.officer, purpose=payout.purpose, office_accounts=payout.office_accounts, totals=totals,
            batches=[BatchView(batch_id=b.batch_id, round=b.round, bank_bin=b.paying_bin,
                               debtor_account=b.debtor_account, transfers=b.transfers, amount_vnd=b.amount_vnd,
                               command_id=b.command_id, command_url=f"/v1/commands/{b.command_id}",
                               status=CommandStatus(b.status), report_id=b.report_id) for b in batches],
            rejected=[o for o in latest.values() if o.status is CreditorStatus.REJECTED])

    def creditors(self, payout_id: uuid.UUID, offset: int, limit: int,
                  status: CreditorStatus | None = None) -> CreditorPage:
        with self.db.engine.connect() as conn:
            self._payout(conn, payout_id)
            latest = _latest_outcomes(conn, payout_id)
            shares = _shares(conn, payout_id)
        views = []
        for share in shares:
            outcome = latest.get(share.position)
            if outcome is None:  # no transfer: the share rounded to nothing
                outcome = TransferOutcome(position=share.position, name=share.name, bank_bin="", account_number="",
                                          amount_vnd=0, round=1, status=CreditorStatus.NOTHING_DUE)
            views.append(CreditorView(**outcome.model_dump(), claim_vnd=share.claim_vnd, share_vnd=share.share_vnd))
        chosen = [v for v in views if status is None or v.status is status]
        return CreditorPage(creditors=chosen[offset:offset + limit], total=len(chosen), offset=offset)

    def by_case(self, case_ref: str) -> list[PayoutSummary]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(payouts).where(payouts.c.case_ref == case_ref.strip())
                                .order_by(payouts.c.created_at, payouts.c.id).limit(MAX_LISTED)).all()
            listed = []
            for row in rows:
                latest = _latest_outcomes(conn, row.id)
                rounds = max((o.round for o in latest.values()), default=1)
                listed.append(_summary(row, _totals(row.creditors, latest.values()), rounds))
        return listed


def _shares(conn: Connection, payout_id: uuid.UUID) -> list[Any]:
    return list(conn.execute(select(payout_shares).where(payout_shares.c.payout_id == payout_id)
                             .order_by(payout_shares.c.position)).all())


def _outcomes(conn: Connection, payout_id: uuid.UUID, round_: int | None = None) -> list[TransferOutcome]:
    """Each transfer of the payout (of one round), as reported; a transfer of a batch whose command failed
    (the bank refused the whole message, or its answer could not be trusted) counts as rejected."""
    query = (select(payout_transfers, commands.c.status.label("command_status"), commands.c.error_code,
                    commands.c.error_detail)
             .join(payout_batches, payout_batches.c.batch_id == payout_transfers.c.batch_id)
             .join(commands, commands.c.id == payout_batches.c.command_id)
             .where(payout_transfers.c.payout_id == payout_id)
             .order_by(payout_transfers.c.round, payout_transfers.c.position))
    if round_ is not None:
        query = query.where(payout_transfers.c.round == round_)
    out = []
    for t in conn.execute(query):
        status, code, reason = CreditorStatus(t.status), t.reason_code, t.reason
        if status is CreditorStatus.PENDING and t.command_status == CommandStatus.FAILED.value:
            status, code, reason = CreditorStatus.REJECTED, t.error_code, t.error_detail
        out.append(TransferOutcome(position=t.position, name=t.name, bank_bin=t.bank_bin,
                                   account_number=t.account_number, amount_vnd=t.amount_vnd, round=t.round,
                                   status=status, reason_code=code, reason=reason[:300] if reason else None,
                                   bank_reference=t.bank_reference))
    return out


def _latest_outcomes(conn: Connection, payout_id: uuid.UUID) -> dict[int, TransferOutcome]:
    """Per creditor, its latest round's transfer (rounds are read in order, so later ones overwrite)."""
    return {o.position: o for o in _outcomes(conn, payout_id)}


def _totals(creditors: int, latest: Iterable[TransferOutcome]) -> PayoutTotals:
    totals = PayoutTotals(creditors=creditors)
    counted = 0
    for o in latest:
        counted += 1
        name = o.status.value
        setattr(totals, name, getattr(totals, name) + 1)
        setattr(totals, f"{name}_vnd", getattr(totals, f"{name}_vnd") + o.amount_vnd)
    totals.nothing_due = creditors - counted
    return totals


def _summary(row: Any, totals: PayoutTotals, rounds: int) -> PayoutSummary:
    if totals.pending:
        status = PayoutStatus.PAYING
    elif totals.rejected:
        status = PayoutStatus.AWAITING_CORRECTION
    else:
        status = PayoutStatus.PAID
    return PayoutSummary(id=row.id, url=payout_url(row.id), case_ref=row.case_ref, decision_ref=row.decision_ref,
                         total_vnd=row.total_vnd, claims_vnd=row.claims_vnd, status=status, rounds=rounds,
                         created_at=as_utc(row.created_at))

