"""The operations page in headless Chromium: the figures it shows equal the ones /metrics gives, before and
after traffic, and it updates without a reload. Saves a screenshot of the live page."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from hub.agencies import write_agencies
from hub.agency_ids import sandbox_agencies
from hub.api.app import create_app
from hub.clients import add_client
from hub.sandbox_cli import sandbox_agencies_config
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.trust.pki_init import init_pki
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import build_world
from tests.conftest import REDIS_URL, ServedApp

SEED, CITIZENS = 37, 500
AGENCIES = ("population", "land", "bank-970436")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture
def hub(tmp_path: Path, redis_prefix: str) -> Iterator[tuple[str, str, str, list[str]]]:
    init_pki(tmp_path / "pki", sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS)
    with ServedApp(create_sandbox_app(SandboxConfig(key_dir=tmp_path / "pki", seed=SEED, citizens=CITIZENS),
                                      world)) as sandbox:
        full = sandbox_agencies_config(sandbox.url, tmp_path / "pki", population_client_id="thads-hub",
                                       population_client_secret="sandbox-secret",
                                       postal_api_key="sandbox-postal-key", postal_hmac_secret="sandbox-postal-hmac")
        write_agencies(tmp_path / "agencies.toml", {n: c.model_copy(update={"retry": c.retry.model_copy(
            update={"attempts": 2, "backoff_initial_s": 0.01, "backoff_max_s": 0.02})})
            for n, c in full.items() if n in AGENCIES})
        db_url = f"sqlite:///{tmp_path / 'hub.db'}"
        upgrade(db_url)
        settings = Settings(data_dir=tmp_path, database_url=db_url, redis_url=REDIS_URL,
                            redis_key_prefix=f"{redis_prefix}{uuid.uuid4().hex[:6]}:", checkpoint_seconds=0)
        db = Database(db_url)
        _, key = add_client(db, "ops-case", ["verify:identity", "verify:land", "verify:bank_accounts"])
        try:
            with ServedApp(create_app(settings)) as served:
                yield served.url, sandbox.url, key, [c.person_id for c in world.citizens[:6]]
        finally:
            httpx.delete(f"{sandbox.url}/land/_admin/faults")
            db.dispose()


def from_metrics(url: str) -> dict[str, dict[str, float]]:
    """Per-agency figures computed here, independently of the hub's summary code."""
    figures: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for s in family.samples:
            agency = s.labels.get("agency")
            if agency is None:
                continue
            if s.name == "thads_agency_requests_total":
                figures[agency]["requests"] += s.value
            elif s.name == "thads_agency_errors_total":
                figures[agency]["errors"] += s.value
            elif s.name == "thads_agency_retries_total":
                figures[agency]["retries"] += s.value
            elif s.name == "thads_breaker_state":
                figures[agency]["breaker"] = s.value
    return figures


def on_page(page: Page) -> dict[str, dict[str, str]]:
    shown: dict[str, dict[str, str]] = defaultdict(dict)
    for cell in page.query_selector_all("#agencies td[data-agency]"):
        shown[cell.get_attribute("data-agency") or ""][cell.get_attribute("data-field") or ""] = cell.inner_text()
    return shown


def assert_page_matches_metrics(page: Page, url: str) -> dict[str, dict[str, float]]:
    metrics, shown = from_metrics(url), on_page(page)
    assert set(AGENCIES) <= set(shown)
    for agency in AGENCIES:
        m = metrics.get(agency, {})
        assert int(shown[agency]["requests"]) == int(m.get("requests", 0)), agency
        assert int(shown[agency]["errors"]) == int(m.get("errors", 0)), agency
        assert int(shown[agency]["retries"]) == int(m.get("retries", 0)), agency
        assert shown[agency]["breaker"] == {0: "closed", 1: "half_open", 2: "open"}[int(m.get("breaker", 0))]
    return metrics


def refreshes(page: Page) -> int:
    return int(page.evaluate("Number(document.body.dataset.refreshes || 0)"))


def test_the_ops_page_shows_what_metrics_says_and_follows_live_traffic(hub: tuple[str, str, str, list[str]],
                                                                       tmp_path: Path) -> None:
    url, sandbox, key, people = hub
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/ops")
        page.wait_for_function("Number(document.body.dataset.refreshes || 0) >= 1")
        before = assert_page_matches_metrics(page, url)

        httpx.put(f"{sandbox}/land/_admin/faults", json={"error_rate": 1.0}).raise_for_status()
        for person in people:
            r = httpx.post(f"{url}/v1/verifications", timeout=30, headers={"Authorization": f"Bearer {key}"},
                           json={"person_id": person, "scopes": ["identity", "land", "bank_accounts"],
                                 "case_ref": "OPS-1", "officer": "ops test", "purpose": "operations page test"})
            assert r.status_code == 200, r.text
        seen = refreshes(page)
        page.wait_for_function(f"Number(document.body.dataset.refreshes || 0) >= {seen + 1}", timeout=10_000)
        after = assert_page_matches_metrics(page, url)  # the same page, not reloaded, shows the new figures
        assert after["population"]["requests"] >= before.get("population", {}).get("requests", 0) + len(people)
        assert after["land"]["errors"] > before.get("land", {}).get("errors", 0)
        assert page.query_selector_all("#failures tbody tr"), "the land failures are listed"
        shot = tmp_path / "ops.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("THADS_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "ops.png")


def test_metrics_carry_no_citizen_id(hub: tuple[str, str, str, list[str]]) -> None:
    url, _, key, people = hub
    httpx.post(f"{url}/v1/verifications", timeout=30, headers={"Authorization": f"Bearer {key}"},
               json={"person_id": people[0], "scopes": ["identity"], "case_ref": "OPS-2", "officer": "o",
                     "purpose": "p"})
    body: Any = httpx.get(f"{url}/metrics", timeout=10).text + httpx.get(f"{url}/v1/ops/summary", timeout=10).text
    assert people[0] not in body
    assert "thads_agency_requests_total" in body and "thads_breaker_state" in body
