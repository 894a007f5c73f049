"""The population database (Cơ sở dữ liệu quốc gia về dân cư, Bộ Công an) and VNeID, as a sandbox mock."""

from sandbox_mocks.population.mock import PopulationMock

__all__ = ["PopulationMock"]
