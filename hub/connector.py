"""The one interface between the core and the agencies.

A connector is found by its kind through the entry-point group ``thads_hub.connectors`` (kind =
agency id up to the first '-', so ``bank-970436`` is served by the ``bank`` entry point) and built once
per configured agency from THADS_AGENCIES_FILE. The core never imports a concrete connector: it asks
for capabilities (``IdentitySource``, ``AccountSource``...) and calls them with a ``CallContext``.
A new agency, or a new bank with a different protocol, is a new package that declares the entry point.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from lxml import etree

from adapters.envelope import EnvelopeSigner
from adapters.jws_envelope import JwsSigner
from adapters.trust_store import TrustStore
from hub.agencies import AgencyConfig
from hub.audit.recorder import ExchangeRecorder
from hub.model.assets import BankAccount, LandParcel
from hub.model.decisions import AgencyReceipt, Decision, DecisionRef
from hub.model.intake import InboundAction, InboundBankEvent
from hub.model.judgment import Judgment
from hub.model.measures import AccountFreeze, LandRestriction
from hub.model.notification import DeliveryEvent
from hub.model.party import Address, Party
from hub.model.payments import Payment
from hub.model.verification import Provenance, SubjectHints
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard

ENTRY_POINT_GROUP = "thads_hub.connectors"

# Where a connector reports which signed answer its result came from. The verification service opens a
# collector around each source call (each in its own task, so collectors never mix); outside one, notes
# are simply dropped.
_provenance: ContextVar[list[Provenance] | None] = ContextVar("provenance", default=None)


def note_provenance(envelope_id: str, payload_hash: str, signer: str) -> None:
    """Called by a connector after it verified an answer it maps."""
    sink = _provenance.get()
    if sink is not None:
        sink.append(Provenance(envelope_id=envelope_id, payload_hash=payload_hash, signer=signer))


@contextmanager
def collecting_provenance() -> Iterator[list[Provenance]]:
    sink: list[Provenance] = []
    token = _provenance.set(sink)
    try:
        yield sink
    finally:
        _provenance.reset(token)


@dataclass(frozen=True)
class OperationSpec:
    name: str
    idempotent: bool
    description: str


@dataclass(frozen=True)
class Health:
    agency_id: str
    ok: bool
    detail: str
    latency_ms: int | None = None
    breaker: str | None = None


@dataclass
class ConnectorContext:
    """Everything a connector may use; built by the core, one per configured agency."""

    agency_id: str
    config: AgencyConfig
    trust: TrustStore
    xml_signer: EnvelopeSigner  # the hub's key, for XML envelopes
    jws_signer: JwsSigner  # the hub's key, for JSON exchanges
    recorder: ExchangeRecorder  # every exchange is logged through it, nowhere else
    guard: AgencyGuard  # deadlines, retries, rate limit, breaker


class Connector(ABC):
    kind: ClassVar[str]
    operations: ClassVar[tuple[OperationSpec, ...]]

    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        self.agency_id = ctx.agency_id

    async def start(self) -> None:  # noqa: B027 - optional hook: most connectors need no start-up work
        """Build clients (load WSDLs, open pools) once, before the first call."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections."""

    @abstractmethod
    async def health(self) -> Health:
        """A cheap live check of the agency (a contract fetch or a harmless look-up)."""


# --- capabilities the core asks for -------------------------------------------------------------------

@runtime_checkable
class IdentitySource(Protocol):
    async def lookup_person(self, person_id: str, call: CallContext) -> Party | None: ...
    async def search_people(self, hints: SubjectHints, call: CallContext) -> list[Party]: ...


@runtime_checkable
class ResidenceSource(Protocol):
    async def lookup_residence(self, person_id: str, call: CallContext) -> Address | None: ...


@runtime_checkable
class AccountSource(Protocol):
    async def find_accounts(self, owner_id: str, call: CallContext) -> list[BankAccount]: ...


@runtime_checkable
class ParcelSource(Protocol):
    async def find_parcels(self, owner_id: str, call: CallContext) -> list[LandParcel]: ...


# --- capabilities the commands ask for (hub/commands) ----------------------------------------------------
# Each answers the agency's receipt, whose reference the command shows. Each is idempotent at the agency
# by the decision and its target, and the connector sends that key with every attempt: the commands'
# workers deliver at least once, so the same act may be asked more than once and must happen once.

@runtime_checkable
class AccountFreezer(Protocol):
    """Freezes and releases at one bank (phong tỏa / giải tỏa tài khoản), keyed by (decision, account)."""

    async def freeze_account(self, freeze: AccountFreeze, decision: DecisionRef,
                             call: CallContext) -> AgencyReceipt: ...
    async def release_account(self, freeze: AccountFreeze, release: DecisionRef,
                              call: CallContext) -> AgencyReceipt: ...


@runtime_checkable
class RestrictionRegistry(Protocol):
    """Restrictions on land use rights at the land registry, keyed by (decision, certificate serial)."""

    async def restrict_parcel(self, restriction: LandRestriction, decision: DecisionRef,
                              call: CallContext) -> AgencyReceipt: ...
    async def lift_parcel_restriction(self, restriction: LandRestriction, lift: DecisionRef,
                                      call: CallContext) -> AgencyReceipt: ...


