"""schemathesis over the published OpenAPI: no server error, and every response conforms to its schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hub.clients import add_client
from hub.settings import Settings
from hub.store.database import Database
from tests.conftest import ServedApp

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_the_api_conforms_to_its_openapi_under_generated_requests(hub_server: ServedApp, settings: Settings) -> None:
    db = Database(settings.database_url)
    _, key = add_client(db, "fuzzer", ["verify:identity", "verify:residence", "verify:bank_accounts", "verify:land",
                                       "audit:read", "cases:read", "clients:admin"])
    db.dispose()
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{hub_server.url}/openapi.json", "-H", f"Authorization: Bearer {key}",
         "--max-examples", "25", "--seed", "20261123", "--phases", "examples,coverage,fuzzing",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                     "response_schema_conformance"],
        capture_output=True, text=True, timeout=600)
    summary = run.stdout[-3000:]
    failures = run.stdout.split("= FAILURES =")[-1].split("= WARNINGS =")[0][:12000] if "= FAILURES =" in run.stdout \
        else ""
    assert run.returncode == 0, failures + summary
    assert " passed" in summary and "failures" not in summary.split("SUMMARY")[-1].lower(), summary
