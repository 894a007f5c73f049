"""Carrying one command to its agency: the connector with the capability its kind needs, called with the
command's case, officer and purpose. The core knows connectors only by agency id and capability."""

from __future__ import annotations

from typing import Any

from hub.commands.kinds import CommandKind
from hub.connector import (
    AccountFreezer,
    DecisionRecipient,
    PayoutBank,
    RegisteredMail,
    RestrictionRegistry,
    VneidNotifier,
)
from hub.errors import HubError
from hub.model.decisions import AgencyReceipt, Decision, DecisionRef
from hub.model.measures import AccountFreeze, LandRestriction
from hub.notifications.delivery import deliver_notification
from hub.payouts.delivery import deliver_batch
from hub.resilience.context import CallContext
from hub.store.database import Database

CAPABILITY: dict[CommandKind, type] = {
    CommandKind.ACCOUNT_FREEZE: AccountFreezer,
    CommandKind.ACCOUNT_RELEASE: AccountFreezer,
    CommandKind.LAND_RESTRICTION: RestrictionRegistry,
    CommandKind.LAND_RESTRICTION_LIFT: RestrictionRegistry,
    CommandKind.PROCURACY_DECISION: DecisionRecipient,
    CommandKind.NOTIFICATION_VNEID: VneidNotifier,
    CommandKind.NOTIFICATION_LETTER: RegisteredMail,
    CommandKind.PAYOUT_BATCH: PayoutBank,
}


class AgencyNotConfigured(HubError):
    default_code = "REQUEST_INVALID"


def connector_for(connectors: Any, agency: str, kind: CommandKind) -> Any:
    """The configured connector of ``agency`` if it can carry ``kind``; AgencyNotConfigured otherwise."""
    found = (connectors.connectors if connectors is not None else {}).get(agency)
    if found is None:
        raise AgencyNotConfigured(f"agency {agency} is not configured in this hub", rule="agency_configured",
                                  agency=agency)
    if not isinstance(found, CAPABILITY[kind]):
        raise AgencyNotConfigured(f"the connector of {agency} cannot carry {kind.value} commands",
                                  rule="agency_capability", agency=agency)
    return found


async def deliver(connector: Any, kind: CommandKind, payload: dict[str, Any], case_ref: str, command_id: Any,
                  call: CallContext) -> AgencyReceipt:
    """Ask the agency; its receipt, or the connector's typed error. Idempotent at the agency: the connector
    sends the decision and target as the agency's key with every attempt."""
    if kind is CommandKind.ACCOUNT_FREEZE:
        # The command's id is the freeze's: the bank's file (GhiChu) leads back to the command.
        freeze = AccountFreeze.model_validate({**payload["freeze"], "id": command_id})
        result: AgencyReceipt = await connector.freeze_account(freeze, DecisionRef.model_validate(payload["decision"]),
                                                               call)
    elif kind is CommandKind.ACCOUNT_RELEASE:
        freeze = AccountFreeze.model_validate(payload["freeze"])
        result = await connector.release_account(freeze, DecisionRef.model_validate(payload["release"]), call)
    elif kind is CommandKind.LAND_RESTRICTION:
        restriction = LandRestriction.model_validate({**payload["restriction"], "id": command_id})
        result = await connector.restrict_parcel(restriction, DecisionRef.model_validate(payload["decision"]), call)
    elif kind is CommandKind.LAND_RESTRICTION_LIFT:
        restriction = LandRestriction.model_validate(payload["restriction"])
        result = await connector.lift_parcel_restriction(restriction, DecisionRef.model_validate(payload["lift"]),
                                                         call)
    elif kind is CommandKind.PAYOUT_BATCH:
        result = await deliver_batch(records_of(connector), connector, payload, call)
    elif kind in (CommandKind.NOTIFICATION_VNEID, CommandKind.NOTIFICATION_LETTER):
        result = await deliver_notification(records_of(connector), connector, kind, payload, call)
    else:
        result = await connector.send_for_supervision(Decision.model_validate(payload["decision"]), case_ref, call)
    return result


def records_of(connector: Any) -> Database:
    """The hub's database, for kinds whose outcome also feeds records of their own (a payout's transfers, a
    notification's events). deliver() is handed no Services; the connector's message log writes to the
    database the composition root built for this process, so that one is used."""
    db: Database = connector.ctx.recorder.log.db
    return db
