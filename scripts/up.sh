#!/usr/bin/env bash
# README command 1: set up, then `thads-hub demo`: the sandbox agencies (:8100), the hub (:8000) and a
# worker on embedded defaults (SQLite and keys in ./.thads, local Redis), the whole story told once,
# then everything keeps serving until Ctrl-C. Extra arguments go to `thads-hub demo` (e.g. --exit).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv ""
ensure_redis "${THADS_REDIS_URL:-redis://127.0.0.1:6379/0}" required
exec "$VENV/bin/thads-hub" demo --host "${THADS_HOST:-127.0.0.1}" --port "${THADS_PORT:-8000}" \
  --sandbox-port "${THADS_SANDBOX_PORT:-8100}" "$@"
