"""Each worker test gets its own key prefix under the run's: heartbeats and queues of one test (a killed
worker's heartbeat lives on for its TTL) are invisible to the next. The run's prefix cleanup removes them."""

from __future__ import annotations

import uuid

import pytest

from hub.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"redis_key_prefix": f"{settings.redis_key_prefix}{uuid.uuid4().hex[:8]}:"})
