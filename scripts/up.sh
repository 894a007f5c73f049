#!/usr/bin/env bash
# README command 1: set up and run the hub with the sandbox agencies on embedded defaults
# (SQLite and keys in ./.thads, local Redis). The sandbox listens on 8100, the hub on 8000.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv ""
ensure_redis "${THADS_REDIS_URL:-redis://127.0.0.1:6379/0}" optional
"$VENV/bin/thads-hub" db upgrade
"$VENV/bin/thads-hub" pki init
HUB_PORT="${THADS_PORT:-8000}"
"$VENV/bin/thads-hub" sandbox --port "${THADS_SANDBOX_PORT:-8100}" --hub-url "http://127.0.0.1:$HUB_PORT" &
SANDBOX_PID=$!
trap 'kill "$SANDBOX_PID" 2>/dev/null || true' EXIT INT TERM
# The hub builds its connectors from the agencies file the sandbox writes: wait until it serves.
"$VENV/bin/python" - "http://127.0.0.1:${THADS_SANDBOX_PORT:-8100}/" <<'PY' || die "the sandbox did not start"
import sys, time, httpx
for _ in range(600):
    try:
        if httpx.get(sys.argv[1], timeout=1).status_code == 200:
            sys.exit(0)
    except httpx.HTTPError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
"$VENV/bin/thads-hub" serve --host "${THADS_HOST:-127.0.0.1}" --port "$HUB_PORT" "$@"
