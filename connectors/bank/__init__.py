"""The bank connector, one instance per configured bank (entry point ``bank = "connectors.bank:BankConnector"``;
agency ids ``bank-<BIN>``)."""

from connectors.bank.connector import BankConnector, bank_bin_of

__all__ = ["BankConnector", "bank_bin_of"]
