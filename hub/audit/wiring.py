"""Building the message log from settings (one place, used by the CLI, the API and the workers)."""

from __future__ import annotations

from hub.audit.log import MessageLog
from hub.audit.subjects import SubjectIndex
from hub.settings import Settings
from hub.store.database import Database


def message_log(settings: Settings, db: Database | None = None) -> MessageLog:
    return MessageLog(db or Database(settings.database_url), SubjectIndex.from_key_dir(settings.keys),
                      partitions=settings.log_partitions)
