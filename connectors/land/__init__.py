"""The land registry connector (entry point ``land = "connectors.land:LandConnector"``)."""

from connectors.land.connector import LandConnector

__all__ = ["LandConnector"]
