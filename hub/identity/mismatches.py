"""Where the sources disagree about the subject: the population database's record against what a bank
(or another identity source) says of the same person. Pure, like the scorer.

Banks write a holder's name in upper case without diacritics (NGUYEN VAN HOA), so a bank's name can only
be compared without diacritics; two records that both carry diacritics are compared by ``name_key`` (old
and new tone placement are one name). Citizen IDs appear masked, never in full.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hub.model.names import clean_name, fold_diacritics, name_key
from hub.model.party import Party
from hub.model.person_id import mask_person_id
from hub.model.verification import MismatchField, SourceMismatch, SourceResult


def _unaccented(name: str) -> str:
    return " ".join(fold_diacritics(name).upper().split())


def _name_mismatch(agency: str, a: str, other: str, b: str, detail: str | None = None) -> SourceMismatch | None:
    """The names as they were compared: without diacritics when one side has none to compare."""
    if fold_diacritics(a) == a or fold_diacritics(b) == b:
        values = [_unaccented(a), _unaccented(b)]
    elif name_key(a) != name_key(b):
        values = [clean_name(a), clean_name(b)]
    else:
        return None
    if values[0] == values[1]:
        return None
    return SourceMismatch(field=MismatchField.FULL_NAME, sources=[agency, other], values=values, detail=detail)


def _against_account_holders(agency: str, person: Party, result: SourceResult) -> Iterator[SourceMismatch]:
    for account in result.accounts:
        holder = f"holder of account ending {account.account_number[-4:]}"
        name = _name_mismatch(agency, person.full_name, result.agency, account.holder_name, holder)
        if name is not None:
            yield name
        if account.holder_id and person.person_id and account.holder_id != person.person_id:
            yield SourceMismatch(field=MismatchField.PERSON_ID, sources=[agency, result.agency],
                                 values=[mask_person_id(person.person_id), mask_person_id(account.holder_id)],
                                 detail=holder)


def _against_record(agency: str, person: Party, result: SourceResult, other: Party) -> Iterator[SourceMismatch]:
    name = _name_mismatch(agency, person.full_name, result.agency, other.full_name)
    if name is not None:
        yield name
    if person.birth_date and other.birth_date and person.birth_date != other.birth_date:
        yield SourceMismatch(field=MismatchField.BIRTH_DATE, sources=[agency, result.agency],
                             values=[person.birth_date.isoformat(), other.birth_date.isoformat()])


def find_mismatches(agency: str, person: Party, results: Sequence[SourceResult]) -> list[SourceMismatch]:
    """Every disagreement between ``person`` (the record ``agency`` holds) and the other sources' answers;
    one entry per field, source and pair of values, however many accounts repeat it."""
    found: dict[tuple[str, str, tuple[str, ...]], SourceMismatch] = {}
    for result in results:
        if result.agency == agency:
            continue
        mismatches = list(_against_account_holders(agency, person, result))
        if result.identity is not None:
            mismatches += _against_record(agency, person, result, result.identity)
        for m in mismatches:
            found.setdefault((m.field.value, result.agency, tuple(m.values)), m)
    return list(found.values())
