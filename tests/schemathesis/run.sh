#!/usr/bin/env bash
# Fuzzes every operation of Phonebase's /openapi.json with schemathesis (PyPI, in a virtualenv
# here) against a freshly started server: fails on any 5xx, any error body that is not the JSON
# the document declares, and any answer that breaks its schema.
#
#   tests/schemathesis/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_FUZZ_PG_URL=postgres://postgres@127.0.0.1:5432 tests/schemathesis/run.sh   # PostgreSQL
#
# Environment:
#   PHONEBASE_BIN            use this binary instead of building target/debug/phonebase
#   PHONEBASE_FUZZ_PG_URL    server URL of PostgreSQL (no database part); a random database is
#                            created (connecting to database `test`, or PHONEBASE_FUZZ_PG_ADMIN_DB)
#                            and dropped at exit. Needs psql.
#   PHONEBASE_FUZZ_EXAMPLES  generated cases per operation in the fuzzing phase (default 10; the
#                            coverage phase adds its own, about 25 per operation)
#   PHONEBASE_FUZZ_MIN_CASES the run fails below this many cases in all (default 2000)
#   PHONEBASE_FUZZ_SEED      schemathesis' seed (default: a random one, printed)
#   extra arguments are passed to `st run` (e.g. --include-tag Bmob)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '[schemathesis] %s\n' "$*" >&2; }

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
pg_url="${PHONEBASE_FUZZ_PG_URL:-}"
pg_admin_db="${PHONEBASE_FUZZ_PG_ADMIN_DB:-test}"
examples="${PHONEBASE_FUZZ_EXAMPLES:-10}"
min_cases="${PHONEBASE_FUZZ_MIN_CASES:-2000}"
seed="${PHONEBASE_FUZZ_SEED:-$RANDOM$RANDOM}"
keep="${PHONEBASE_FUZZ_KEEP:-}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
unset DATABASE_URL

command -v python3 >/dev/null || { log "python3 is required"; exit 1; }

# ------------------------------------------------------------------------------------------------
# schemathesis (the PyPI package in a virtualenv here; .venv is git-ignored)
venv="$here/.venv"
if [[ ! -x "$venv/bin/st" || "$here/requirements.txt" -nt "$venv/.installed" ]]; then
  log "installing schemathesis"
  python3 -m venv "$venv" || { log "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$venv/.installed"
fi

# ------------------------------------------------------------------------------------------------
# Scratch space, database, cleanup
work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-fuzz.XXXXXX")"
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
      log "---- server log: errors and panics (of $server_log) ----"
      grep -E 'ERROR|panicked' "$server_log" | tail -n 60 >&2 || true
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
  command -v psql >/dev/null || { log "psql is required for PHONEBASE_FUZZ_PG_URL"; exit 1; }
  pg_db="phonebase_fuzz_$(date +%s)_$$_${RANDOM}"
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
# An app, its keys in every dialect, and a console operator
app_json="$("$bin" app create --name fuzz --json 2>>"$server_log" | grep '^{' | tail -n 1 || true)"
[[ -n "$app_json" ]] || { log "'$bin app create --name fuzz --json' printed no JSON"; exit 1; }
app_id="$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["appId"])' "$app_json")"
show_json="$("$bin" app show "$app_id" --json 2>>"$server_log")"
operator_password="fuzz-$RANDOM-$RANDOM-operator"
printf '%s\n' "$operator_password" | "$bin" admin create fuzzer --password-stdin >>"$server_log" 2>&1

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
# Credentials for every security scheme of the document (schemathesis.toml reads them)
eval "$(python3 "$here/credentials.py" "$url" "$show_json" "$operator_password")"

# ------------------------------------------------------------------------------------------------
# The run
log "seed $seed, $examples cases per operation and phase, at least $min_cases in all"
out="$work/st.out"
set +e
"$venv/bin/python" "$here/st.py" --no-color --config-file "$here/schemathesis.toml" run "$url/openapi.json" \
  --checks not_a_server_error,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing --max-examples "$examples" --seed "$seed" \
  --workers 4 --request-timeout 30 --generation-database none --suppress-health-check all \
  --warnings off "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
# The summary says "Test cases:", then "N generated, ..." on the next line.
cases="$(grep -A1 '^Test cases:' "$out" | grep -oE '[0-9]+ generated' | grep -oE '[0-9]+' | tail -n 1 || true)"
if [[ "$status" -eq 0 && ( -z "$cases" || "$cases" -lt "$min_cases" ) ]]; then
  log "only ${cases:-no} test cases (at least $min_cases wanted)"
  status=1
fi
log "${cases:-?} test cases, exit $status"
exit "$status"
