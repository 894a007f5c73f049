"""The sandbox court: serves judgments over SOAP 1.2 per mappings/court/contracts/court-judgments.wsdl
and pushes them to the hub per court-submit.wsdl."""

from sandbox_mocks.court.mock import CourtMock
from sandbox_mocks.court.pusher import judgment_push_items, soap_sender

__all__ = ["CourtMock", "judgment_push_items", "soap_sender"]
