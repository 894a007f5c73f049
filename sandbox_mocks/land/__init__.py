"""The sandbox land registry: SOAP 1.2 per mappings/land/contracts/land-registry.wsdl."""

from sandbox_mocks.land.mock import LandRegistryMock

__all__ = ["LandRegistryMock"]
