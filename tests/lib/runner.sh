# Shared by the suites that drive a real Phonebase from outside (tests/*/run.sh): the binary, a
# scratch data dir, an optional PostgreSQL database of the run's own, the server on a free port,
# and a cleanup that stops every process, prints the server log when the run failed, and drops the
# database. Sourced, not run:
#
#   here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
#   source "$here/../lib/runner.sh"
#   runner_init jpush PHONEBASE_JPUSH     # log prefix; prefix of the suite's own variables
#   app_json="$(create_app jpush)"
#   start_server                          # sets url, port, server_pid
#   run_suite pytest -q ...               # runs the suite from $here; its status is the script's
#
# The suite's own variables, read before the others are cleared:
#   PHONEBASE_BIN         use this binary instead of building target/debug/phonebase
#   <PREFIX>_PG_URL       server URL of PostgreSQL (no database part): a random database is created
#                         (connecting to database `test`, or <PREFIX>_PG_ADMIN_DB) and dropped at exit
#   <PREFIX>_KEEP=1       keep the scratch dir (server log, SQLite file, SMS sink) after the run

log() { printf '[%s] %s\n' "${runner_name:-suite}" "$*" >&2; }

# runner_init NAME PREFIX: binary, environment, scratch space, database, cleanup trap.
runner_init() {
  runner_name="$1"
  local pg_var="${2}_PG_URL" admin_var="${2}_PG_ADMIN_DB" keep_var="${2}_KEEP"
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

  if [[ -n "${PHONEBASE_BIN:-}" ]]; then
    bin="$PHONEBASE_BIN"
  else
    bin="$root/target/debug/phonebase"
    # Built every time (a no-op when up to date): a stale binary would test old code.
    (cd "$root" && cargo build --quiet --bin phonebase)
  fi
  [[ -x "$bin" ]] || { log "no executable at $bin"; exit 1; }
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

  # The server reads PHONEBASE_* variables that name a setting as configuration: read the suite's
  # own variables first, then clear the rest so nothing from the caller's shell changes the server.
  pg_url="${!pg_var:-}"
  pg_admin_db="${!admin_var:-test}"
  keep="${!keep_var:-}"
  while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
  unset DATABASE_URL
  command -v python3 >/dev/null || { log "python3 is required"; exit 1; }
  command -v curl >/dev/null || { log "curl is required"; exit 1; }

  work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-$runner_name.XXXXXX")"
  data_dir="$work/data"
  mkdir -p "$data_dir"
  server_log="$work/server.log"
  server_pid=""
  runner_pids=()
  pg_db=""
  status=""
  trap runner_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  export PHONEBASE_DATA_DIR="$data_dir"
  export RUST_LOG="${RUST_LOG:-warn}"
  export PHONEBASE_APP_CACHE_SECS=0
  export PHONEBASE_DELIVERY__POLL_INTERVAL_MS=100

  if [[ -n "$pg_url" ]]; then
    command -v psql >/dev/null || { log "psql is required for $pg_var"; exit 1; }
    pg_db="phonebase_${runner_name//-/_}_$(date +%s)_$$_${RANDOM}"
    psql_admin -c "CREATE DATABASE \"$pg_db\"" >/dev/null
    export DATABASE_URL="${pg_url%/}/$pg_db"
    # PostgreSQL takes the server secret from the configuration only (the CLI and every server).
    PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
    export PHONEBASE_SECRET_KEY
    log "database: PostgreSQL $pg_db"
  else
    log "database: SQLite in $data_dir"
  fi
  # The CLI and the server run from the data dir, so that no ./phonebase.toml is picked up.
  cd "$data_dir"
}

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "${pg_url%/}/$pg_admin_db" "$@"; }

runner_cleanup() {
  local rc=$?
  # Exit status: the suite's, or else that of whatever failed on the way.
  [[ -n "$status" ]] || status=$rc
  local pid
  for pid in "${runner_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
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
  if [[ "$keep" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$status"
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# json_get JSON KEY [KEY...]: the value at that path, printed as text.
json_get() {
  python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2:]: v=v[k]
print(v)' "$@"
}

# create_app NAME [args...]: `app create --json`, printing the app's JSON (one line).
create_app() {
  local name="$1"; shift
  local out
  out="$("$bin" app create --name "$name" --json "$@" 2>>"$server_log" | grep '^{' | tail -n 1 || true)"
  [[ -n "$out" ]] || { log "'app create --name $name --json' printed no JSON"; return 1; }
  printf '%s\n' "$out"
}

# wait_healthy PID URL: until /healthz answers (15 s at most) or the process exits.
wait_healthy() {
  for _ in $(seq 150); do
    kill -0 "$1" 2>/dev/null || { log "server exited during startup"; return 1; }
    curl -fsS "$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "server not healthy on $2 after 15 s"
  return 1
}

# start_server [BINARY [ARGS...]]: starts `phonebase serve` (or the given fixture binary, which
# takes the address as its first argument) on a free port and waits until it is healthy. Sets
# url, port and the started process's pid (server_pid for the first one, last_pid always).
start_server() {
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  if (($#)); then
    local exe="$1"; shift
    "$exe" "127.0.0.1:$port" "$@" >>"$server_log" 2>&1 &
  else
    "$bin" serve --bind "127.0.0.1:$port" >>"$server_log" 2>&1 &
  fi
  last_pid=$!
  runner_pids+=("$last_pid")
  [[ -n "$server_pid" ]] || server_pid="$last_pid"
  wait_healthy "$last_pid" "$url"
  log "server up on $url (pid $last_pid)"
}

# run_suite COMMAND...: runs the suite from the suite's folder; its exit status becomes the
# script's (the cleanup trap exits with it).
run_suite() {
  set +e
  (cd "$here" && "$@")
  status=$?
  set -e
  exit "$status"
}

# Runs of one suite on both backends at once share the folder: one installs, the other waits.
install_lock() { exec 9>"${TMPDIR:-/tmp}/phonebase-install-$runner_name.lock"; flock 9; }
install_unlock() { flock -u 9; exec 9>&-; }

# npm_install PACKAGE: installs the folder's npm packages unless PACKAGE is there and up to date.
npm_install() {
  command -v node >/dev/null || { log "node is required"; exit 1; }
  command -v npm >/dev/null || { log "npm is required"; exit 1; }
  install_lock
  if [[ ! -d "$here/node_modules/$1" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
    log "installing npm packages"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  install_unlock
}

# venv_install: the folder's requirements.txt in a virtualenv at $here/.venv (git-ignored).
venv_install() {
  venv="$here/.venv"
  install_lock
  if [[ ! -f "$venv/.installed" || "$here/requirements.txt" -nt "$venv/.installed" ]]; then
    log "installing Python packages into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || { log "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    touch "$venv/.installed"
  fi
  install_unlock
}
