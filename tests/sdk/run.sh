#!/usr/bin/env bash
# Runs the leancloud-storage (npm, JS SDK) suite against a freshly started Phonebase.
#
#   tests/sdk/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_SDK_PG_URL=postgres://postgres@127.0.0.1:5432 tests/sdk/run.sh   # PostgreSQL
#
# Environment:
#   PHONEBASE_BIN         use this binary instead of building target/debug/phonebase
#   PB_SDK_CAPTCHA_BIN    the captcha fixture server (default: built from examples/sdk_captcha_server.rs)
#   PHONEBASE_SDK_PG_URL  server URL of PostgreSQL (no database part); a random database is
#                         created (connecting to database `test`, or PHONEBASE_SDK_PG_ADMIN_DB) and
#                         dropped at exit. Needs psql.
#   extra arguments are passed to `node --test` (e.g. --test-name-pattern=voice)
#
# Every tests/sdk/*.test.mjs runs (sms.test.mjs, users.test.mjs, ...); node runs the files in
# parallel, each in its own process with its own SDK instance.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '[sdk] %s\n' "$*" >&2; }

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

# A second instance on the same database whose captcha answers the suite knows (a test fixture:
# the real application with only its captcha text source swapped, see the example's comment).
captcha_bin="${PB_SDK_CAPTCHA_BIN:-$root/target/debug/examples/sdk_captcha_server}"
if [[ -z "${PB_SDK_CAPTCHA_BIN:-}" ]]; then
  (cd "$root" && cargo build --quiet --example sdk_captcha_server)
fi
[[ -x "$captcha_bin" ]] || { log "no executable at $captcha_bin"; exit 1; }
CAPTCHA_ANSWER="K7PX3M"

# The server reads PHONEBASE_* variables that name a setting as configuration; read this script's
# own variables first, then clear the rest so nothing from the caller's shell changes the server.
pg_url="${PHONEBASE_SDK_PG_URL:-}"
pg_admin_db="${PHONEBASE_SDK_PG_ADMIN_DB:-test}"
keep="${PHONEBASE_SDK_KEEP:-}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
unset DATABASE_URL

command -v node >/dev/null || { log "node is required"; exit 1; }
command -v npm >/dev/null || { log "npm is required"; exit 1; }

# ------------------------------------------------------------------------------------------------
# SDK (the real npm package, installed here; node_modules is git-ignored)
if [[ ! -d "$here/node_modules/leancloud-storage" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  log "installing npm packages"
  if [[ -f "$here/package-lock.json" ]]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi

# ------------------------------------------------------------------------------------------------
# Scratch space, database, cleanup
work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-sdk.XXXXXX")"
data_dir="$work/data"
mkdir -p "$data_dir"
server_log="$work/server.log"
server_pid=""
captcha_pid=""
pg_db=""
status=""

psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 "${pg_url%/}/$pg_admin_db" "$@"
}

cleanup() {
  local rc=$?
  # Exit status: node's, or else that of whatever failed on the way.
  [[ -n "$status" ]] || status=$rc
  for pid in "$server_pid" "$captcha_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
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
  command -v psql >/dev/null || { log "psql is required for PHONEBASE_SDK_PG_URL"; exit 1; }
  pg_db="phonebase_sdk_$(date +%s)_$$_${RANDOM}"
  psql_admin -c "CREATE DATABASE \"$pg_db\"" >/dev/null
  export DATABASE_URL="${pg_url%/}/$pg_db"
  # PostgreSQL takes the server secret from the configuration only (the CLI and both servers).
  PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
  export PHONEBASE_SECRET_KEY
  log "database: PostgreSQL $pg_db"
else
  log "database: SQLite in $data_dir"
fi

# Run the CLI and the server from the data dir so that no ./phonebase.toml is picked up.
cd "$data_dir"

# ------------------------------------------------------------------------------------------------
# App
app_json="$("$bin" app create --name sdk --json 2>>"$server_log" | grep '^{' | tail -n 1 || true)"
[[ -n "$app_json" ]] || { log "'$bin app create --name sdk --json' printed no JSON"; exit 1; }
field() { node -e 'process.stdout.write(String(JSON.parse(process.argv[1])[process.argv[2]]))' "$app_json" "$1"; }
APP_ID="$(field appId)"
APP_KEY="$(field appKey)"
MASTER_KEY="$(field masterKey)"
TEST_NUMBER="+8613900000000"
TEST_NUMBER_CODE="123456"
"$bin" app update "$APP_ID" --settings "{\"test_numbers\":{\"$TEST_NUMBER\":\"$TEST_NUMBER_CODE\"}}" >/dev/null 2>>"$server_log" \
  || { log "app update failed"; exit 1; }

# ------------------------------------------------------------------------------------------------
# Server
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$bin" serve --bind "127.0.0.1:$port" >>"$server_log" 2>&1 &
server_pid=$!

wait_healthy() { # pid url
  for _ in $(seq 150); do
    kill -0 "$1" 2>/dev/null || { log "server exited during startup"; return 1; }
    curl -fsS "$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "server not healthy on $2 after 15 s"
  return 1
}
wait_healthy "$server_pid" "$url"
log "server up on $url (pid $server_pid)"

captcha_port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
captcha_url="http://127.0.0.1:$captcha_port"
# No outbox worker here: the first instance delivers what this one queues.
PB_SDK_CAPTCHA_ANSWER="$CAPTCHA_ANSWER" PHONEBASE_DELIVERY__WORKER=false \
  "$captcha_bin" "127.0.0.1:$captcha_port" >>"$server_log" 2>&1 &
captcha_pid=$!
wait_healthy "$captcha_pid" "$captcha_url"
log "captcha fixture up on $captcha_url (pid $captcha_pid)"

# ------------------------------------------------------------------------------------------------
# Tests
set +e
(
  cd "$here"
  PHONEBASE_URL="$url" APP_ID="$APP_ID" APP_KEY="$APP_KEY" MASTER_KEY="$MASTER_KEY" \
    SINK_PATH="$data_dir/sms-sink.jsonl" TEST_NUMBER="$TEST_NUMBER" TEST_NUMBER_CODE="$TEST_NUMBER_CODE" \
    PB_BIN="$bin" CAPTCHA_URL="$captcha_url" CAPTCHA_ANSWER="$CAPTCHA_ANSWER" \
    node --test --test-reporter=spec "$@" ./*.test.mjs
)
status=$?
set -e
exit "$status"
