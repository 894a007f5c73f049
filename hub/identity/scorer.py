"""Identity resolution: score each candidate the population database returned against what the judgment
says, with a named reason per field, then decide. Pure: no I/O, no clock, the same answer every time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.identity.places import Place, place_of_hints, places_of
from hub.identity.policy import DEFAULT_POLICY, ScoringPolicy
from hub.model.names import clean_name, fold_diacritics, name_key
from hub.model.party import Party
from hub.model.person_id import decode_person_id, mask_person_id
from hub.model.verification import (
    IdentityCandidate,
    IdentityDecision,
    IdentityResolution,
    MatchReason,
    ScoredReason,
    SubjectHints,
)


@dataclass(frozen=True)
class Candidate:
    """A person a source returned for the hints. Only people with a citizen ID can be candidates: the
    verification that follows a resolution looks everything up by that ID."""

    party: Party
    source: str


@dataclass(frozen=True)
class Resolution:
    outcome: IdentityResolution
    person: Party | None = None  # the resolved person, with the full ID: never put in a report
    source: str | None = None  # the agency that returned them
    listed: tuple[Party, ...] = ()  # the people behind outcome.candidates, in order: whose data the report shows


def _words_apart(written: str, recorded: str) -> str:
    pairs = [f"{a} ~ {b}" for a, b in zip(written.split(), recorded.split(), strict=False) if a != b]
    return ", ".join(pairs) or f"{written} ~ {recorded}"


def name_reason(written: str, recorded: str) -> tuple[MatchReason, str | None]:
    written, recorded = clean_name(written), clean_name(recorded)
    if written.casefold() == recorded.casefold():
        return MatchReason.NAME_EXACT, None
    if name_key(written) == name_key(recorded):
        return MatchReason.NAME_TONE_PLACEMENT, _words_apart(written, recorded)
    if fold_diacritics(written).casefold() == fold_diacritics(recorded).casefold():
        lost = fold_diacritics(written) == written
        return (MatchReason.NAME_DIACRITICS_LOST if lost else MatchReason.NAME_DIACRITICS_DIFFER,
                _words_apart(written, recorded))
    return MatchReason.NAME_DIFFERS, None


def _recorded_birth_year(party: Party) -> int | None:
    if party.birth_date is not None:
        return party.birth_date.year
    return decode_person_id(party.person_id).birth_year if party.person_id else None


def birth_reason(hints: SubjectHints, party: Party) -> tuple[MatchReason, str | None]:
    if hints.birth_date is not None and party.birth_date is not None:
        if hints.birth_date == party.birth_date:
            return MatchReason.BIRTH_DATE_EXACT, None
        same_year = hints.birth_date.year == party.birth_date.year
        return MatchReason.BIRTH_DIFFERS, "same year, another day" if same_year else None
    year = hints.birth_year if hints.birth_year is not None else (hints.birth_date.year if hints.birth_date else None)
    recorded = _recorded_birth_year(party)
    if year is None or recorded is None:
        return MatchReason.BIRTH_UNKNOWN, None
    if year != recorded:
        return MatchReason.BIRTH_DIFFERS, f"{year} vs {recorded}"
    # Only a year on one side: the record's full date, when there is one, was not compared.
    return MatchReason.BIRTH_YEAR_MATCHES, str(year)


def province_reason(hint: Place | None, places: Sequence[Place]) -> tuple[MatchReason, str | None]:
    if hint is None or not places:
        return MatchReason.PROVINCE_UNKNOWN, None
    if hint.former is not None and any(p.former == hint.former for p in places):
        return MatchReason.PROVINCE_SAME, hint.label
    matching = [p for p in places if p.code == hint.code]
    if not matching:
        return MatchReason.PROVINCE_DIFFERS, f"{hint.label} vs {places[0].label}"
    recorded_former = next((p.former for p in matching if p.former is not None), None)
    if hint.former is not None and recorded_former is not None:
        # Both merged into one unit, but they were different provinces: different places.
        return MatchReason.PROVINCE_DIFFERS, f"{hint.label} vs former {recorded_former.name}"
    if hint.former is not None:
        return MatchReason.PROVINCE_FORMER_SAME, f"{hint.label} -> {matching[0].name}"
    if recorded_former is not None and all(p.former is not None for p in matching):
        # Only the record's pre-merger address places them here.
        return MatchReason.PROVINCE_FORMER_SAME, f"former {recorded_former.name} -> {hint.name}"
    return MatchReason.PROVINCE_SAME, None


def score(hints: SubjectHints, candidate: Candidate, policy: ScoringPolicy = DEFAULT_POLICY) -> IdentityCandidate:
    party = candidate.party
    found = [name_reason(hints.full_name, party.full_name), birth_reason(hints, party),
             province_reason(place_of_hints(hints), places_of(party.addresses))]
    reasons = [ScoredReason(reason=r, points=policy.points[r], detail=d) for r, d in found]
    current = party.addresses[0].province_code if party.addresses else None
    return IdentityCandidate(person_id_masked=mask_person_id(party.person_id or ""), full_name=party.full_name,
                             province_code=current, source=candidate.source,
                             score=sum(r.points for r in reasons), reasons=reasons)


def resolve(hints: SubjectHints, candidates: Sequence[Candidate],
            policy: ScoringPolicy = DEFAULT_POLICY) -> Resolution:
    """Score every candidate and decide: RESOLVED, AMBIGUOUS, WEAK or NO_MATCH (see ``ScoringPolicy``)."""
    unique: dict[str, Candidate] = {}
    for c in candidates:
        if c.party.person_id is not None:
            unique.setdefault(c.party.person_id, c)  # two sources may return one person: count them once
    scored = sorted(((score(hints, c, policy), c) for c in unique.values()),
                    key=lambda sc: (-sc[0].score, sc[1].party.person_id or ""))
    listed = scored[:policy.max_listed]
    shown = f" (the best {policy.max_listed} of {len(scored)} listed)" if len(scored) > policy.max_listed else ""

    def decided(decision: IdentityDecision, detail: str, chosen: Candidate | None = None) -> Resolution:
        outcome = IdentityResolution(decision=decision, detail=detail + shown, candidates=[s for s, _ in listed])
        return Resolution(outcome, person=chosen.party if chosen else None, source=chosen.source if chosen else None,
                          listed=tuple(c.party for _, c in listed))

    if not scored:
        return decided(IdentityDecision.NO_MATCH, "nobody with this name and birth date was found")
    (best, chosen), others = scored[0], scored[1:]
    if best.score < policy.plausible_at:
        return decided(IdentityDecision.NO_MATCH, f"no plausible candidate: the best scored {best.score}, below "
                                                  f"{policy.plausible_at}")
    rivals = [s for s, _ in others if s.score >= policy.plausible_at and best.score - s.score < policy.margin]
    if rivals:
        return decided(IdentityDecision.AMBIGUOUS, f"{len(rivals) + 1} candidates within {policy.margin} points of "
                                                   f"the best ({best.score}): the officer must choose")
    if best.score < policy.resolve_at:
        return decided(IdentityDecision.WEAK, f"the best candidate scored {best.score}, below {policy.resolve_at}: "
                                              "the officer must confirm")
    return decided(IdentityDecision.RESOLVED, f"one candidate scored {best.score} (resolves at {policy.resolve_at}), "
                                              f"no other within {policy.margin}", chosen)
