"""Commands to the agencies (docs/commands.md): freezes and releases at the banks, restrictions at the land
registry, decisions sent to the procuracy. Accepted over the API into SQL and the outbox in one transaction,
carried by `thads-hub worker` (``hub.commands.handler``), each effect once at the agency."""

from hub.commands.kinds import END_STATES, QUEUE, CommandKind, CommandStatus
from hub.commands.service import CommandService

__all__ = ["END_STATES", "QUEUE", "CommandKind", "CommandService", "CommandStatus"]
