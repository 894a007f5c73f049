"""Mismatch flags: where a bank (or another identity source) disagrees with the population database about
the subject. Values are shown as compared, and a citizen ID never in full."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.identity import find_mismatches
from hub.model import BankAccount, Party
from hub.model.verification import MismatchField, SourceResult, SourceStatus, VerificationScope
from tests.identity.people import citizen

PERSON = citizen("Nguyễn Văn Hòa", "087080123456")


def account(holder: str, number: str = "0011223344", holder_id: str | None = "087080123456") -> BankAccount:
    return BankAccount(bank_bin="970436", account_number=number, holder_name=holder, holder_id=holder_id)


def bank(*accounts: BankAccount, agency: str = "bank-970436") -> SourceResult:
    return SourceResult(agency=agency, scopes=[VerificationScope.BANK_ACCOUNTS], status=SourceStatus.OK,
                        started_at=datetime.now(UTC), duration_ms=1, accounts=list(accounts))


def registry(record: Party, agency: str = "population") -> SourceResult:
    return SourceResult(agency=agency, scopes=[VerificationScope.IDENTITY], status=SourceStatus.OK,
                        started_at=datetime.now(UTC), duration_ms=1, identity=record)


def test_a_bank_writing_the_name_without_diacritics_agrees() -> None:
    results = [registry(PERSON), bank(account("NGUYEN VAN HOA")),
               bank(account("nguyen  van hoa"), agency="bank-970418")]
    assert find_mismatches("population", PERSON, results) == []


def test_a_bank_holder_with_another_name_is_flagged_with_both_names_as_compared() -> None:
    (flag,) = find_mismatches("population", PERSON, [bank(account("NGUYEN VAN HOAN", number="990011223344"))])
    assert flag.field is MismatchField.FULL_NAME and flag.sources == ["population", "bank-970436"]
    assert flag.values == ["NGUYEN VAN HOA", "NGUYEN VAN HOAN"]
    assert flag.detail == "holder of account ending 3344"


def test_a_holder_id_that_differs_is_flagged_masked() -> None:
    (flag,) = find_mismatches("population", PERSON, [bank(account("NGUYEN VAN HOA", holder_id="079080654321"))])
    assert flag.field is MismatchField.PERSON_ID and flag.values == ["087******456", "079******321"]
    assert "087080123456" not in flag.model_dump_json() and "079080654321" not in flag.model_dump_json()


def test_one_flag_per_bank_however_many_accounts_repeat_it() -> None:
    results = [bank(account("NGUYEN VAN HOAN", number="111111"), account("NGUYEN VAN HOAN", number="222222")),
               bank(account("NGUYEN VAN HOAN"), agency="bank-970418")]
    flags = find_mismatches("population", PERSON, results)
    assert sorted(f.sources[1] for f in flags) == ["bank-970418", "bank-970436"]


def test_another_identity_record_is_compared_by_name_key_and_birth_date() -> None:
    same_name_old_style = citizen("Nguyễn Văn Hoà", "087080123456")
    assert find_mismatches("population", PERSON, [registry(same_name_old_style, agency="court")]) == []
    other = citizen("Nguyễn Văn Hóa", "087080123456", born=date(1980, 6, 1))
    flags = {f.field: f for f in find_mismatches("population", PERSON, [registry(other, agency="court")])}
    assert flags[MismatchField.BIRTH_DATE].values == ["1980-05-17", "1980-06-01"]
    # both written with diacritics: shown with them, or the difference would not show
    assert flags[MismatchField.FULL_NAME].values == ["Nguyễn Văn Hòa", "Nguyễn Văn Hóa"]


def test_the_reference_source_is_not_compared_with_itself() -> None:
    assert find_mismatches("population", PERSON, [registry(citizen("Khác Tên", "087080123456"))]) == []
