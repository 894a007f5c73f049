"""Periodic sealing: the API process writes a signed checkpoint when the log has grown since the last.

Several API processes may race to write checkpoint N; the loser's insert conflicts on the id and it
simply tries again next period. A hub without its key (no `pki init` yet) logs that it cannot seal.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.audit.log import MessageLog
from hub.audit.wiring import message_log
from hub.errors import HubError
from hub.settings import Settings
from hub.store.database import Database
from hub.store.tables import log_checkpoints, log_heads
from hub.trust.keys import hub_signing_key

log = logging.getLogger("thads.audit")


def seal_if_grown(log_: MessageLog, settings: Settings) -> int | None:
    with log_.db.engine.connect() as conn:
        heads = {str(r.partition): {"seq": r.seq, "hash": r.entry_hash}
                 for r in conn.execute(select(log_heads)) if r.seq > 0}
        last = conn.execute(select(log_checkpoints.c.heads).order_by(log_checkpoints.c.id.desc()).limit(1)).first()
    if not heads or (last is not None and last.heads == heads):
        return None
    key, cert = hub_signing_key(settings)
    try:
        return log_.checkpoint(key, cert)
    except IntegrityError:
        return None


async def seal_periodically(settings: Settings, db: Database) -> None:
    interval = settings.checkpoint_seconds
    log_ = message_log(settings, db)
    while True:
        await asyncio.sleep(interval)
        try:
            cid = await asyncio.to_thread(seal_if_grown, log_, settings)
        except HubError as exc:
            log.warning("cannot seal the message log: %s", exc.detail)
        except Exception:  # the loop must survive a database hiccup; the next period retries
            log.exception("sealing the message log failed")
        else:
            if cid:
                log.info("message log sealed by checkpoint %s", cid)
