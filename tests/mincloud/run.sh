#!/usr/bin/env bash
# Runs the minapp-sdk (npm, MinCloud / 知晓云 web build) suite against a freshly started Phonebase.
#
#   tests/mincloud/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_MINCLOUD_PG_URL=postgres://postgres@127.0.0.1:5432 tests/mincloud/run.sh   # PostgreSQL
#
# Environment:
#   PHONEBASE_BIN               use this binary instead of building target/debug/phonebase
#   PHONEBASE_MINCLOUD_PG_URL   server URL of PostgreSQL (no database part); a random database is
#                               created (connecting to database `test`, or
#                               PHONEBASE_MINCLOUD_PG_ADMIN_DB) and dropped at exit. Needs psql.
#   extra arguments are passed to `node --test`
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '[mincloud] %s\n' "$*" >&2; }

if [[ -n "${PHONEBASE_BIN:-}" ]]; then
  bin="$PHONEBASE_BIN"
else
  bin="$root/target/debug/phonebase"
  (cd "$root" && cargo build --quiet --bin phonebase)
fi
[[ -x "$bin" ]] || { log "no executable at $bin"; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# Read this script's own variables, then clear every other PHONEBASE_* so that nothing from the
# caller's shell configures the server.
pg_url="${PHONEBASE_MINCLOUD_PG_URL:-}"
pg_admin_db="${PHONEBASE_MINCLOUD_PG_ADMIN_DB:-test}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
unset DATABASE_URL

command -v node >/dev/null || { log "node is required"; exit 1; }
command -v npm >/dev/null || { log "npm is required"; exit 1; }

# The real npm packages, installed here (node_modules is git-ignored).
if [[ ! -d "$here/node_modules/minapp-sdk" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  log "installing npm packages"
  if [[ -f "$here/package-lock.json" ]]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-mincloud.XXXXXX")"
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
  if [[ "$status" -ne 0 && -s "$server_log" ]]; then
    log "---- server log (last 200 lines) ----"
    tail -n 200 "$server_log" >&2 || true
  fi
  if [[ -n "$pg_db" ]]; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || log "could not drop database $pg_db"
  fi
  rm -rf "$work"
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
  command -v psql >/dev/null || { log "psql is required for PHONEBASE_MINCLOUD_PG_URL"; exit 1; }
  pg_db="phonebase_mincloud_$(date +%s)_$$_${RANDOM}"
  psql_admin -c "CREATE DATABASE \"$pg_db\"" >/dev/null
  export DATABASE_URL="${pg_url%/}/$pg_db"
  PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
  export PHONEBASE_SECRET_KEY
  log "database: PostgreSQL $pg_db"
else
  log "database: SQLite in $data_dir"
fi

cd "$data_dir"

# An app, and its MinCloud client id (what BaaS.init takes).
app_json="$("$bin" app create --name mincloud --json 2>>"$server_log" | grep '^{' | tail -n 1 || true)"
[[ -n "$app_json" ]] || { log "'app create --json' printed no JSON"; exit 1; }
app_id="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).appId)' "$app_json")"
show_json="$("$bin" app show "$app_id" --json 2>>"$server_log" | grep -v '^\s*$' || true)"
client_id="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).mincloud.clientId)' "$show_json")"
[[ -n "$client_id" ]] || { log "no MinCloud client id in 'app show --json'"; exit 1; }

port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$bin" serve --bind "127.0.0.1:$port" >>"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  kill -0 "$server_pid" 2>/dev/null || { log "server exited during startup"; exit 1; }
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { log "server not healthy on $url"; exit 1; }
log "server up on $url (pid $server_pid)"

set +e
(
  cd "$here"
  PHONEBASE_URL="$url" CLIENT_ID="$client_id" SINK_PATH="$data_dir/sms-sink.jsonl" \
    node --test --test-concurrency=1 --test-reporter=spec "$@" ./*.test.mjs
)
status=$?
set -e
exit "$status"
