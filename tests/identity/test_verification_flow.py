"""Verification by name through the service's scatter-gather, with in-memory agencies: what is searched,
what is looked up after each decision, and the mismatches the report lists."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from hub.connector import Connector
from hub.connectors_runtime import ConnectorSet
from hub.model import BankAccount, Party, SubjectHints, fold_diacritics
from hub.model.verification import (
    IdentityDecision,
    MismatchField,
    SourceStatus,
    VerificationRequest,
    VerificationScope,
)
from hub.resilience.context import CallContext
from hub.verification.scatter import Verified, verify_subject
from tests.identity.people import BORN, citizen

PURPOSE = {"case_ref": "THADS-82-2026-0007", "officer": "Trần Văn Bảy", "purpose": "Xác minh điều kiện thi hành án"}
HOA = citizen("Nguyễn Văn Hòa", "087080123456")
NAMESAKE = citizen("Nguyễn Văn Hòa", "079080654321", lives="Phường Bến Thành, TP Hồ Chí Minh")


@dataclass
class Registry:
    """The population database: searches fold the name as the real one does."""

    people: list[Party]
    agency_id: str = "population"
    searched: list[tuple[SubjectHints, CallContext]] = field(default_factory=list)
    looked_up: list[str] = field(default_factory=list)

    async def lookup_person(self, person_id: str, call: CallContext) -> Party | None:
        self.looked_up.append(person_id)
        return next((p for p in self.people if p.person_id == person_id), None)

    async def search_people(self, hints: SubjectHints, call: CallContext) -> list[Party]:
        self.searched.append((hints, call))
        name = fold_diacritics(hints.full_name).casefold()
        return [p for p in self.people if fold_diacritics(p.full_name).casefold() == name
                and (hints.birth_date is None or p.birth_date == hints.birth_date)]


@dataclass
class Bank:
    accounts: dict[str, list[BankAccount]]
    agency_id: str = "bank-970436"
    asked: list[tuple[str, CallContext]] = field(default_factory=list)

    async def find_accounts(self, owner_id: str, call: CallContext) -> list[BankAccount]:
        self.asked.append((owner_id, call))
        return self.accounts.get(owner_id, [])


def account(holder: str, owner: str = HOA.person_id or "") -> BankAccount:
    return BankAccount(bank_bin="970436", account_number="0011223344", holder_name=holder, holder_id=owner)


def verify(*agencies: Any, scopes: list[str], **subject: Any) -> Verified:
    connectors = ConnectorSet({a.agency_id: cast(Connector, a) for a in agencies})
    req = VerificationRequest.model_validate({**subject, "scopes": scopes, **PURPOSE})
    return asyncio.run(verify_subject(req, connectors))


def test_a_resolved_person_is_looked_up_by_the_id_found_and_the_search_serves_identity() -> None:
    registry, bank = Registry([HOA, NAMESAKE]), Bank({"087080123456": [account("NGUYEN VAN HOA")]})
    verified = verify(registry, bank, scopes=["identity", "bank_accounts"],
                      hints={"full_name": "Nguyễn Văn Hoà", "birth_date": BORN.isoformat(), "province_code": "82"})
    assert verified.person_id == HOA.person_id and verified.report.subject_masked == "087******456"
    # searched once, wide (the province is weighed, not filtered on), and nobody looked up again
    ((hints, search_call),) = registry.searched
    assert hints.province_code is None and search_call.subject_person_id is None
    assert search_call.case_ref == PURPOSE["case_ref"] and registry.looked_up == []
    ((owner, bank_call),) = bank.asked
    assert owner == HOA.person_id and bank_call.subject_person_id == HOA.person_id
    assert bank_call.deadline == search_call.deadline  # one deadline for the search and the look-ups
    population = next(s for s in verified.report.sources if s.agency == "population")
    assert population.identity == HOA and population.matches == 2
    assert population.scopes == [VerificationScope.IDENTITY]
    assert verified.report.mismatches == [] and verified.disclosed == (HOA.person_id, NAMESAKE.person_id)


def test_a_bank_holder_named_otherwise_is_listed_as_a_mismatch() -> None:
    bank = Bank({"087080123456": [account("NGUYEN VAN HOAN")]})
    verified = verify(Registry([HOA]), bank, scopes=["bank_accounts"],
                      hints={"full_name": "Nguyễn Văn Hòa", "birth_date": BORN.isoformat()})
    (mismatch,) = verified.report.mismatches
    assert mismatch.field is MismatchField.FULL_NAME and mismatch.sources == ["population", "bank-970436"]
    assert mismatch.values == ["NGUYEN VAN HOA", "NGUYEN VAN HOAN"]
    assert "087080123456" not in verified.report.model_dump_json(exclude={"sources"})


def test_a_verification_by_id_checks_the_banks_against_the_identity_it_looked_up() -> None:
    registry, bank = Registry([HOA]), Bank({"087080123456": [account("TRAN VAN BA")]})
    verified = verify(registry, bank, scopes=["identity", "bank_accounts"], person_id=HOA.person_id)
    assert registry.searched == [] and registry.looked_up == [HOA.person_id]
    assert verified.report.identity_resolution is None
    assert [m.field for m in verified.report.mismatches] == [MismatchField.FULL_NAME]


def test_a_weak_match_asks_no_bank() -> None:
    bank = Bank({"087080123456": [account("NGUYEN VAN HOA")]})
    verified = verify(Registry([HOA]), bank, scopes=["identity", "bank_accounts"],
                      hints={"full_name": "Nguyễn Văn Hòa", "birth_year": 1980})
    resolution = verified.report.identity_resolution
    assert resolution is not None and resolution.decision is IdentityDecision.WEAK
    assert bank.asked == [] and verified.person_id is None and verified.disclosed == (HOA.person_id,)
    skipped = [s for s in verified.report.sources if s.status is SourceStatus.SKIPPED]
    assert [s.scopes for s in skipped] == [[VerificationScope.BANK_ACCOUNTS]]
    assert skipped[0].detail is not None and skipped[0].detail.startswith("identity weak")


def test_nobody_found_is_no_match_and_the_search_not_found() -> None:
    verified = verify(Registry([HOA]), scopes=["identity"],
                      hints={"full_name": "Lê Thị Lan", "birth_date": date(1990, 1, 1).isoformat()})
    resolution = verified.report.identity_resolution
    assert resolution is not None and resolution.decision is IdentityDecision.NO_MATCH
    assert [s.status for s in verified.report.sources] == [SourceStatus.NOT_FOUND]


def test_without_an_identity_source_nothing_is_known() -> None:
    bank = Bank({})
    verified = verify(bank, scopes=["bank_accounts"], hints={"full_name": "Nguyễn Văn Hòa", "birth_year": 1980})
    resolution = verified.report.identity_resolution
    assert resolution is not None and resolution.decision is IdentityDecision.NO_ANSWER
    assert bank.asked == [] and {s.status for s in verified.report.sources} == {SourceStatus.SKIPPED}