@runtime_checkable
class DecisionRecipient(Protocol):
    """Receives decisions for supervision (the procuracy), keyed by the decision's document id."""

    async def send_for_supervision(self, decision: Decision, case_ref: str, call: CallContext) -> AgencyReceipt: ...


# --- capabilities inbound intake asks for (hub/inbound) -------------------------------------------------
# The agency's document, once the hub verified its envelope, is the agency's own vocabulary: only its
# connector package knows it. The core hands it the signed body element and gets the canonical model
# back; the connector of the envelope's sender is found in services.connectors by agency id.

@runtime_checkable
class JudgmentIntake(Protocol):
    """Judgments a court pushes (SubmitJudgment)."""

    def check_judgment_document(self, document: etree._Element) -> None:
        """Validate the body document against the agency's XSD; a SCHEMA_INVALID refusal otherwise."""

    def judgment_from_document(self, document: etree._Element) -> Judgment:
        """The verified, schema-valid document -> the canonical Judgment (received_at left unset)."""

    def judgment_receipt(self, judgment: Judgment, intake_ref: str, *, duplicate: bool,
                         received_at: dt.datetime) -> etree._Element:
        """The agency's own receipt document for a judgment taken in (or already held)."""

    def intake_contract(self) -> Path:
        """The WSDL of the service the hub serves for it (schemas beside it), published at ?wsdl."""


@runtime_checkable
class JudgmentSource(Protocol):
    """Judgments read back from a court, for reconciliation of lost pushes."""

    async def list_effective_references(self, since: dt.date, call: CallContext) -> list[tuple[str, str]]:
        """(number as written, court code) of every judgment that took effect on or after ``since``."""

    async def get_judgment(self, number: str, court_code: str, call: CallContext) -> Judgment | None: ...


@runtime_checkable
class ProcuracyIntake(Protocol):
    """Protests and recommendations the procuracy pushes."""

    def check_action_document(self, document: etree._Element) -> None: ...

    def action_from_document(self, document: etree._Element) -> InboundAction: ...


@runtime_checkable
class BankEventIntake(Protocol):
    """Events a bank pushes: freeze confirmations and credit advices."""

    def check_event_document(self, document: etree._Element) -> None: ...

    def event_from_document(self, document: etree._Element) -> InboundBankEvent: ...


# --- capabilities notifications and payouts ask for (hub/notifications, hub/payouts) -------------------
# Like the commands' capabilities, each is idempotent at the agency by a key the hub chooses (the
# notification's reference, the payout batch id) and sent with every attempt.

@runtime_checkable
class VneidNotifier(Protocol):
    """Electronic notifications through VNeID (needs the citizen's consent), keyed by the sender's reference."""

    async def send_vneid_notification(self, person_id: str, reference: str, title: str, text: str,
                                      call: CallContext, *, document_url: str | None = None) -> AgencyReceipt:
        """The agency's acceptance: ``reference`` its notification id, ``at`` when it took the notification in.
        No consent is AgencyRejected(rule="vneid_consent"); an unknown citizen is AgencyNotFound."""


@runtime_checkable
class RegisteredMail(Protocol):
    """Registered letters (thư bảo đảm) at the postal operator, keyed by the sender's reference."""

    async def send_registered_letter(self, reference: str, recipient_name: str, address: Address,
                                     document_ref: str, sender_office: str, call: CallContext, *,
                                     recipient_phone: str | None = None, summary: str | None = None,
                                     callback_url: str | None = None) -> AgencyReceipt:
        """The operator's acceptance: ``reference`` the letter's tracking number (UPU S10)."""


@dataclass(frozen=True)
class PushedDeliveryEvent:
    """One delivery event an agency pushed, with what the hub needs to apply it once and in order."""

    event_id: str  # the agency's own id of the event: the same id again is the same event
    reference: str  # the sender's reference the hub gave when it sent the letter
    sequence: int  # the event's place in the letter's journey (events may arrive out of order)
    event: DeliveryEvent


@runtime_checkable
class PostalEventIntake(Protocol):
    """Delivery events the postal operator pushes (webhooks), authenticated the operator's way."""

    def events_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[PushedDeliveryEvent]:
        """The verified events of one webhook call; a SIGNATURE_INVALID or REQUEST_INVALID refusal otherwise."""


@runtime_checkable
class PayoutBank(Protocol):
    """Bulk payouts (pain.001-like) from the enforcement office's account at one bank, keyed by batch id."""

    payout_batch_limit: int  # the most payments one message may carry

    async def pay_batch(self, batch_id: str, debtor_account: str, office_name: str, payments: list[Payment],
                        call: CallContext) -> tuple[AgencyReceipt, list[Payment]]:
        """The bank's status report (``reference`` its report id) and every payment with the status it reported:
        SETTLED (extensions ``bank_reference``) or REJECTED (extensions ``reason_code``, ``reject_reason``)."""
