"""Records as the population connector maps them, for the pure identity tests."""

from __future__ import annotations

from datetime import date

from hub.identity import Candidate
from hub.model import Address, Party, PartyKind
from hub.model.verification import IdentityCandidate, MatchReason

BORN = date(1980, 5, 17)


def citizen(name: str, person_id: str, *, born: date | None = BORN, lives: str = "Xã Mỹ Phong, tỉnh Đồng Tháp",
            used_to_live: str | None = None) -> Party:
    """A citizen record: today's address, and the pre-merger one when the record still has it (with its
    district, as the population database writes it)."""
    addresses = [Address.from_text(lives)]
    if used_to_live is not None:
        old = Address.from_text(used_to_live)
        addresses.append(old.model_copy(update={"former_district": used_to_live.split(",")[-2].strip()}))
    return Party(kind=PartyKind.INDIVIDUAL, full_name=name, person_id=person_id, birth_date=born,
                 addresses=addresses)


def found(*people: Party, source: str = "population") -> list[Candidate]:
    return [Candidate(p, source) for p in people]


def reasons(candidate: IdentityCandidate) -> list[MatchReason]:
    return [r.reason for r in candidate.reasons]
