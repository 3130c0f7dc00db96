#!/usr/bin/env bash
# The operator console in a real headless browser (Debian's chromium, driven by playwright-core),
# plus the end-to-end path: SDK requestSmsCode with a template → 605, an operator approves it in
# the console → the same call succeeds and the sink shows the rendered text.
#
#   tests/console/run.sh                                                       # SQLite
#   PHONEBASE_CONSOLE_PG_URL=postgres://postgres@127.0.0.1:5432 tests/console/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN (binary to use), CHROMIUM (default /usr/bin/chromium).
# Screenshots of the review page go to tests/console/screenshots/ (git-ignored).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '[console] %s\n' "$*" >&2; }

bin="${PHONEBASE_BIN:-$root/target/debug/phonebase}"
# Built every time unless given (a no-op when up to date): a stale binary would test old code.
[[ -n "${PHONEBASE_BIN:-}" ]] || (cd "$root" && cargo build --quiet --bin phonebase)
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$chromium" ]] || { log "no chromium at $chromium (apt-get install -y chromium)"; exit 1; }

# Only this script's own variables reach the server: it reads PHONEBASE_* as configuration.
pg_url="${PHONEBASE_CONSOLE_PG_URL:-}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
unset DATABASE_URL

if [[ ! -d "$here/node_modules/playwright-core" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  log "installing npm packages"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-console.XXXXXX")"
data_dir="$work/data"
mkdir -p "$data_dir" "$here/screenshots"
server_log="$work/server.log"
server_pid=""
pg_db=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -s "$server_log" ]]; then
    log "---- server log (last 100 lines) ----"
    tail -n 100 "$server_log" >&2 || true
  fi
  if [[ -n "$pg_db" ]]; then
    psql -X -q "${pg_url%/}/test" -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 \
      || log "could not drop database $pg_db"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

export PHONEBASE_DATA_DIR="$data_dir" RUST_LOG="${RUST_LOG:-warn}"
export PHONEBASE_APP_CACHE_SECS=0 PHONEBASE_DELIVERY__POLL_INTERVAL_MS=100
if [[ -n "$pg_url" ]]; then
  pg_db="phonebase_console_$(date +%s)_$$"
  psql -X -q -v ON_ERROR_STOP=1 "${pg_url%/}/test" -c "CREATE DATABASE \"$pg_db\"" >/dev/null
  export DATABASE_URL="${pg_url%/}/$pg_db"
  # PostgreSQL takes the server secret from the configuration only.
  PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
  export PHONEBASE_SECRET_KEY
  log "database: PostgreSQL $pg_db"
fi
cd "$data_dir"

app_json="$("$bin" app create --name Shop --json 2>>"$server_log" | grep '^{' | tail -n 1)"
operator_password="console-test-$RANDOM-$RANDOM"
printf '%s\n' "$operator_password" | "$bin" admin create reviewer --password-stdin >>"$server_log" 2>&1

port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$bin" serve --bind "127.0.0.1:$port" >>"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { log "server exited during startup"; exit 1; }
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { log "server not healthy on $url"; exit 1; }

cd "$here"
PHONEBASE_URL="$url" APP_JSON="$app_json" SINK_PATH="$data_dir/sms-sink.jsonl" CHROMIUM="$chromium" \
  OPERATOR_NAME=reviewer OPERATOR_PASSWORD="$operator_password" SCREENSHOT_DIR="$here/screenshots" \
  node --test --test-reporter=spec "$@" ./*.test.mjs
