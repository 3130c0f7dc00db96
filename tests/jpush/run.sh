#!/usr/bin/env bash
# Runs the official JPush SMS Python client (`jsms` from PyPI, in a virtualenv here) against a
# freshly started Phonebase, through the `/v1` dialect.
#
#   tests/jpush/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_JPUSH_PG_URL=postgres://postgres@127.0.0.1:5432 tests/jpush/run.sh   # PostgreSQL
#
# Environment:
#   PHONEBASE_BIN            use this binary instead of building target/debug/phonebase
#   PHONEBASE_JPUSH_PG_URL   server URL of PostgreSQL (no database part); a random database is
#                            created (connecting to database `test`, or PHONEBASE_JPUSH_PG_ADMIN_DB)
#                            and dropped at exit. Needs psql.
#   extra arguments are passed to pytest (e.g. -k schedule)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '[jpush] %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------------
# Binary
if [[ -n "${PHONEBASE_BIN:-}" ]]; then
  bin="$PHONEBASE_BIN"
else
  bin="$root/target/debug/phonebase"
  # Built every time (a no-op when up to date): a stale binary would test old code.
  (cd "$root" && cargo build --quiet --bin phonebase)
fi
[[ -x "$bin" ]] || { log "no executable at $bin"; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# The server reads PHONEBASE_* variables that name a setting as configuration; read this script's
# own variables first, then clear the rest so nothing from the caller's shell changes the server.
pg_url="${PHONEBASE_JPUSH_PG_URL:-}"
pg_admin_db="${PHONEBASE_JPUSH_PG_ADMIN_DB:-test}"
keep="${PHONEBASE_JPUSH_KEEP:-}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
unset DATABASE_URL

command -v python3 >/dev/null || { log "python3 is required"; exit 1; }

# ------------------------------------------------------------------------------------------------
# Client (the real PyPI package in a virtualenv here; .venv is git-ignored)
venv="$here/.venv"
if [[ ! -x "$venv/bin/pytest" || "$here/requirements.txt" -nt "$venv/.installed" ]]; then
  log "installing the Python client (jsms) and pytest"
  python3 -m venv "$venv" || { log "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$venv/.installed"
fi

# ------------------------------------------------------------------------------------------------
# Scratch space, database, cleanup
work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-jpush.XXXXXX")"
data_dir="$work/data"
mkdir -p "$data_dir"
server_log="$work/server.log"
server_pid=""
pg_db=""
status=""

psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 "${pg_url%/}/$pg_admin_db" "$@"
}

cleanup() {
  local rc=$?
  [[ -n "$status" ]] || status=$rc
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "$status" -ne 0 ]]; then
    if [[ -s "$server_log" ]]; then
      log "---- server log (last 200 lines of $server_log) ----"
      tail -n 200 "$server_log" >&2 || true
      log "---- end of server log ----"
    else
      log "(server log is empty)"
    fi
  fi
  if [[ -n "$pg_db" ]]; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 \
      || psql_admin -c "DROP DATABASE IF EXISTS \"$pg_db\"" >/dev/null 2>&1 \
      || log "could not drop database $pg_db"
  fi
  if [[ "$keep" == 1 ]]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export PHONEBASE_DATA_DIR="$data_dir"
export RUST_LOG="${RUST_LOG:-warn}"
export PHONEBASE_APP_CACHE_SECS=0
export PHONEBASE_DELIVERY__POLL_INTERVAL_MS=100

if [[ -n "$pg_url" ]]; then
  command -v psql >/dev/null || { log "psql is required for PHONEBASE_JPUSH_PG_URL"; exit 1; }
  pg_db="phonebase_jpush_$(date +%s)_$$_${RANDOM}"
  psql_admin -c "CREATE DATABASE \"$pg_db\"" >/dev/null
  export DATABASE_URL="${pg_url%/}/$pg_db"
  PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
  export PHONEBASE_SECRET_KEY
  log "database: PostgreSQL $pg_db"
else
  log "database: SQLite in $data_dir"
fi

cd "$data_dir"

# ------------------------------------------------------------------------------------------------
# App and its JPush keys
app_json="$("$bin" app create --name jpush --json 2>>"$server_log" | grep '^{' | tail -n 1 || true)"
[[ -n "$app_json" ]] || { log "'$bin app create --name jpush --json' printed no JSON"; exit 1; }
APP_ID="$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["appId"])' "$app_json")"
# Printed indented: the whole output is one JSON document.
show_json="$("$bin" app show "$APP_ID" --json 2>>"$server_log")"
jpush_key() { python3 -c 'import json,sys;print(json.loads(sys.argv[1])["jpush"][sys.argv[2]])' "$show_json" "$1"; }
JPUSH_APP_KEY="$(jpush_key appKey)"
JPUSH_MASTER_SECRET="$(jpush_key masterSecret)"

# ------------------------------------------------------------------------------------------------
# Server
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$bin" serve --bind "127.0.0.1:$port" >>"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  kill -0 "$server_pid" 2>/dev/null || { log "server exited during startup"; exit 1; }
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { log "server not healthy on $url after 15 s"; exit 1; }
log "server up on $url (pid $server_pid)"

# ------------------------------------------------------------------------------------------------
# Tests
set +e
(
  cd "$here"
  PHONEBASE_URL="$url" APP_ID="$APP_ID" JPUSH_APP_KEY="$JPUSH_APP_KEY" \
    JPUSH_MASTER_SECRET="$JPUSH_MASTER_SECRET" SINK_PATH="$data_dir/sms-sink.jsonl" PB_BIN="$bin" \
    "$venv/bin/pytest" -q -p no:cacheprovider "$@" test_jsms.py
)
status=$?
set -e
exit "$status"
