"""The courts' connector (entry point ``court = "connectors.court:CourtConnector"``)."""

from connectors.court.connector import CourtConnector

__all__ = ["CourtConnector"]
