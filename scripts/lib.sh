# Shared set-up for scripts/up.sh and scripts/test.sh. Sourced, not run.
# Makes .venv with the project installed, and starts (or explains how to get) Redis and PostgreSQL.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
say() { printf '\033[1m[thads]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[thads] %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  return 1
}

ensure_venv() {  # $1: pip extras, e.g. "[dev]" or ""
  local extras="$1" stamp="$VENV/.installed$1"
  if [ ! -x "$VENV/bin/python" ]; then
    local py; py="$(find_python)" || die "Python >= 3.11 with venv is required (Debian: apt-get install python3 python3-venv)."
    say "creating .venv with $py"
    "$py" -m venv "$VENV" || die "could not create .venv (Debian: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "installing thads-hub$extras into .venv"
    "$VENV/bin/python" -m pip install -q -e "$ROOT$extras" || die "pip install failed"
    touch "$stamp"
  fi
}

can_install_debian() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

redis_up() { "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1, socket_timeout=1).ping()
PY
}

ensure_redis() {  # $1: URL; $2: "required" to fail when it cannot be had
  local url="$1"
  redis_up "$url" && return 0
  case "$url" in
    redis://127.0.0.1:*|redis://localhost:*) ;;
    *) [ "$2" = required ] && die "Redis at $url is not reachable."; say "Redis at $url is not reachable: /ready will report it."; return 0 ;;
  esac
  local port; port="$(echo "$url" | sed -E 's#redis://[^:]+:([0-9]+).*#\1#')"
  if ! command -v redis-server >/dev/null 2>&1 && can_install_debian; then
    say "installing Redis (apt-get install redis-server)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null 2>&1 || true
  fi
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p "$ROOT/.thads"
    say "starting redis-server on 127.0.0.1:$port (no persistence; log in .thads/redis.log)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --dir "$ROOT/.thads" --logfile "$ROOT/.thads/redis.log" >/dev/null
    for _ in $(seq 1 50); do redis_up "$url" && return 0; sleep 0.1; done
  fi
  local msg="Redis is not running at $url and could not be started. Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set THADS_REDIS_URL."
  [ "$2" = required ] && die "$msg"
  say "$msg The hub runs without it, and /ready answers 503 naming redis."
}

pg_up() { "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, sqlalchemy
sqlalchemy.create_engine(sys.argv[1], connect_args={"connect_timeout": 2}).connect().close()
PY
}

ensure_postgres() {  # $1: SQLAlchemy URL of the test database
  local url="$1"
  pg_up "$url" && return 0
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && can_install_debian; then
    say "installing PostgreSQL (apt-get install postgresql)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || true
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    local ver; ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [ -n "$ver" ]; then
      say "starting PostgreSQL $ver"
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || true
      for _ in $(seq 1 50); do pg_up "$url" && return 0; sleep 0.2; done
    fi
  fi
  die "PostgreSQL is not reachable at $url. The store tests run on PostgreSQL as well as SQLite.
  Install and start it (Debian: apt-get install postgresql), allow the connection (this URL uses the
  'postgres' role without a password: 'trust' for 127.0.0.1 in pg_hba.conf), create the database
  ('createdb test'), or point THADS_TEST_DATABASE_URL at a server you have."
}

ensure_xmlsec1() {  # the independent XML-DSig implementation the interop tests check against
  command -v xmlsec1 >/dev/null 2>&1 && return 0
  if can_install_debian; then
    say "installing xmlsec1 (apt-get install xmlsec1)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1) >/dev/null 2>&1 || true
  fi
  command -v xmlsec1 >/dev/null 2>&1 || die "xmlsec1 is needed by the signature interop tests (Debian: apt-get install xmlsec1; macOS: brew install libxmlsec1)."
}

ensure_chromium() {  # the operations page test drives the system's chromium through playwright (no download)
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 && return 0
  if can_install_debian; then
    say "installing chromium for the operations page test (apt-get install chromium)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
    die "chromium is needed by the operations page test (Debian: apt-get install chromium; Ubuntu: the chromium snap or package)."
}
