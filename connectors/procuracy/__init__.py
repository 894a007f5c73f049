"""The procuracy connector (entry point ``procuracy = "connectors.procuracy:ProcuracyConnector"``)."""

from connectors.procuracy.connector import ProcuracyConnector

__all__ = ["ProcuracyConnector"]
