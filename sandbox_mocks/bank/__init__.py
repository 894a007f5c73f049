"""Sandbox banks, one per NAPAS BIN: SOAP 1.2 per mappings/bank/contracts/ngan-hang.wsdl, and the signed
events a bank pushes (freeze confirmations, credit advices)."""

from sandbox_mocks.bank.events import transfer_push_items, xml_sender
from sandbox_mocks.bank.mock import BankMock
from sandbox_mocks.bank.wire import DEFAULT_OFFICE_ACCOUNT, EVENTS_PATH

__all__ = ["DEFAULT_OFFICE_ACCOUNT", "EVENTS_PATH", "BankMock", "transfer_push_items", "xml_sender"]
