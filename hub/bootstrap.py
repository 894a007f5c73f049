"""The composition root: settings -> adapters -> services, built in one place.

Entry points (the API, the CLI, later the workers) call ``build_services`` and never construct
adapters themselves, so a test can hand the same entry point a differently configured set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import Redis as SyncRedis

from adapters.redis_client import async_client, sync_client
from hub.settings import Settings
from hub.store.database import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    redis_sync: SyncRedis
    # Set when the API starts: the connectors of the configured agencies and the verification service.
    connectors: Any = None
    verification: Any = None
    batches: Any = None

    def key(self, *parts: str) -> str:
        """A Redis key under this hub's prefix; every Redis key the hub writes goes through here."""
        return self.settings.redis_key_prefix + ":".join(parts)

    async def aclose(self) -> None:
        await self.redis.aclose()
        self.redis_sync.close()
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Services(settings=settings, db=Database(settings.database_url),
                    redis=async_client(settings.redis_url), redis_sync=sync_client(settings.redis_url))
