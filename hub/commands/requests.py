"""What a case system asks for, and the commands each request becomes.

One request names one decision and its targets; it becomes one command per (agency, target), because
each agency acts, and answers, per target. A freeze also becomes a copy of its decision to the
procuracy, as the law requires (Điều 67 Luật THADS): its own command, linked from each freeze.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from hub.commands.kinds import CommandKind, PlannedCommand
from hub.errors import InvalidValue
from hub.model.assets import AccountNumber, BankBin, CertificateSerial
from hub.model.base import CanonicalModel
from hub.model.decisions import Decision, DecisionKind, DecisionRef
from hub.model.measures import RestrictionKind
from hub.model.money import Vnd

PROCURACY = "procuracy"
LAND = "land"
MAX_TARGETS = 100

# A decision written as agencies key their acts on it: number and notation, "15/QĐ-CCTHADS".
WrittenDecisionRef = Annotated[str, StringConstraints(strip_whitespace=True, max_length=57,
                                                      pattern=r"^[0-9]{1,6}/[^\W_]+(-[^\W_]+)*$")]


def bank_agency(bank_bin: str) -> str:
    return f"bank-{bank_bin}"


class _Accountable(CanonicalModel):
    """Every command is bound to a case, an officer and a legal basis, which travel with it to the agency."""

    case_ref: str | None = Field(None, max_length=128, description="The enforcement case (hồ sơ thi hành án).")
    officer: str | None = Field(None, max_length=200, description="The enforcement officer (chấp hành viên).")
    purpose: str | None = Field(None, max_length=1024, description="Purpose and legal basis.")

    @model_validator(mode="after")
    def _accountable(self) -> Any:
        missing = [n for n in ("case_ref", "officer", "purpose") if not (getattr(self, n) or "").strip()]
        if missing:
            raise InvalidValue(f"a command must name {', '.join(missing)}", code="PURPOSE_MISSING",
                               rule="accountable_command", missing=missing)
        return self

    @property
    def case(self) -> str:
        assert self.case_ref is not None
        return self.case_ref.strip()


def _distinct(targets: list[Any], what: str) -> None:
    if len(set(targets)) != len(targets):
        raise InvalidValue(f"the same {what} is named twice", code="REQUEST_INVALID", rule=f"distinct_{what}")


class AccountAmount(CanonicalModel):
    bank_bin: BankBin
    account_number: AccountNumber
    amount_vnd: Vnd = Field(description="The amount the decision freezes on this account, in whole đồng.")

    @model_validator(mode="after")
    def _positive(self) -> AccountAmount:
        if self.amount_vnd < 1:
            raise InvalidValue("a freeze holds at least 1 đồng", code="AMOUNT_INVALID", rule="freeze_amount")
        return self


class AccountAt(CanonicalModel):
    bank_bin: BankBin
    account_number: AccountNumber


class FreezeRequest(_Accountable):
    """Phong tỏa tài khoản: freeze the named amounts at the named accounts by one decision."""

    decision: Decision = Field(description="The freeze decision (kind account_freeze); a copy goes to the "
                               "procuracy it names.")
    urgent_record: bool = Field(False, description="Phong tỏa bằng biên bản: a decision must follow in 24 hours.")
    accounts: list[AccountAmount] = Field(min_length=1, max_length=MAX_TARGETS)

    @model_validator(mode="after")
    def _consistent(self) -> FreezeRequest:
        if self.decision.kind is not DecisionKind.ACCOUNT_FREEZE:
            raise InvalidValue("a freeze is made by a decision of kind account_freeze", code="REQUEST_INVALID",
                               rule="decision_kind")
        _distinct([(a.bank_bin, a.account_number) for a in self.accounts], "account")
        return self

    def plan(self) -> list[PlannedCommand]:
        copy = supervision_command(self.decision)
        decision = DecisionRef.model_validate(self.decision.model_dump(include=set(DecisionRef.model_fields)))
        freezes = [PlannedCommand(
            kind=CommandKind.ACCOUNT_FREEZE, agency=bank_agency(a.bank_bin), target=a.account_number,
            decision_ref=decision.ref, linked_to=copy.id,
            payload={"freeze": {"decision_ref": decision.ref, "bank_bin": a.bank_bin,
                                "account_number": a.account_number, "amount_vnd": a.amount_vnd,
                                "urgent_record": self.urgent_record},
                     "decision": decision.model_dump(mode="json")}) for a in self.accounts]
        return [*freezes, copy]


class ReleaseRequest(_Accountable):
    """Giải tỏa tài khoản: release what a freeze decision holds at the named accounts."""

    freeze_decision_ref: WrittenDecisionRef = Field(description="The freeze decision released, '15/QĐ-CCTHADS'.")
    decision: DecisionRef = Field(description="The release decision.")
    accounts: list[AccountAt] = Field(min_length=1, max_length=MAX_TARGETS)

    @model_validator(mode="after")
    def _distinct_accounts(self) -> ReleaseRequest:
        _distinct([(a.bank_bin, a.account_number) for a in self.accounts], "account")
        return self

    def plan(self) -> list[PlannedCommand]:
        # The amount is not part of a release (the bank releases what the decision holds); 0 fills the field.
        return [PlannedCommand(
            kind=CommandKind.ACCOUNT_RELEASE, agency=bank_agency(a.bank_bin), target=a.account_number,
            decision_ref=self.freeze_decision_ref,
            payload={"freeze": {"decision_ref": self.freeze_decision_ref, "bank_bin": a.bank_bin,
                                "account_number": a.account_number, "amount_vnd": 0},
                     "release": self.decision.model_dump(mode="json")}) for a in self.accounts]


class _OnCertificates(_Accountable):
    certificate_serials: list[CertificateSerial] = Field(min_length=1, max_length=MAX_TARGETS)

    @model_validator(mode="after")
    def _distinct_serials(self) -> Any:
        _distinct(self.certificate_serials, "certificate")
        return self


class RestrictionRequest(_OnCertificates):
    """Đăng ký hạn chế: a halt of transfers or a seizure registered on the named land certificates."""

    decision: DecisionRef
    restriction_kind: RestrictionKind

    def plan(self) -> list[PlannedCommand]:
        return [PlannedCommand(
            kind=CommandKind.LAND_RESTRICTION, agency=LAND, target=serial, decision_ref=self.decision.ref,
            payload={"restriction": {"decision_ref": self.decision.ref, "kind": self.restriction_kind.value,
                                     "certificate_serial": serial},
                     "decision": self.decision.model_dump(mode="json")}) for serial in self.certificate_serials]


class LiftRequest(_OnCertificates):
    """Gỡ hạn chế: lift what a restriction decision registered on the named certificates."""

    restriction_decision_ref: WrittenDecisionRef = Field(description="The decision whose restriction is lifted.")
    decision: DecisionRef = Field(description="The lifting decision.")

    def plan(self) -> list[PlannedCommand]:
        # The registry keeps the kind of what it registered and says it back; the lift does not send it.
        return [PlannedCommand(
            kind=CommandKind.LAND_RESTRICTION_LIFT, agency=LAND, target=serial,
            decision_ref=self.restriction_decision_ref,
            payload={"restriction": {"decision_ref": self.restriction_decision_ref,
                                     "kind": RestrictionKind.HALT_TRANSFER.value, "certificate_serial": serial},
                     "lift": self.decision.model_dump(mode="json")}) for serial in self.certificate_serials]


class SupervisionRequest(_Accountable):
    """Send a decision to the procuracy for supervision (edXML), and record its receipt."""

    decision: Decision

    def plan(self) -> list[PlannedCommand]:
        return [supervision_command(self.decision)]


def supervision_command(decision: Decision) -> PlannedCommand:
    # The procuracy receives a document once per DocumentId (organ, date, number/notation): the target.
    document = f"{decision.office.organ_id},{decision.issued_on:%Y/%m/%d},{decision.ref}"
    return PlannedCommand(kind=CommandKind.PROCURACY_DECISION, agency=PROCURACY, target=document,
                          decision_ref=decision.ref, payload={"decision": decision.model_dump(mode="json")})


CommandRequest = FreezeRequest | ReleaseRequest | RestrictionRequest | LiftRequest | SupervisionRequest
