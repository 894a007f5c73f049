"""The demo's choice of judgment: one that lets every step happen, a new one on each run of a data dir, and
the first again (told as a duplicate) once all are taken in."""

from __future__ import annotations

import pytest

from hub.demo.cast import pick_cast
from sandbox_mocks.seed.world import World, build_world


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=2026, citizens=10_000)  # the demo's default world


def test_the_cast_can_play_every_step(world: World) -> None:
    cast, fresh = pick_cast(world, [])
    assert fresh and world.judgments[cast.index] is cast.judgment
    citizen = world.citizen(cast.debtor.world_id)
    assert citizen is not None and cast.debtor.person_id_as_written == citizen.person_id
    assert not citizen.vneid_consent  # VNeID must refuse, so the letter goes
    assert [a for a in world.accounts_of(citizen.person_id) if a.status == "active"]
    assert world.parcels_of(citizen.person_id)
    assert cast.creditor.role == "obligee" and cast.creditor_account.owner_id == cast.creditor.world_id
    assert cast.creditor_account.status == "active"


def test_each_run_takes_a_judgment_not_yet_held_then_the_first_again(world: World) -> None:
    told: list[str] = []
    while True:
        cast, fresh = pick_cast(world, told)
        if not fresh:
            break
        assert cast.judgment.number not in told
        told.append(cast.judgment.number)
    assert len(told) >= 5  # enough fresh stories for a newcomer's first runs
    assert cast.judgment.number == told[0]


def test_a_world_without_a_fitting_judgment_says_so() -> None:
    with pytest.raises(LookupError, match="--citizens"):
        pick_cast(build_world(seed=2026, citizens=500), [])
