#!/usr/bin/env bash
# Runs Bmob's SDKs against a freshly started Phonebase: the real npm hydrogen-js-sdk (signed mode,
# bmob.test.mjs) and the real PyPI bmobpy (plain headers, bmobpy_check.py, in a venv under
# tests/sdk-bmob/.venv, git-ignored).
#
#   tests/sdk-bmob/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_SDK_PG_URL=postgres://postgres@127.0.0.1:5432 tests/sdk-bmob/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PB_SDK_CAPTCHA_BIN, PHONEBASE_SDK_PG_URL, PHONEBASE_SDK_PG_ADMIN_DB,
# PHONEBASE_SDK_KEEP as in tests/sdk/run.sh. Extra arguments go to `node --test`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '[sdk-bmob] %s\n' "$*" >&2; }

if [[ -n "${PHONEBASE_BIN:-}" ]]; then
  bin="$PHONEBASE_BIN"
else
  bin="$root/target/debug/phonebase"
  (cd "$root" && cargo build --quiet --bin phonebase)
fi
[[ -x "$bin" ]] || { log "no executable at $bin"; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
captcha_bin="${PB_SDK_CAPTCHA_BIN:-$root/target/debug/examples/sdk_captcha_server}"
if [[ -z "${PB_SDK_CAPTCHA_BIN:-}" ]]; then
  (cd "$root" && cargo build --quiet --example sdk_captcha_server)
fi
[[ -x "$captcha_bin" ]] || { log "no executable at $captcha_bin"; exit 1; }
CAPTCHA_ANSWER="K7PX3M"

pg_url="${PHONEBASE_SDK_PG_URL:-}"
pg_admin_db="${PHONEBASE_SDK_PG_ADMIN_DB:-test}"
keep="${PHONEBASE_SDK_KEEP:-}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
unset DATABASE_URL

command -v node >/dev/null || { log "node is required"; exit 1; }
command -v npm >/dev/null || { log "npm is required"; exit 1; }
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }

# The SDKs: the npm package (node_modules is git-ignored) and bmobpy in a venv (git-ignored).
# CI runs this script twice at once (SQLite and PostgreSQL): one installs, the other waits.
exec 9>"${TMPDIR:-/tmp}/phonebase-sdk-bmob-install.lock"
flock 9
if [[ ! -d "$here/node_modules/hydrogen-js-sdk" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  log "installing npm packages"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import bmobpy' 2>/dev/null; then
  log "installing bmobpy into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || { log "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

flock -u 9

work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-sdk-bmob.XXXXXX")"
data_dir="$work/data"
mkdir -p "$data_dir"
server_log="$work/server.log"
server_pid=""
captcha_pid=""
pg_db=""
status=""

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "${pg_url%/}/$pg_admin_db" "$@"; }

cleanup() {
  local rc=$?
  [[ -n "$status" ]] || status=$rc
  for pid in "$server_pid" "$captcha_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ "$status" -ne 0 && -s "$server_log" ]]; then
    log "---- server log (last 200 lines) ----"
    tail -n 200 "$server_log" >&2 || true
  fi
  if [[ -n "$pg_db" ]]; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || log "could not drop database $pg_db"
  fi
  if [[ "$keep" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
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
  pg_db="phonebase_sdk_bmob_$(date +%s)_$$_${RANDOM}"
  psql_admin -c "CREATE DATABASE \"$pg_db\"" >/dev/null
  export DATABASE_URL="${pg_url%/}/$pg_db"
  PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
  export PHONEBASE_SECRET_KEY
  log "database: PostgreSQL $pg_db"
else
  log "database: SQLite in $data_dir"
fi
cd "$data_dir"

# An app, and its Bmob keys (`app create --json` prints them under "bmob").
app_json="$("$bin" app create --name sdk-bmob --json 2>>"$server_log" | grep '^{' | tail -n 1 || true)"
[[ -n "$app_json" ]] || { log "app create printed no JSON"; exit 1; }
bmob_key() { node -e 'process.stdout.write(String(JSON.parse(process.argv[1]).bmob[process.argv[2]]))' "$app_json" "$1"; }
BMOB_APPLICATION_ID="$(bmob_key applicationId)"
BMOB_REST_API_KEY="$(bmob_key restApiKey)"
BMOB_MASTER_KEY="$(bmob_key masterKey)"
BMOB_SECRET_KEY="$(bmob_key secretKey)"
BMOB_SECURITY_CODE="$(bmob_key securityCode)"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_healthy() { # pid url
  for _ in $(seq 150); do
    kill -0 "$1" 2>/dev/null || { log "server exited during startup"; return 1; }
    curl -fsS "$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "server not healthy on $2"; return 1
}
port="$(free_port)"
url="http://127.0.0.1:$port"
"$bin" serve --bind "127.0.0.1:$port" >>"$server_log" 2>&1 &
server_pid=$!
wait_healthy "$server_pid" "$url"
captcha_port="$(free_port)"
captcha_url="http://127.0.0.1:$captcha_port"
PB_SDK_CAPTCHA_ANSWER="$CAPTCHA_ANSWER" PHONEBASE_DELIVERY__WORKER=false \
  "$captcha_bin" "127.0.0.1:$captcha_port" >>"$server_log" 2>&1 &
captcha_pid=$!
wait_healthy "$captcha_pid" "$captcha_url"
log "server on $url, captcha fixture on $captcha_url"

set +e
export PHONEBASE_URL="$url" CAPTCHA_URL="$captcha_url" CAPTCHA_ANSWER="$CAPTCHA_ANSWER" \
  SINK_PATH="$data_dir/sms-sink.jsonl" BMOB_APPLICATION_ID BMOB_REST_API_KEY BMOB_MASTER_KEY \
  BMOB_SECRET_KEY BMOB_SECURITY_CODE
(cd "$here" && node --test --test-reporter=spec "$@" ./bmob.test.mjs)
node_status=$?
(cd "$here" && "$venv/bin/python" ./bmobpy_check.py)
py_status=$?
set -e
log "hydrogen-js-sdk: exit $node_status; bmobpy: exit $py_status"
status=$(( node_status != 0 || py_status != 0 ))
exit "$status"
