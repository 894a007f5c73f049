"""Finding connectors (entry points) and choosing one per configured agency."""

from __future__ import annotations

from importlib.metadata import entry_points

from hub.connector import ENTRY_POINT_GROUP, Connector
from hub.errors import HubError


def kind_of(agency_id: str) -> str:
    return agency_id.split("-", 1)[0]


def discover() -> dict[str, type[Connector]]:
    """Every installed connector class by kind; a broken plug-in names itself instead of hiding."""
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:
            raise HubError(f"connector entry point {ep.name!r} ({ep.value}) fails to load: {exc}",
                           code="DEPENDENCY_UNAVAILABLE", rule="connector_entry_point") from exc
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise HubError(f"connector entry point {ep.name!r} is not a Connector", code="DEPENDENCY_UNAVAILABLE",
                           rule="connector_entry_point")
        found[ep.name] = cls
    return found


def connector_class(agency_id: str, available: dict[str, type[Connector]] | None = None) -> type[Connector]:
    """The connector for an agency: an entry point named exactly after the agency id wins (a bank whose
    protocol differs from the others ships its own package), otherwise the one named after its kind."""
    available = available if available is not None else discover()
    try:
        return available.get(agency_id) or available[kind_of(agency_id)]
    except KeyError:
        raise HubError(f"no connector installed for agency {agency_id!r} (kind {kind_of(agency_id)!r}); "
                       f"installed: {', '.join(sorted(available)) or 'none'}", code="DEPENDENCY_UNAVAILABLE",
                       rule="connector_missing") from None
