"""The canonical case model: what every agency's wire format is mapped into and out of.

English names; the Vietnamese legal terms are in each class's docstring. Value objects validate the
real rules (citizen IDs, judgment numbers, whole-VND money, the 34 provinces) and refuse with typed
errors from ``hub.errors``.
"""

from hub.model.assets import BankAccount, Encumbrance, EncumbranceKind, LandParcel
from hub.model.case import (
    CaseCategory,
    CaseObligation,
    CaseStatus,
    EnforcementCase,
    EnforcementDecision,
    EnforcementOffice,
    ObligationStatus,
    OfficeLevel,
)
from hub.model.envelope import EnvelopeHeader
from hub.model.judgment import Court, CourtLevel, Judgment, JudgmentParty, Obligation, ObligationKind
from hub.model.judgment_number import CaseType, Instance, JudgmentNumber
from hub.model.measures import AccountFreeze, LandRestriction, MeasureStatus, RestrictionKind
from hub.model.money import Vnd, parse_vnd_text
from hub.model.names import FullName, clean_name, fold_diacritics, name_key, names_match
from hub.model.notification import DeliveryEvent, DeliveryStatus, Notification, NotificationChannel
from hub.model.party import Address, Party, PartyKind, PartyRole
from hub.model.payments import Payment, PaymentDirection, PaymentStatus, Receipt
from hub.model.person_id import (
    Gender,
    LegacyIdStr,
    PersonIdInfo,
    PersonIdStr,
    check_person_id_consistency,
    decode_person_id,
    mask_person_id,
)
from hub.model.procuracy import ProcuracyAction, ProcuracyActionKind
from hub.model.provinces import ProvinceCode, resolve_province_name, successor_of
from hub.model.verification import (
    Completeness,
    Provenance,
    SourceResult,
    SourceStatus,
    SubjectHints,
    VerificationReport,
    VerificationRequest,
    VerificationScope,
)

__all__ = [
    "AccountFreeze", "Address", "BankAccount", "CaseCategory", "CaseObligation", "CaseStatus", "CaseType",
    "Completeness", "Court", "CourtLevel", "DeliveryEvent", "DeliveryStatus", "Encumbrance", "EncumbranceKind",
    "EnforcementCase", "EnforcementDecision", "EnforcementOffice", "EnvelopeHeader", "FullName", "Gender",
    "Instance", "Judgment", "JudgmentNumber", "JudgmentParty", "LandParcel", "LandRestriction", "LegacyIdStr",
    "MeasureStatus", "Notification", "NotificationChannel", "Obligation", "ObligationKind", "ObligationStatus",
    "OfficeLevel", "Party", "PartyKind", "PartyRole", "Payment", "PaymentDirection", "PaymentStatus",
    "PersonIdInfo", "PersonIdStr", "ProcuracyAction", "ProcuracyActionKind", "Provenance", "ProvinceCode",
    "Receipt", "RestrictionKind", "SourceResult", "SourceStatus", "SubjectHints", "VerificationReport",
    "VerificationRequest", "VerificationScope", "Vnd", "check_person_id_consistency", "clean_name",
    "decode_person_id", "fold_diacritics", "mask_person_id", "name_key", "names_match", "parse_vnd_text",
    "resolve_province_name", "successor_of",
]
