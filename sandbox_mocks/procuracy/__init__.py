"""The sandbox procuracy (Viện kiểm sát): REST with signed edXML bodies per mappings/procuracy/contracts/."""

from sandbox_mocks.procuracy.mock import ProcuracyMock

__all__ = ["ProcuracyMock"]
