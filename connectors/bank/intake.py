"""A bank's side of inbound intake (``BankEventIntake``): freeze confirmations and credit advices it pushes,
read into canonical terms. Pure mapping: the hub verified the bank's envelope already."""

from __future__ import annotations

from lxml import etree

from adapters.xsd import CompiledSchema
from hub.model.intake import BankEventKind, InboundBankEvent
from mappings import bank as m
from mappings.bank.accounts import invalid
from mappings.bank.events import CREDIT_ADVICE, FREEZE_CONFIRMED, credit_advice_from, freeze_confirmation_from


class BankIntake:
    """Mixed into BankConnector, whose ``bank_bin`` the events must name."""

    bank_bin: str

    def check_event_document(self, document: etree._Element) -> None:
        CompiledSchema.load(m.XSD).validate(document)

    def event_from_document(self, document: etree._Element) -> InboundBankEvent:
        kind = etree.QName(document).localname
        if kind == FREEZE_CONFIRMED:
            confirmed = freeze_confirmation_from(document, bank_bin=self.bank_bin)
            return InboundBankEvent(kind=BankEventKind.FREEZE_CONFIRMED, event_id=confirmed.event_id,
                                    bank_bin=confirmed.bank_bin, freeze=confirmed.freeze)
        if kind == CREDIT_ADVICE:
            advice = credit_advice_from(document, bank_bin=self.bank_bin)
            return InboundBankEvent(kind=BankEventKind.CREDIT, event_id=advice.transaction_id,
                                    bank_bin=advice.bank_bin, payment=advice.payment, note=advice.note,
                                    office_account=advice.office_account)
        raise invalid(f"{kind} is not an event a bank pushes", "event_kind")
