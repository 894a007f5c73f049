"""The population database + VNeID connector.

Entry point: ``population = "connectors.population:PopulationConnector"``.
"""

from connectors.population.connector import PopulationConnector

__all__ = ["PopulationConnector"]
