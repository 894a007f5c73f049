"""The VNPost registered-mail connector (entry point ``postal = "connectors.postal:PostalConnector"``)."""

from connectors.postal.connector import PostalConnector

__all__ = ["PostalConnector"]
