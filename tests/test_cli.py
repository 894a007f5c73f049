"""The CLI as a user types it: clients, schema, database and configuration errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.clients import authenticate
from hub.errors import AuthError
from hub.settings import Settings, get_settings
from hub.store.database import Database

runner = CliRunner()


def test_clients_add_list_grant_revoke(hub_env: Settings) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(app, ["clients", "add", "case-system-hn", "--scopes", "verify:identity,verify:land"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[-1]
    db = Database(hub_env.database_url)
    assert authenticate(db, key).scopes == ("verify:identity", "verify:land")

    listed = runner.invoke(app, ["clients", "list"])
    assert "case-system-hn" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout

    again = runner.invoke(app, ["clients", "add", "case-system-hn", "-s", "verify:land"])
    assert again.exit_code == 2 and "CLIENT_EXISTS" in again.output
    typo = runner.invoke(app, ["clients", "add", "other", "-s", "verfy:land"])
    assert typo.exit_code == 2 and "SCOPE_UNKNOWN" in typo.output

    granted = runner.invoke(app, ["clients", "grant", "case-system-hn", "-s", "cases:read,verify:land"])
    assert granted.exit_code == 0, granted.output
    assert authenticate(db, key).scopes == ("verify:identity", "verify:land", "cases:read")  # the same key
    unknown = runner.invoke(app, ["clients", "grant", "nobody", "-s", "cases:read"])
    assert unknown.exit_code == 2 and "NOT_FOUND" in unknown.output

    assert runner.invoke(app, ["clients", "revoke", "case-system-hn"]).exit_code == 0
    late = runner.invoke(app, ["clients", "grant", "case-system-hn", "-s", "audit:read"])
    assert late.exit_code == 2 and "CONFLICT" in late.output
    with pytest.raises(AuthError) as caught:
        authenticate(db, key)
    assert caught.value.code == "KEY_REVOKED"
    db.dispose()


def test_schema_command_matches_the_api_schema(hub_env: Settings) -> None:
    from hub.model.schema import canonical_json_schema

    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == canonical_json_schema()


def test_db_current_reports_head(hub_env: Settings) -> None:
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and "current: 0009" in result.stdout and "head: 0009" in result.stdout


def test_bad_configuration_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THADS_REDIS_URL", "localhost:6379")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "THADS_REDIS_URL" in result.output


def test_settings_defaults_follow_the_data_dir(tmp_path: object) -> None:
    s = Settings(data_dir=tmp_path)  # type: ignore[arg-type]
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("thads.db")
    assert s.keys == tmp_path / "pki"  # type: ignore[operator]
    assert s.agencies == tmp_path / "agencies.toml"  # type: ignore[operator]


def test_docs_list_every_error_code() -> None:
    from pathlib import Path

    from hub.errors import registry_markdown

    doc = Path(__file__).parents[1] / "docs" / "errors.md"
    assert doc.read_text(encoding="utf-8") == registry_markdown(), "run: thads-hub errors --markdown > docs/errors.md"
