#!/usr/bin/env bash
# README command 1: set up and run the hub on embedded defaults (SQLite in ./.thads, local Redis).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv ""
ensure_redis "${THADS_REDIS_URL:-redis://127.0.0.1:6379/0}" optional
"$VENV/bin/thads-hub" db upgrade
"$VENV/bin/thads-hub" pki init
exec "$VENV/bin/thads-hub" serve --host "${THADS_HOST:-127.0.0.1}" --port "${THADS_PORT:-8000}" "$@"
