"""The points each reason is worth and the thresholds of the decision: data, so they can be tuned (and
argued about) in one place, without touching the scorer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hub.model.verification import MatchReason


@dataclass(frozen=True)
class ScoringPolicy:
    """A candidate's score is the sum of the points of its three reasons (name, birth, province): 100 at most.

    Why these numbers (``DEFAULT_POLICY``):

    - The name and the birth date carry the identification; the province only separates namesakes. A
      judgment's name and full birth date (50 + 35 = 85) resolve a person the search found alone; with only
      the birth year (50 + 20 = 70) the province must agree too (+ 15 = 85).
    - Old and new tone placement (Hoà / Hòa) is the same written name under two spelling conventions, so it
      is worth exactly what an exact name is worth: it is not a fuzzy match.
    - A name typed without any diacritics (Hoa for Hòa, common in old case systems) still fits, but Hoa,
      Hòa, Hóa and Hỏa are different names, so it is worth less (30): with the full birth date and the
      province (80) it resolves only when nobody else fits as well.
    - A name written with diacritics that differ from the record's (Hoa vs Hòa) is probably another name or
      a typo: worth little (10), it can make a candidate plausible, never resolved.
    - A different name or birth date is evidence against, strongly enough (-100, -40) that no other reason
      can make such a candidate plausible; a different province (-15) is weaker evidence against: people
      move, and a judgment may give an address the person has left.
    - ``plausible_at`` (50): a candidate below cannot be the person, and does not make a match ambiguous.
    - ``resolve_at`` (80): the least a unique candidate needs to be taken without asking the officer.
    - ``margin`` (15): the best candidate must lead every other plausible one by at least the weight of the
      province, the one reason that tells namesakes apart; a closer rival makes the match ambiguous.
    - ``max_listed``: a common name searched by year alone returns many people; the report lists the best.
    """

    points: Mapping[MatchReason, int]
    resolve_at: int
    plausible_at: int
    margin: int
    max_listed: int = 10

    def __post_init__(self) -> None:
        missing = [r.value for r in MatchReason if r not in self.points]
        if missing:
            raise ValueError(f"scoring policy gives no points for {', '.join(missing)}")
        if not self.plausible_at <= self.resolve_at:
            raise ValueError("a resolved candidate must at least be plausible: plausible_at <= resolve_at")


DEFAULT_POLICY = ScoringPolicy(
    points=MappingProxyType({
        MatchReason.NAME_EXACT: 50,
        MatchReason.NAME_TONE_PLACEMENT: 50,
        MatchReason.NAME_DIACRITICS_LOST: 30,
        MatchReason.NAME_DIACRITICS_DIFFER: 10,
        MatchReason.NAME_DIFFERS: -100,
        MatchReason.BIRTH_DATE_EXACT: 35,
        MatchReason.BIRTH_YEAR_MATCHES: 20,
        MatchReason.BIRTH_DIFFERS: -40,
        MatchReason.BIRTH_UNKNOWN: 0,
        MatchReason.PROVINCE_SAME: 15,
        MatchReason.PROVINCE_FORMER_SAME: 15,
        MatchReason.PROVINCE_DIFFERS: -15,
        MatchReason.PROVINCE_UNKNOWN: 0,
    }),
    resolve_at=80,
    plausible_at=50,
    margin=15,
)
