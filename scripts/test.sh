#!/usr/bin/env bash
# README command 2: set up and run the whole test suite (lint, types, unit, store on SQLite and
# PostgreSQL, API over real HTTP). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv "[dev]"
export THADS_TEST_REDIS_URL="${THADS_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
export THADS_TEST_DATABASE_URL="${THADS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
ensure_redis "$THADS_TEST_REDIS_URL" required
ensure_postgres "$THADS_TEST_DATABASE_URL"
ensure_xmlsec1
ensure_chromium
say "ruff"; "$VENV/bin/ruff" check hub adapters connectors mappings sandbox_mocks tests bench
say "mypy"; "$VENV/bin/mypy" hub adapters connectors mappings sandbox_mocks
say "pytest"; exec "$VENV/bin/python" -m pytest -q "$@"
