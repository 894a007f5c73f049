"""Who the story follows: a judgment of the sandbox's world whose debtor the court names by citizen ID,
who has open accounts and land, has not consented to VNeID notices, and whose creditor has an account to
be paid into. Only the court's document and the agencies' answers drive the steps; the world is used
to choose a judgment worth telling, never to predict what the hub will report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sandbox_mocks.seed.records import Account, Judgment, JudgmentParty
from sandbox_mocks.seed.world import World


@dataclass(frozen=True)
class Cast:
    index: int  # the judgment's place in the world: what the court pusher takes
    judgment: Judgment
    debtor: JudgmentParty
    creditor: JudgmentParty
    creditor_account: Account


def _active(world: World, owner_id: str) -> list[Account]:
    return [a for a in world.accounts_of(owner_id) if a.status == "active"]


def _cast_of(world: World, index: int, judgment: Judgment) -> Cast | None:
    debtors = [p for p in judgment.parties if p.role == "obligor" and p.kind == "individual"
               and p.person_id_as_written and len(p.person_id_as_written) == 12]
    for debtor in debtors:
        citizen = world.citizen(debtor.world_id)
        if citizen is None or citizen.vneid_consent or not _active(world, debtor.world_id):
            continue
        if not world.parcels_of(debtor.world_id):
            continue
        if not any(d.kind == "pay_money" and d.obligor == debtor.world_id for d in judgment.dispositions):
            continue
        for creditor in (p for p in judgment.parties if p.role == "obligee"):
            accounts = _active(world, creditor.world_id)
            if accounts:
                return Cast(index, judgment, debtor, creditor, accounts[0])
    return None


def pick_cast(world: World, taken: Iterable[str]) -> tuple[Cast, bool]:
    """The first fitting judgment the hub does not hold yet (by number), and whether it is fresh. When a
    data dir has told every fitting story already, the first one is told again: the court's push is then
    a duplicate, and the rest of the story runs on its case as before."""
    held = set(taken)
    fitting = [c for i, j in enumerate(world.judgments) if (c := _cast_of(world, i, j)) is not None]
    if not fitting:
        raise LookupError("the sandbox world has no judgment that fits the demo; use the default --citizens")
    fresh = [c for c in fitting if c.judgment.number not in held]
    return (fresh[0], True) if fresh else (fitting[0], False)
