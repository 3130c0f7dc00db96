#!/usr/bin/env bash
# Phonebase HTTP benchmark (not a test): requests/s and p50/p99 latency of the LeanCloud /1.1
# endpoints on the release build, on SQLite and on PostgreSQL, each against `GET /1.1/date` on
# the same server in the same run (the baseline: the ratio endpoint ÷ date is the cost of the
# real work).
#
#   bench/run.sh [options]
#
# Options (each also settable through the environment variable in brackets):
#   -b, --backends LIST    "sqlite postgres" [BENCH_BACKENDS]; postgres is skipped, with a note,
#                          if `pg_isready` fails on BENCH_PG
#   -c, --conns LIST       connection counts, default "8 32 128" [BENCH_CONNS]
#   -d, --duration SECS    length of each measured wrk run, default 10 [BENCH_DURATION]
#   -r, --repeats N        repeat every measurement N times and report medians, default 1
#                          [BENCH_REPEATS]
#   -s, --scenarios LIST   any of "date request verify me login phone captcha", default all seven
#                          [BENCH_SCENARIOS]
#   -t, --threads N        wrk threads, default min(nproc, conns, 10) [BENCH_THREADS]
#       --timeout SECS     wrk's per-request timeout, default 5 [BENCH_WRK_TIMEOUT]
#       --rate FRACTION    after each closed-loop run of date, request, verify and me, one fixed-rate
#                          (open-loop) run at FRACTION of the rate just measured (0.5 = half the
#                          peak), reporting p50/p99/p99.9 from the due time of each request
#                          (examples/fixed_rate.rs, built with the server) [BENCH_RATE]; 0 = off
#       --mixed            a login storm (wrk, BENCH_LOGIN_MAX_CONNS connections) and verifySmsCode at
#                          a fixed rate at the same time; reports verify's p50/p99 [BENCH_MIXED=1]
#       --large            fill the bench app's tables before the runs: BENCH_LARGE_USERS users
#                          (default 1,000,000) and BENCH_LARGE_CODES used codes (default 10,000,000),
#                          with generate_series (PostgreSQL) or a recursive CTE (SQLite) [BENCH_LARGE=1]
#       --no-build         do not run `cargo build --release` (use the existing binary)
#       --report DIR       only rebuild the report of an earlier run (bench/results/<stamp>)
#       --keep             keep the data directories (SQLite file, sink, verify pool; under $TMPDIR)
#   -h, --help
# More knobs: BENCH_BIN (server binary), BENCH_PG (default postgres://postgres@127.0.0.1:5432),
# BENCH_PG_ADMIN_DB (database psql connects to for CREATE/DROP DATABASE, default "test"),
# BENCH_WARMUP (seconds of /date warm-up per backend, default 2), BENCH_DRAIN_MAX (seconds to
# wait for the outbox to deliver, default 120), BENCH_GEN_MAX (longest code-generation run for
# the verify pool, default 60), BENCH_GEN_APPS (apps the generation runs spread over, default 8),
# BENCH_GEN_CONNS (their connections, default 32), BENCH_STATUS=0 (do not count status codes),
# BENCH_PG_SAMPLE=0 (do not sample pg_stat_activity wait events once a second during the runs),
# BENCH_USERS (users signed up for me/login, default 200), BENCH_USERS_MAX (longest the sign-ups
# may take, default 180 s), BENCH_LOGIN_MAX_CONNS (login runs only at connection counts up to
# this, default 32: a login costs one argon2id hash, so more connections only queue),
# BENCH_PHONE_NUMBERS (test numbers of the phone scenario, default 3000, at most 4000).
#
# Scenarios, all with X-LC-Id/X-LC-Key and JSON bodies:
#   date     GET /1.1/date, no headers, no database.
#   request  POST /1.1/requestSmsCode, a different +86 mobile number on every request (per-IP
#            limits are switched off for the bench app; the per-phone limit stays).
#   verify   POST /1.1/verifySmsCode/<code> with real, unused codes: codes issued by the request
#            runs (plus generation runs if too few), read back from the dev sink
#            (<data_dir>/sms-sink.jsonl) after the outbox has delivered them; each pair is used
#            once. The "ok" column counts 200s, i.e. codes that verified. Generation runs (not
#            reported as measurements) spread their requests over BENCH_GEN_APPS extra apps,
#            because on PostgreSQL all sends of one app from one address take the same advisory
#            lock (even with the per-IP limits off), which caps one app at a few hundred/s; the
#            verify requests then carry each pair's own app credentials.
#   me       GET /1.1/users/me with X-LC-Session: the session check. Before the runs, BENCH_USERS
#            users u<i>/pw<i> sign up (POST /1.1/users, one argon2id hash each, a few in
#            parallel, bounded by BENCH_USERS_MAX); wrk cycles through their session tokens.
#   login    POST /1.1/login {"username","password"} with the same users: one argon2id
#            verification per request (tens of req/s on 2 cores). The report sets it against the
#            argon2 bound, nproc ÷ (time of one hash with the server's parameters m=19456 KiB,
#            t=2, p=1), timed with Python argon2-cffi (pip-installed if missing) or, failing
#            that, taken from an extra 5 s login run at 1 connection.
#   phone    POST /1.1/usersByMobilePhone {"mobilePhoneNumber","smsCode"} on a separate app
#            whose settings hold BENCH_PHONE_NUMBERS test numbers (+86134xxxxxxxx, fixed code
#            123456: always verifies, sends nothing) and no send limits. The first call for a
#            number creates its user (201), later calls log in (200); every call opens a session.
#   captcha  GET /1.1/requestCaptcha: draws one 85x30 captcha (captcha-rs, PNG) on the blocking
#            pool and stores it with its hashed answer (per-address captcha limits off).
#
# Order per backend and repeat, for each connection count: date, request (then wait until the
# outbox has delivered everything, so that delivery work does not leak into the next run),
# verify, me, login, phone. Every wrk run is bounded by its duration (and `timeout`); every wait is bounded.
# Output: a markdown report on stdout, saved as bench/results/<stamp>/report.md (and
# bench/results/latest.md), with wrk's raw output and one JSON line per run next to it.

# The whole script is one { ... } block, so that bash has read all of it before running any of
# it: editing the file while a benchmark runs cannot change what that run does.
{
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
CONNS=${BENCH_CONNS:-"8 32 128"}
DURATION=${BENCH_DURATION:-10}
REPEATS=${BENCH_REPEATS:-1}
SCENARIOS=${BENCH_SCENARIOS:-"date request verify me login phone captcha"}
THREADS=${BENCH_THREADS:-}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-5}
WARMUP=${BENCH_WARMUP:-2}
DRAIN_MAX=${BENCH_DRAIN_MAX:-120}
GEN_MAX=${BENCH_GEN_MAX:-60}
GEN_APPS=${BENCH_GEN_APPS:-8}
GEN_CONNS=${BENCH_GEN_CONNS:-32}
PG_SAMPLE=${BENCH_PG_SAMPLE:-1}
USERS=${BENCH_USERS:-200}
USERS_MAX=${BENCH_USERS_MAX:-180}
LOGIN_MAX_CONNS=${BENCH_LOGIN_MAX_CONNS:-32}
PHONE_NUMBERS=${BENCH_PHONE_NUMBERS:-3000}
PGBENCH_CLIENTS=${BENCH_PGBENCH_CLIENTS:-32}
RATE=${BENCH_RATE:-0}
MIXED=${BENCH_MIXED:-0}
LARGE=${BENCH_LARGE:-0}
LARGE_USERS=${BENCH_LARGE_USERS:-1000000}
LARGE_CODES=${BENCH_LARGE_CODES:-10000000}
RATE_BIN=${BENCH_RATE_BIN:-$ROOT/target/release/examples/fixed_rate}
# Test numbers of the phone scenario: a prefix the request runs never use (see PREFIXES).
PHONE_TEST_PREFIX=+86134
PHONE_TEST_CODE=123456
PG_BASE=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PG_ADMIN_DB=${BENCH_PG_ADMIN_DB:-test}
# Every psql, pg_isready and pgbench call goes to the cluster BENCH_PG names (host, port, user).
PG_BASE=${PG_BASE%/}
PG_ADMIN_URL=$PG_BASE/$PG_ADMIN_DB
BIN=${BENCH_BIN:-$ROOT/target/release/phonebase}
BUILD=1
KEEP=0
REPORT_DIR=
# Pairs older than this (by sink delivery time) are dropped from the verify pool: codes live
# 10 minutes from issue, and delivery can lag issue by up to BENCH_DRAIN_MAX.
POOL_MAX_AGE=${BENCH_POOL_MAX_AGE:-420}

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    -b|--backends) BACKENDS=$2; shift 2 ;;
    -c|--conns) CONNS=$2; shift 2 ;;
    -d|--duration) DURATION=$2; shift 2 ;;
    -r|--repeats) REPEATS=$2; shift 2 ;;
    -s|--scenarios) SCENARIOS=$2; shift 2 ;;
    -t|--threads) THREADS=$2; shift 2 ;;
    --timeout) WRK_TIMEOUT=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --mixed) MIXED=1; shift ;;
    --large) LARGE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --keep) KEEP=1; shift ;;
    --report) REPORT_DIR=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for v in DURATION REPEATS WRK_TIMEOUT WARMUP DRAIN_MAX GEN_MAX GEN_APPS GEN_CONNS USERS USERS_MAX LOGIN_MAX_CONNS PHONE_NUMBERS PGBENCH_CLIENTS LARGE_USERS LARGE_CODES; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$DURATION" -ge 1 ] || die "duration must be at least 1 s"
[[ $RATE =~ ^[0-9]*\.?[0-9]+$ ]] || die "--rate takes a fraction of the peak such as 0.5, not '$RATE'"
rate_on() { awk -v r="$RATE" 'BEGIN {exit !(r > 0)}'; }
[ "$USERS" -ge 1 ] || die "BENCH_USERS must be at least 1"
# The settings go through one command-line argument (at most 128 KiB, ~26 bytes per number).
[ "$PHONE_NUMBERS" -ge 1 ] && [ "$PHONE_NUMBERS" -le 4000 ] || die "BENCH_PHONE_NUMBERS must be 1..4000"
for c in $CONNS; do [[ $c =~ ^[0-9]+$ && $c -ge 1 ]] || die "bad connection count '$c'"; done
for s in $SCENARIOS; do
  case $s in date|request|verify|me|login|phone|captcha) ;; *) die "unknown scenario '$s' (date, request, verify, me, login, phone, captcha)" ;; esac
done
for b in $BACKENDS; do
  case $b in sqlite|postgres) ;; *) die "unknown backend '$b' (sqlite, postgres)" ;; esac
done
if [ -n "$THREADS" ]; then
  [[ $THREADS =~ ^[0-9]+$ && $THREADS -ge 1 && $THREADS -le 10 ]] || die "threads must be 1..10"
fi
has_scenario() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# Tools

ensure_tool() { # command [package]
  local cmd=$1 pkg=${2:-$1}
  command -v "$cmd" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "$cmd is missing; install it (apt-get install $pkg)"
  log "installing $pkg"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null 2>&1 || die "could not install $pkg"
  fi
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $pkg"
}
ensure_tool wrk
ensure_tool jq
ensure_tool curl

NPROC=$(nproc)
CLK_TCK=$(getconf CLK_TCK)
CPU_MODEL=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(uname -m)

STAMP=$(date +%Y%m%d-%H%M%S)
if [ -n "$REPORT_DIR" ]; then
  RUN_DIR=$(cd "$REPORT_DIR" && pwd) || die "no directory $REPORT_DIR"
  [ -f "$RUN_DIR/meta.env" ] && [ -f "$RUN_DIR/results.jsonl" ] || die "$RUN_DIR has no meta.env/results.jsonl"
  RESULTS=$RUN_DIR/results.jsonl
  NOTES=$RUN_DIR/notes.md
  BUILD=0
else
  RUN_DIR=$HERE/results/$STAMP
  mkdir -p "$RUN_DIR"
  RESULTS=$RUN_DIR/results.jsonl
  NOTES=$RUN_DIR/notes.md
  : > "$RESULTS"
  : > "$NOTES"
fi
note() { echo "- $*" >> "$NOTES"; log "note: $*"; }

# ---------------------------------------------------------------------------------------------
# Cleanup: only what this script started or created.

SERVER_PID=
PG_DB=
DATA_DIRS=()

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

drop_db() {
  [ -n "$PG_DB" ] || return 0
  psql -d "$PG_ADMIN_URL" -qAt -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 \
    || log "could not drop database $PG_DB"
  PG_DB=
}

cleanup() {
  local rc=$?
  stop_server
  drop_db
  if [ "$KEEP" = 0 ]; then
    for d in "${DATA_DIRS[@]}"; do rm -rf "$d"; done
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Build

if [ "$BUILD" = 1 ]; then
  log "cargo build --release (the first one takes several minutes)"
  (cd "$ROOT" && cargo build --release --quiet --bin phonebase --example fixed_rate) || die "release build failed"
fi
if [ -z "$REPORT_DIR" ]; then
  [ -x "$BIN" ] || die "no server binary at $BIN (build it, or set BENCH_BIN)"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
  if rate_on || [ "$MIXED" = 1 ]; then
    [ -x "$RATE_BIN" ] || die "no fixed-rate client at $RATE_BIN (cargo build --release --example fixed_rate)"
  fi
fi

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$ROOT" && git status --porcelain -- src Cargo.toml Cargo.lock migrations templates 2>/dev/null)" ]; then
  GIT_REV="$GIT_REV (+ uncommitted changes)"
fi

# ---------------------------------------------------------------------------------------------
# Helpers

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

server_cpu_ticks() { # utime + stime of the server, in clock ticks
  if [ -n "$SERVER_PID" ] && [ -r "/proc/$SERVER_PID/stat" ]; then
    awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"
  else
    echo 0
  fi
}

wrk_threads_for() { # conns
  local t=${THREADS:-$NPROC}
  [ "$t" -gt "$1" ] && t=$1
  [ "$t" -gt 10 ] && t=10
  echo "$t"
}

# Valid mainland mobile prefixes; each request-type run gets its own block of numbers:
# prefix (run / 10) and 10,000,000 numbers (run % 10), split among the wrk threads.
PREFIXES=(138 139 137 136 135 150 151 152 157 158 159 182 183 187 188 130 131 132 155 156 185 186 133 153 180 189)
PHONE_RUN=0
next_phone_block() {
  local i=$((PHONE_RUN / 10))
  [ "$i" -lt "${#PREFIXES[@]}" ] || die "out of phone number blocks"
  PHONE_PREFIX="+86${PREFIXES[$i]}"
  PHONE_OFFSET=$(( (PHONE_RUN % 10) * 10000000 ))
  PHONE_RUN=$((PHONE_RUN + 1))
}

# run_wrk KIND SCENARIO CONNS REP [SECS]: one wrk run; appends one JSON line to $RESULTS.
run_wrk() {
  local kind=$1 scenario=$2 conns=$3 rep=$4 secs=${5:-$DURATION}
  local threads; threads=$(wrk_threads_for "$conns")
  local base=$RUN_DIR/$BACKEND-$kind-$scenario-c$conns-r$rep
  local n=1
  while [ -e "$base.txt" ]; do n=$((n + 1)); base=$RUN_DIR/$BACKEND-$kind-$scenario-c$conns-r$rep-$n; done
  local script=$scenario
  [ "$scenario" = gen ] && script=request
  local env=(BENCH_LUA_DIR="$HERE/lua" BENCH_OUT="$base.json" BENCH_THREADS="$threads"
             BENCH_APP_ID="$APP_ID" BENCH_APP_KEY="$APP_KEY" BENCH_STATUS="${BENCH_STATUS:-1}")
  if [ "$script" = request ]; then
    next_phone_block
    env+=(BENCH_PHONE_PREFIX="$PHONE_PREFIX" BENCH_PHONE_OFFSET="$PHONE_OFFSET")
  fi
  if [ "$scenario" = gen ] && [ -s "$GEN_APPS_FILE" ]; then
    env+=(BENCH_APPS_FILE="$GEN_APPS_FILE")
  fi
  if [ "$script" = verify ]; then
    env+=(BENCH_PAIRS="$POOL" BENCH_PAIRS_LEFT="$POOL.left" BENCH_APPS_FILE="$APPS_FILE")
  fi
  if [ "$script" = me ] || [ "$script" = login ]; then
    env+=(BENCH_USERS_FILE="$USERS_FILE")
  fi
  if [ "$script" = phone ]; then
    # Its own app (test numbers, no limits); later assignments win in env(1).
    env+=(BENCH_APP_ID="$PHONE_APP_ID" BENCH_APP_KEY="$PHONE_APP_KEY" BENCH_PHONE_PREFIX="$PHONE_TEST_PREFIX"
          BENCH_PHONE_NUMBERS="$PHONE_NUMBERS" BENCH_PHONE_CODE="$PHONE_TEST_CODE")
  fi
  rm -f "$base.json" "$base.pgwait"
  local cpu0 cpu1 rc=0 sampler=
  if [ "$BACKEND" = postgres ] && [ "$PG_SAMPLE" = 1 ] && [ "$scenario" != date ]; then
    pg_sampler "$secs" > "$base.pgwait" 2>/dev/null &
    sampler=$!
  fi
  cpu0=$(server_cpu_ticks)
  # Peak RSS of this run alone: writing 5 to clear_refs resets the kernel's high-water mark.
  echo 5 > "/proc/$SERVER_PID/clear_refs" 2>/dev/null || true
  log "$BACKEND $kind $scenario c=$conns t=$threads ${secs}s"
  env "${env[@]}" timeout -k 5 $((secs + 30)) \
    wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout "${WRK_TIMEOUT}s" --latency \
    -s "$HERE/lua/$script.lua" "http://127.0.0.1:$PORT" > "$base.txt" 2>&1 || rc=$?
  cpu1=$(server_cpu_ticks)
  local hwm_kb; hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || true)
  local waits='{}'
  if [ -n "$sampler" ]; then
    wait "$sampler" 2>/dev/null || true
    waits=$(awk -F'|' 'NF == 2 {n[$1] += $2} END {for (k in n) printf "%s\t%d\n", k, n[k]}' "$base.pgwait" \
      | jq -Rn '[inputs | split("\t") | {key: .[0], value: (.[1] | tonumber)}] | from_entries')
  fi
  if [ ! -s "$base.json" ]; then
    note "$BACKEND $kind $scenario c=$conns: wrk produced no result (exit $rc), see $(basename "$base").txt"
    # Which pairs that run used is unknown: start the pool afresh rather than reuse spent codes.
    [ "$script" = verify ] && : > "$POOL"
    return 1
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    die "server died during $scenario c=$conns; log: $SERVER_LOG"
  fi
  jq -c --arg backend "$BACKEND" --arg kind "$kind" --arg scenario "$scenario" \
     --argjson conns "$conns" --argjson rep "$rep" --argjson secs "$secs" \
     --argjson cpu "$(( cpu1 - cpu0 ))" --argjson tck "$CLK_TCK" --arg raw "$(basename "$base").txt" \
     --argjson waits "$waits" --argjson hwm_kb "${hwm_kb:-null}" '
    . as $r
    | ($r.statuses | if type == "object" then . else {} end) as $st
    | ([$st | to_entries[] | select(.key | test("^2")) | .value] | add // 0) as $ok2xx
    | $r + {backend: $backend, kind: $kind, scenario: $scenario, conns: $conns, rep: $rep,
            secs: $secs, raw: $raw, pg_waits: $waits,
            peak_rss_mib: (if $hwm_kb == null then null else ($hwm_kb / 1024 | round) end),
            srv_cpu: (($cpu / $tck) / ($r.duration_us / 1e6)),
            ok: $ok2xx,
            non2xx: (if ($st | length) > 0 then ($r.requests - $ok2xx) else $r.errors.status end)}
  ' "$base.json" >> "$RESULTS"
  if [ "$script" = verify ] && [ -f "$POOL.left" ]; then mv "$POOL.left" "$POOL"; fi
  return 0
}

# Samples, once a second for $1 seconds, what the server's PostgreSQL sessions are doing
# ("wait_event_type:wait_event|count" lines; "running" = active and not waiting).
pg_sampler() {
  local i
  for i in $(seq 1 "$1"); do
    sleep 1
    timeout 2 psql -d "$PG_ADMIN_URL" -qAt -F'|' -c "
      SELECT coalesce(wait_event_type || ':' || wait_event, 'running'), count(*)
      FROM pg_stat_activity
      WHERE datname = '$PG_DB' AND state <> 'idle' AND pid <> pg_backend_pid()
      GROUP BY 1" || true
  done
}

last_field() { tail -n 1 "$RESULTS" | jq -r "$1"; }

sink_lines() { if [ -f "$SINK" ]; then wc -l < "$SINK" | tr -d ' '; else echo 0; fi; }

# Waits (bounded) until the sink holds at least $ISSUED messages; records how long it took.
drain() {
  local what=$1 start now n
  start=$(date +%s.%N)
  while :; do
    n=$(sink_lines)
    [ "$n" -ge "$ISSUED" ] && break
    now=$(date +%s.%N)
    if awk -v a="$start" -v b="$now" -v m="$DRAIN_MAX" 'BEGIN {exit !((b - a) > m)}'; then
      note "$BACKEND: outbox not drained after ${DRAIN_MAX}s ($what): $n of $ISSUED messages in the sink"
      break
    fi
    sleep 0.2
  done
  now=$(date +%s.%N)
  local secs; secs=$(awk -v a="$start" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
  jq -nc --arg backend "$BACKEND" --arg what "$what" --argjson secs "$secs" \
     --argjson issued "$ISSUED" --argjson sink "$n" \
     '{kind: "drain", backend: $backend, what: $what, wait_s: $secs, issued: $issued, sink: $sink}' >> "$RESULTS"
}

# Moves newly delivered codes from the sink into the pool ("phone code epoch app" lines) and drops
# pairs too old to still be valid when used.
refresh_pool() {
  local total; total=$(sink_lines)
  if [ "$total" -gt "$SINK_TAKEN" ]; then
    head -n "$total" "$SINK" | tail -n +"$((SINK_TAKEN + 1))" | jq -r '
      select(.channel == "sms")
      | (.text | capture("(?<c>[0-9]{4,8})") | .c) as $code
      | [.to, $code, (.at | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601), .app] | @tsv' >> "$POOL"
    SINK_TAKEN=$total
  fi
  local cutoff=$(( $(date +%s) - POOL_MAX_AGE ))
  awk -v c="$cutoff" '$3 >= c' "$POOL" > "$POOL.tmp" && mv "$POOL.tmp" "$POOL"
  POOL_SIZE=$(wc -l < "$POOL" | tr -d ' ')
}

# Makes sure the pool holds at least $1 pairs, with bounded code-generation runs.
ensure_pairs() {
  local need=$1 tries=0
  refresh_pool
  while [ "$POOL_SIZE" -lt "$need" ] && [ "$tries" -lt 3 ]; do
    tries=$((tries + 1))
    local rate=$GEN_RPS
    [ "$rate" -gt 0 ] || rate=$BEST_REQ_RPS
    [ "$rate" -gt 0 ] || rate=300
    local secs=$(( ( (need - POOL_SIZE) * 12 / 10 + rate - 1) / rate + 1 ))
    [ "$secs" -lt 3 ] && secs=3
    [ "$secs" -gt "$GEN_MAX" ] && secs=$GEN_MAX
    log "$BACKEND: verify pool has $POOL_SIZE pairs, needs $need: generating codes for ${secs}s"
    run_wrk gen gen "$GEN_CONNS" 0 "$secs" || break
    ISSUED=$((ISSUED + $(last_field .ok)))
    GEN_RPS=$(last_field '.rps | floor')
    drain "codes for verify"
    refresh_pool
  done
  [ "$POOL_SIZE" -ge "$need" ] || note "$BACKEND: verify pool only reached $POOL_SIZE of $need pairs wanted"
}

# Signs up $USERS users u<i>/pw<i> on the bench app, NPROC at a time (each sign-up hashes a
# password with argon2id), bounded by USERS_MAX seconds; "username password token" lines go to
# $USERS_FILE.
signup_one() { # i
  curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' \
    -H "X-LC-Id: $APP_ID" -H "X-LC-Key: $APP_KEY" \
    -d "{\"username\":\"u$1\",\"password\":\"pw$1\"}" "http://127.0.0.1:$PORT/1.1/users" 2>/dev/null \
    | jq -r --arg i "$1" 'select(.sessionToken != null) | "u\($i) pw\($i) \(.sessionToken)"' 2>/dev/null \
    >> "$USERS_FILE" || true
}

create_users() {
  : > "$USERS_FILE"
  local start now i pids=() par=$((NPROC * 2)) stopped=0
  start=$(date +%s.%N)
  log "$BACKEND: signing up $USERS users ($par at a time, at most ${USERS_MAX}s)"
  for i in $(seq 1 "$USERS"); do
    signup_one "$i" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$par" ]; then
      wait "${pids[@]}" 2>/dev/null || true
      pids=()
      now=$(date +%s.%N)
      if awk -v a="$start" -v b="$now" -v m="$USERS_MAX" 'BEGIN {exit !((b - a) > m)}'; then
        stopped=1
        break
      fi
    fi
  done
  [ "${#pids[@]}" -gt 0 ] && { wait "${pids[@]}" 2>/dev/null || true; }
  now=$(date +%s.%N)
  local secs created
  secs=$(awk -v a="$start" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
  created=$(wc -l < "$USERS_FILE" | tr -d ' ')
  [ "$stopped" = 1 ] && note "$BACKEND: user sign-ups stopped after ${USERS_MAX}s with $created of $USERS users"
  [ "$created" -gt 0 ] || die "no user could sign up (POST /1.1/users); log: $SERVER_LOG"
  [ "$created" -lt "$USERS" ] && [ "$stopped" = 0 ] && note "$BACKEND: only $created of $USERS sign-ups succeeded"
  jq -nc --arg backend "$BACKEND" --argjson n "$created" --argjson secs "$secs" --argjson par "$par" \
     '{kind: "users", backend: $backend, created: $n, secs: $secs, parallel: $par}' >> "$RESULTS"
  log "$BACKEND: $created users signed up in ${secs}s"
}

# Times one argon2id hash with the server's parameters (argon2 crate defaults: m=19456 KiB, t=2,
# p=1, 32-byte output) with Python argon2-cffi; median of 7 after one warm-up. Appends a JSON line
# (kind "argon2") to $RESULTS; returns 1 when Python or argon2-cffi is not available.
ARGON2_PY='
import statistics, time
from argon2.low_level import Type, hash_secret_raw
def one():
    t = time.perf_counter()
    hash_secret_raw(b"pw12345", b"0123456789abcdef", time_cost=2, memory_cost=19456,
                    parallelism=1, hash_len=32, type=Type.ID)
    return time.perf_counter() - t
one()
print("%.3f" % (statistics.median(one() for _ in range(7)) * 1000))
'
measure_argon2() {
  command -v python3 >/dev/null 2>&1 || return 1
  if ! python3 -c 'import argon2.low_level' 2>/dev/null; then
    log "installing argon2-cffi with pip (to time one argon2id hash)"
    timeout 120 python3 -m pip install -q argon2-cffi >/dev/null 2>&1 || return 1
  fi
  local ms
  ms=$(timeout 60 python3 -c "$ARGON2_PY" 2>/dev/null) || return 1
  [[ $ms =~ ^[0-9.]+$ ]] || return 1
  jq -nc --argjson ms "$ms" '{kind: "argon2", t_hash_ms: $ms, source: "Python argon2-cffi, median of 7 hashes"}' >> "$RESULTS"
  log "one argon2id hash (m=19456 KiB, t=2, p=1): $ms ms"
}

# Writes $2 request lines of scenario $1 for examples/fixed_rate.rs to file $3 (request: a fresh
# block of numbers; verify: pairs taken out of the pool, each used once; me: the users' tokens).
rate_lines() { # scenario n file
  local n=$2 out=$3
  case $1 in
    date) awk -v n="$n" 'BEGIN {for (i = 0; i < n; i++) print "{\"method\":\"GET\",\"path\":\"/1.1/date\"}"}' > "$out" ;;
    me) awk -v n="$n" -v id="$APP_ID" -v key="$APP_KEY" '
          {t[NR] = $3} END {for (i = 0; i < n; i++) printf "{\"method\":\"GET\",\"path\":\"/1.1/users/me\",\"headers\":{\"X-LC-Id\":\"%s\",\"X-LC-Key\":\"%s\",\"X-LC-Session\":\"%s\"}}\n", id, key, t[i % NR + 1]}' \
          "$USERS_FILE" > "$out" ;;
    request)
      next_phone_block
      awk -v n="$n" -v p="$PHONE_PREFIX" -v o="$PHONE_OFFSET" -v id="$APP_ID" -v key="$APP_KEY" 'BEGIN {
        for (i = 0; i < n; i++) printf "{\"method\":\"POST\",\"path\":\"/1.1/requestSmsCode\",\"headers\":{\"Content-Type\":\"application/json\",\"X-LC-Id\":\"%s\",\"X-LC-Key\":\"%s\"},\"body\":\"{\\\"mobilePhoneNumber\\\":\\\"%s%08d\\\"}\"}\n", id, key, p, o + i}' > "$out" ;;
    verify)
      ensure_pairs "$n"
      head -n "$n" "$POOL" | awk -v apps="$APPS_FILE" '
        BEGIN {while ((getline l < apps) > 0) {split(l, a, " "); k[a[1]] = a[2]}}
        {printf "{\"method\":\"POST\",\"path\":\"/1.1/verifySmsCode/%s\",\"headers\":{\"Content-Type\":\"application/json\",\"X-LC-Id\":\"%s\",\"X-LC-Key\":\"%s\"},\"body\":\"{\\\"mobilePhoneNumber\\\":\\\"%s\\\"}\"}\n", $2, $4, k[$4], $1}' > "$out"
      tail -n +"$((n + 1))" "$POOL" > "$POOL.tmp" && mv "$POOL.tmp" "$POOL" ;;
  esac
}

# run_rate SCENARIO CONNS RATE [KIND]: one fixed-rate run for DURATION seconds (kind "rate", or
# "mixed"); appends a JSON line.
run_rate() {
  local scenario=$1 conns=$2 rate=$3 kind=${4:-rate}
  [ "$rate" -ge 1 ] || return 1
  local base=$RUN_DIR/$BACKEND-$kind-$scenario-c$conns-q$rate n=$((rate * DURATION))
  rate_lines "$scenario" "$n" "$base.jsonl"
  log "$BACKEND $kind $scenario at $rate req/s (at most $conns connections) ${DURATION}s"
  if ! timeout -k 5 $((DURATION + 60)) "$RATE_BIN" --base "http://127.0.0.1:$PORT" --rate "$rate" \
      --duration "$DURATION" --conns "$conns" --requests "$base.jsonl" --out "$base.json" 2> "$base.err"; then
    note "$BACKEND $kind $scenario at $rate req/s failed: $(head -c 300 "$base.err")"
    return 1
  fi
  rm -f "$base.jsonl"
  jq -c --arg backend "$BACKEND" --arg kind "$kind" --arg scenario "$scenario" --argjson conns "$conns" \
    '. + {kind: $kind, backend: $backend, scenario: $scenario, conns: $conns}' "$base.json" >> "$RESULTS"
  if [ "$scenario" = request ]; then
    ISSUED=$((ISSUED + $(last_field .ok)))
    drain "after fixed-rate request"
  fi
}

# A login storm (wrk, closed loop, as many connections as login runs at most) while verify runs
# at a fixed rate: how much the argon2 hashing hurts the code checks next to it.
run_mixed() {
  local rate=$1 conns=$LOGIN_MAX_CONNS
  local base=$RUN_DIR/$BACKEND-mixed-login-c$conns
  log "$BACKEND mixed: login storm at c=$conns and verify at $rate req/s"
  env BENCH_LUA_DIR="$HERE/lua" BENCH_OUT="$base.json" BENCH_THREADS=1 BENCH_APP_ID="$APP_ID" \
    BENCH_APP_KEY="$APP_KEY" BENCH_STATUS=1 BENCH_USERS_FILE="$USERS_FILE" timeout -k 5 $((DURATION + 40)) \
    wrk -t1 -c"$conns" -d"$((DURATION + 2))s" --timeout "${WRK_TIMEOUT}s" --latency \
    -s "$HERE/lua/login.lua" "http://127.0.0.1:$PORT" > "$base.txt" 2>&1 &
  local storm=$!
  sleep 1
  run_rate verify 64 "$rate" mixed || true
  wait "$storm" || true
  if [ -s "$base.json" ]; then
    jq -c --arg backend "$BACKEND" --argjson conns "$conns" \
      '{kind: "storm", backend: $backend, conns: $conns, rps: .rps}' "$base.json" >> "$RESULTS"
  fi
}

# Fills the bench app's tables before the server starts: LARGE_USERS users and LARGE_CODES
# used codes (10 per number, on numbers the runs never use), so that verify meets big indexes.
fill_large() { # env...
  local start; start=$(date +%s)
  log "$BACKEND: filling $LARGE_USERS users and $LARGE_CODES codes"
  if [ "$BACKEND" = postgres ]; then
    psql -d "$PG_BASE/$PG_DB" -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null || die "filling the tables failed"
INSERT INTO users (id, app_id, username, mobile_verified, email_verified, fields, created_at, updated_at, seq)
SELECT 'fill-u-' || g, '$APP_ID', 'fill' || g, false, false, '{}',
       now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc', 1000000000 + g
FROM generate_series(1, $LARGE_USERS) g;
INSERT INTO verification_codes (id, app_id, phone, purpose, code_hash, value_hash, attempts, created_at,
                                expires_at, used_at)
SELECT 'fill-c-' || g, '$APP_ID', '+8617' || lpad((g / 10)::text, 9, '0'), 'generic', md5(g::text),
       md5('v' || g), 1, (now() AT TIME ZONE 'utc') - interval '2 hours',
       (now() AT TIME ZONE 'utc') - interval '110 minutes', (now() AT TIME ZONE 'utc') - interval '115 minutes'
FROM generate_series(1, $LARGE_CODES) g;
ANALYZE users; ANALYZE verification_codes;
SQL
  else
    local db=$1/phonebase.db
    sqlite3 "$db" <<SQL >/dev/null || die "filling the tables failed"
PRAGMA journal_mode = WAL;
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $LARGE_USERS)
INSERT INTO users (id, app_id, username, mobile_verified, email_verified, fields, created_at, updated_at, seq)
SELECT 'fill-u-' || x, '$APP_ID', 'fill' || x, 0, 0, '{}', datetime('now'), datetime('now'), 1000000000 + x FROM g;
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $LARGE_CODES)
INSERT INTO verification_codes (id, app_id, phone, purpose, code_hash, value_hash, attempts, created_at,
                                expires_at, used_at)
SELECT 'fill-c-' || x, '$APP_ID', '+8617' || printf('%09d', x / 10), 'generic', hex(randomblob(16)),
       hex(randomblob(16)), 1, datetime('now', '-2 hours'), datetime('now', '-110 minutes'),
       datetime('now', '-115 minutes') FROM g;
ANALYZE;
SQL
  fi
  local secs=$(( $(date +%s) - start ))
  jq -nc --arg backend "$BACKEND" --argjson users "$LARGE_USERS" --argjson codes "$LARGE_CODES" --argjson secs "$secs" \
     '{kind: "fill", backend: $backend, users: $users, codes: $codes, secs: $secs}' >> "$RESULTS"
  log "$BACKEND: tables filled in ${secs}s"
}

# The server's database statements and commits so far ("statements commits"), from /metrics.
db_counts() { # an older binary has no /metrics: "0 0", not an exit under `set -e`
  { curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true; } | awk '
    /^phonebase_db_statements_total / {s = $2} /^phonebase_db_commits_total / {c = $2}
    END {printf "%d %d\n", s, c}'
}

# Appends the statements and commits per 2xx request between two db_counts snapshots (kind
# "stmts"); request runs are counted up to the end of their drain, so the outbox's share is in.
record_counts() { # scenario conns before after requests
  local s0 c0 s1 c1
  read -r s0 c0 <<<"$3"
  read -r s1 c1 <<<"$4"
  # A server without the counters (an older binary) reports none.
  [ "${5:-0}" -gt 0 ] && [ "${s1:-0}" -gt 0 ] || return 0
  jq -nc --arg backend "$BACKEND" --arg scenario "$1" --argjson conns "$2" --argjson n "$5" \
     --argjson s "$((s1 - s0))" --argjson c "$((c1 - c0))" \
     '{kind: "stmts", backend: $backend, scenario: $scenario, conns: $conns, requests: $n,
       per_request: ($s / $n), commits_per_request: ($c / $n)}' >> "$RESULTS"
}

# The cluster's own ceiling, in the server's database while the server idles: pgbench with
# PGBENCH_CLIENTS clients committing one-row INSERT transactions for DURATION seconds (fsync and
# synchronous_commit as the cluster has them). Appends a JSON line (kind "ceiling").
pgbench_ceiling() {
  command -v pgbench >/dev/null 2>&1 || { note "pgbench missing: no PostgreSQL ceiling row"; return 0; }
  local url=$PG_BASE/$PG_DB script=$RUN_DIR/pgbench-insert.sql out=$RUN_DIR/pgbench.txt
  psql -d "$url" -qAt -v ON_ERROR_STOP=1 -c \
    "CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, v integer NOT NULL, at timestamptz NOT NULL DEFAULT now())" \
    >/dev/null || { note "pgbench: could not create its table"; return 0; }
  echo 'INSERT INTO bench_ceiling (v) VALUES (1);' > "$script"
  log "$BACKEND pgbench: one-row INSERT transactions, $PGBENCH_CLIENTS clients, ${DURATION}s"
  if ! timeout $((DURATION + 60)) pgbench -n -c "$PGBENCH_CLIENTS" -j "$NPROC" -T "$DURATION" -f "$script" "$url" \
      > "$out" 2>&1; then
    note "pgbench failed, see $(basename "$out")"
    return 0
  fi
  local tps; tps=$(awk '/^tps = / {print $3; exit}' "$out")
  psql -d "$url" -qAt -c "DROP TABLE bench_ceiling" >/dev/null 2>&1 || true
  [ -n "$tps" ] || { note "pgbench printed no tps, see $(basename "$out")"; return 0; }
  jq -nc --arg backend "$BACKEND" --argjson tps "$tps" --argjson clients "$PGBENCH_CLIENTS" \
     '{kind: "ceiling", backend: $backend, tps: $tps, clients: $clients}' >> "$RESULTS"
  log "$BACKEND pgbench: $tps one-row INSERT commits/s"
}

# ---------------------------------------------------------------------------------------------
# One backend

pg_available() {
  command -v pg_isready >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 \
    && pg_isready -d "$PG_ADMIN_URL" -q -t 5
}

run_backend() {
  BACKEND=$1
  local data; data=$(mktemp -d "${TMPDIR:-/tmp}/phonebase-bench-$BACKEND.XXXXXX")
  DATA_DIRS+=("$data")
  SINK=$data/sms-sink.jsonl
  POOL=$data/pairs.pool
  : > "$POOL"
  SINK_TAKEN=0 POOL_SIZE=0 ISSUED=0 PHONE_RUN=0 BEST_REQ_RPS=0 GEN_RPS=0 LAST_VERIFY_RPS=0 LAST_VERIFY_CONNS=0
  SERVER_LOG=$RUN_DIR/server-$BACKEND.log

  local env=()
  [ "$BACKEND" = sqlite ] && env+=(-u DATABASE_URL)
  env+=(PHONEBASE_DATA_DIR="$data" RUST_LOG=warn PHONEBASE_LOG_FORMAT=json)
  if [ "$BACKEND" = postgres ]; then
    PG_DB=pb_bench_$(date +%s)_$RANDOM$RANDOM
    psql -d "$PG_ADMIN_URL" -qAt -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE \"$PG_DB\"" >/dev/null || die "could not create database $PG_DB"
    # PostgreSQL takes the server secret from the configuration only.
    env+=(DATABASE_URL="$PG_BASE/$PG_DB" PHONEBASE_SECRET_KEY="$("$BIN" secret generate)")
    log "postgres database $PG_DB"
  fi

  # The server and the CLI run in the data directory, so that no stray ./phonebase.toml applies.
  local app
  app=$(cd "$data" && env "${env[@]}" "$BIN" app create --name bench --json 2>>"$SERVER_LOG") \
    || die "app create failed (see $SERVER_LOG)"
  APP_ID=$(jq -r .appId <<<"$app")
  APP_KEY=$(jq -r .appKey <<<"$app")
  APPS_FILE=$data/apps.txt
  GEN_APPS_FILE=$data/gen-apps.txt
  echo "$APP_ID $APP_KEY" > "$APPS_FILE"
  : > "$GEN_APPS_FILE"
  local i id
  if has_scenario verify; then
    for i in $(seq 1 "$GEN_APPS"); do
      app=$(cd "$data" && env "${env[@]}" "$BIN" app create --name "bench-gen-$i" --json 2>>"$SERVER_LOG") \
        || die "app create failed (see $SERVER_LOG)"
      jq -r '"\(.appId) \(.appKey)"' <<<"$app" | tee -a "$APPS_FILE" >> "$GEN_APPS_FILE"
    done
  fi
  if has_scenario phone; then
    # Its own app, so that the test numbers and the lifted limits do not change the others.
    app=$(cd "$data" && env "${env[@]}" "$BIN" app create --name bench-phone --json 2>>"$SERVER_LOG") \
      || die "app create failed (see $SERVER_LOG)"
    PHONE_APP_ID=$(jq -r .appId <<<"$app")
    PHONE_APP_KEY=$(jq -r .appKey <<<"$app")
    local settings
    settings=$(jq -nc --arg p "$PHONE_TEST_PREFIX" --arg c "$PHONE_TEST_CODE" --argjson n "$PHONE_NUMBERS" '
      {limits: {phone_per_minute: 0, phone_per_hour: 0, phone_per_day: 0, ip_per_hour: 0, ip_per_day: 0},
       test_numbers: ([range(0; $n) | {key: ($p + ("0000000\(.)" | .[-8:])), value: $c}] | from_entries)}')
    (cd "$data" && env "${env[@]}" "$BIN" app update "$PHONE_APP_ID" --settings "$settings" \
        >/dev/null 2>>"$SERVER_LOG") || die "app update (test numbers) failed (see $SERVER_LOG)"
  fi
  while read -r id _; do
    (cd "$data" && env "${env[@]}" "$BIN" app update "$id" \
        --settings '{"limits":{"ip_per_hour":0,"ip_per_day":0,"captcha_ip_per_hour":0,"captcha_ip_per_day":0}}' >/dev/null 2>>"$SERVER_LOG") \
      || die "app update failed (see $SERVER_LOG)"
  done < "$APPS_FILE"

  if [ "$LARGE" = 1 ]; then fill_large "$data"; fi

  PORT=$(free_port)
  (cd "$data" && exec env "${env[@]}" "$BIN" serve --bind "127.0.0.1:$PORT") >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local up=0
  for _ in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited at start; log: $SERVER_LOG"
    if curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/1.1/date"; then up=1; break; fi
    sleep 0.2
  done
  [ "$up" = 1 ] || die "server did not answer within 30 s; log: $SERVER_LOG"
  # Smoke-check the authenticated endpoint before loading it.
  local probe
  probe=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -H "X-LC-Id: $APP_ID" -H "X-LC-Key: $APP_KEY" \
    -d '{"mobilePhoneNumber":"+8613000000000"}' "http://127.0.0.1:$PORT/1.1/requestSmsCode") || true
  [ "$probe" = 200 ] || die "requestSmsCode smoke check answered $probe; log: $SERVER_LOG"
  ISSUED=1
  log "$BACKEND server pid $SERVER_PID on 127.0.0.1:$PORT, app $APP_ID"

  USERS_FILE=$data/users.txt
  if has_scenario me || has_scenario login; then
    create_users
  fi
  if has_scenario login && [ "$ARGON2_MEASURED" = 0 ]; then
    # No Python timing: derive the hash time from a login run at 1 connection (1 / req/s, which
    # includes the HTTP and database work of a login, so it overstates the hash time a little).
    run_wrk calib login 1 0 5 || true
    ARGON2_MEASURED=1
  fi

  if [ "$WARMUP" -gt 0 ]; then
    local maxc=1
    for c in $CONNS; do [ "$c" -gt "$maxc" ] && maxc=$c; done
    run_wrk warmup date "$maxc" 0 "$WARMUP" || true
  fi

  if [ "$BACKEND" = postgres ]; then pgbench_ceiling; fi

  local rep c counts0 counts1 rok vok
  for rep in $(seq 1 "$REPEATS"); do
    for c in $CONNS; do
      if has_scenario date; then
        if run_wrk measure date "$c" "$rep" && rate_on; then
          run_rate date "$c" "$(last_field ".rps * $RATE | floor")" || true
        fi
      fi
      if has_scenario request; then
        counts0=$(db_counts) rok=0
        if run_wrk measure request "$c" "$rep"; then
          rok=$(last_field .ok)
          ISSUED=$((ISSUED + $(last_field .ok)))
          local r; r=$(last_field '.rps | floor')
          [ "$r" -gt "$BEST_REQ_RPS" ] && BEST_REQ_RPS=$r
          [ "$(last_field '.extra.wrapped')" = true ] && note "$BACKEND request c=$c: a thread ran out of phone numbers (numbers repeated)"
        fi
        drain "after request c=$c"
        record_counts request "$c" "$counts0" "$(db_counts)" "$rok"
        if rate_on && [ "$rok" -gt 0 ]; then
          run_rate request "$c" "$(jq -rs --argjson c "$c" --arg b "$BACKEND" --argjson f "$RATE" \
            '[.[] | select(.kind == "measure" and .scenario == "request" and .conns == $c and .backend == $b)] | last | .rps * $f | floor' "$RESULTS")" || true
        fi
      fi
      if has_scenario verify; then
        # Enough pairs for this run: the best verify rate seen so far (or 4x the best request
        # rate, as a first guess) for the whole duration, with a wider margin when this run has
        # more connections than the one that rate came from.
        local est=$LAST_VERIFY_RPS margin=13
        [ "$est" -gt 0 ] || est=$(( (BEST_REQ_RPS > 0 ? BEST_REQ_RPS : 300) * 4 ))
        [ "$c" -gt "$LAST_VERIFY_CONNS" ] && margin=22
        local need=$(( est * DURATION * margin / 10 + 200 ))
        ensure_pairs "$need"
        local attempt
        counts1=
        for attempt in 1 2; do
          counts0=$(db_counts)
          run_wrk measure verify "$c" "$rep" || break
          counts1=$(db_counts) vok=$(last_field .ok)
          local vr; vr=$(last_field '.rps | floor')
          if [ "$vr" -gt "$LAST_VERIFY_RPS" ]; then LAST_VERIFY_RPS=$vr; LAST_VERIFY_CONNS=$c; fi
          if [ "$(last_field '.extra.exhausted')" = true ]; then
            if [ "$attempt" = 1 ]; then
              # Mark this run as not counted, then retry once with a bigger pool.
              local tmp; tmp=$(mktemp)
              head -n -1 "$RESULTS" > "$tmp"
              tail -n 1 "$RESULTS" | jq -c '.kind = "exhausted"' >> "$tmp"
              mv "$tmp" "$RESULTS"
              note "$BACKEND verify c=$c: ran out of codes; retried with a bigger pool"
              need=$(( $(last_field '.extra.used') * 2 + 500 ))
              ensure_pairs "$need"
              continue
            fi
            note "$BACKEND verify c=$c: ran out of codes again; its req/s understates"
          fi
          break
        done
        [ -n "$counts1" ] && record_counts verify "$c" "$counts0" "$counts1" "$vok"
        if rate_on && [ "$LAST_VERIFY_RPS" -gt 0 ]; then
          run_rate verify "$c" "$(jq -rs --argjson c "$c" --arg b "$BACKEND" --argjson f "$RATE" \
            '[.[] | select(.kind == "measure" and .scenario == "verify" and .conns == $c and .backend == $b)] | last | .rps * $f | floor' "$RESULTS")" || true
        fi
      fi
      if has_scenario me; then
        counts0=$(db_counts)
        if run_wrk measure me "$c" "$rep"; then
          local me_rps me_ok; me_rps=$(last_field ".rps * $RATE | floor") me_ok=$(last_field .ok)
          record_counts me "$c" "$counts0" "$(db_counts)" "$me_ok"
          if rate_on; then run_rate me "$c" "$me_rps" || true; fi
        fi
      fi
      if has_scenario login; then
        if [ "$c" -le "$LOGIN_MAX_CONNS" ]; then
          run_wrk measure login "$c" "$rep" || true
        elif [ "$rep" = 1 ]; then
          note "$BACKEND login c=$c: skipped (more than BENCH_LOGIN_MAX_CONNS=$LOGIN_MAX_CONNS connections)"
        fi
      fi
      if has_scenario phone; then run_wrk measure phone "$c" "$rep" || true; fi
      if has_scenario captcha; then run_wrk measure captcha "$c" "$rep" || true; fi
    done
  done

  if [ "$MIXED" = 1 ]; then
    # verify at half its best closed-loop rate (or BENCH_MIXED_RATE).
    local mrate=${BENCH_MIXED_RATE:-$(( LAST_VERIFY_RPS / 2 ))}
    [ "$mrate" -ge 1 ] || mrate=500
    run_mixed "$mrate"
  fi

  # Server-side view: resident memory, then the log (warnings and errors), then stop.
  local rss; rss=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
  stop_server
  jq -nc --arg backend "$BACKEND" --argjson rss "${rss:-0}" \
     '{kind: "server", backend: $backend, peak_rss_kb: $rss}' >> "$RESULTS"
  drop_db
}

# ---------------------------------------------------------------------------------------------
# Report

log_summary() { # backend
  local f=$RUN_DIR/server-$1.log
  [ -f "$f" ] || return 0
  local total locked
  total=$(grep -c '"level":"\(WARN\|ERROR\)"' "$f" || true)
  locked=$(grep -ci 'database is locked\|database table is locked\|SQLITE_BUSY' "$f" || true)
  echo "- $1: $total warning/error lines in the server log ($(basename "$f")), $locked mention a locked/busy database"
  if [ "$total" -gt 0 ]; then
    grep '"level":"\(WARN\|ERROR\)"' "$f" | jq -r '
      [.level, (.fields.message // ""), (.fields.error // "" | gsub("[0-9a-f]{8}-[0-9a-f-]{27}"; "<id>"))]
      | join(" | ")' 2>/dev/null | sort | uniq -c | sort -rn | head -n 8 \
      | sed 's/^ */    - /; s/\(.\{300\}\).*/\1…/'
  fi
  # Lines that are not JSON (panics, start-up failures).
  local other; other=$(grep -vc '^{' "$f" || true)
  if [ "$other" -gt 0 ]; then
    echo "    - $other non-JSON lines, first ones:"
    grep -v '^{' "$f" | head -n 5 | sed 's/^/      /'
  fi
}

# Facts the report needs, saved in the run directory so that `--report DIR` can rebuild it.
save_meta() {
  local overrides server_desc
  overrides=$(env | grep '^PHONEBASE_' | grep -v '^PHONEBASE_SECRET_KEY=' | sort | tr '\n' ' ' || true)
  server_desc="${BIN#"$ROOT"/} (binary of $(date -r "$BIN" '+%Y-%m-%d %H:%M'); source tree at start: $GIT_REV), RUST_LOG=warn, "
  if [ -n "$overrides" ]; then
    server_desc+="settings from the environment: ${overrides% }"
  else
    server_desc+="default settings"
  fi
  local pgv="-"
  if [[ " $BACKENDS " == *" postgres "* ]]; then
    pgv=$(psql -d "$PG_ADMIN_URL" -qAt -c 'SHOW server_version' 2>/dev/null || echo "?")
  fi
  M_STAMP=$STAMP M_BACKENDS=$BACKENDS M_CONNS=$CONNS M_DURATION=$DURATION M_REPEATS=$REPEATS
  M_SCENARIOS=$SCENARIOS M_WRK_TIMEOUT=$WRK_TIMEOUT M_GEN_APPS=$GEN_APPS M_NPROC=$NPROC
  M_CPU_MODEL=$CPU_MODEL M_SERVER=$server_desc M_PG_VERSION=$pgv M_PHONE_NUMBERS=$PHONE_NUMBERS
  M_MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
  M_UNAME=$(uname -sr)
  M_WRK=$( { wrk -v 2>&1 || true; } | head -n 1 | cut -d' ' -f1-2)
  M_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  declare -p M_STAMP M_BACKENDS M_CONNS M_DURATION M_REPEATS M_SCENARIOS M_WRK_TIMEOUT M_GEN_APPS \
    M_NPROC M_CPU_MODEL M_SERVER M_PG_VERSION M_PHONE_NUMBERS M_MEM M_UNAME M_WRK M_LOAD_START | sed 's/^declare -- /declare -g /' \
    > "$RUN_DIR/meta.env"
}

save_meta_end() {
  M_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
  M_ENDED=$(date '+%Y-%m-%d %H:%M:%S %Z')
  declare -p M_LOAD_END M_ENDED | sed 's/^declare -- /declare -g /' >> "$RUN_DIR/meta.env"
}

report() {
  # shellcheck disable=SC1091
  source "$RUN_DIR/meta.env"
  local rel=${RUN_DIR#"$ROOT"/}
  {
    echo "# Phonebase benchmark $M_STAMP"
    echo
    echo "- machine: $M_NPROC × $M_CPU_MODEL, $M_MEM RAM, $M_UNAME; load average at start $M_LOAD_START, at end ${M_LOAD_END:-?}"
    echo "- server: $M_SERVER"
    echo "- load: $M_WRK on the same machine over 127.0.0.1, ${M_DURATION} s per run, wrk threads = min(nproc, conns), timeout ${M_WRK_TIMEOUT} s"
    echo "- PostgreSQL: $M_PG_VERSION; SQLite: bundled (WAL file in a temp dir)"
    if [ "$M_REPEATS" -gt 1 ]; then
      echo "- repeats: $M_REPEATS; req/s, p50, p99 and srv CPU are medians over the repeats (notes give the req/s range), max and counts cover all repeats"
    else
      echo "- repeats: 1 (single runs: on a noisy machine, use -r 3 for medians)"
    fi
    if [[ " $M_SCENARIOS " == *" verify "* ]]; then
      echo "- verify: each request uses a real, unused code read back from the sink; codes come from the request runs (bench app) and, when those are too few, from generation runs spread over $M_GEN_APPS more apps (see below)"
    fi
    if [[ " $M_SCENARIOS " == *" me "* || " $M_SCENARIOS " == *" login "* ]]; then
      jq -rs '.[] | select(.kind == "users")
        | "- me/login: \(.backend): \(.created) users u<i>/pw<i> signed up before the runs (POST /1.1/users, \(.parallel) at a time) in \(.secs) s; me cycles through their session tokens, login through their passwords"' "$RESULTS"
    fi
    if [[ " $M_SCENARIOS " == *" phone "* ]]; then
      echo "- phone: a separate app with ${M_PHONE_NUMBERS:-?} test numbers (fixed code, nothing sent, send limits off); each thread walks the numbers from its own offset, so the first call per number creates the user (201) and later ones log in (200); every call opens a session"
    fi
    echo "- finished ${M_ENDED:-?}; raw wrk output, server logs and per-run JSON: $rel/"
    echo
    echo "Columns: **vs /date** = endpoint req/s ÷ /date req/s at the same connections on the same server"
    echo "(1/N: one request costs about N /date requests); **max** = slowest response (raw);"
    echo "**non-2xx** = responses that were not 2xx; **ok** (verify) = codes accepted (200) ÷ responses;"
    echo "**srv CPU** = server CPU time ÷ wall time, in cores (wrk shares the same $M_NPROC cores);"
    echo "**peak RSS** = the server's highest resident memory during the run (MiB; VmHWM, reset before each run)."
    echo
    echo "| backend | endpoint | conns | req/s | p50 ms | p99 ms | max ms | vs /date | non-2xx | srv CPU | peak RSS | notes |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    jq -rs --arg backends "$M_BACKENDS" '
      def median: sort | if length == 0 then null
        elif length % 2 == 1 then .[(length - 1) / 2]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      def r1: . * 10 | round / 10;
      def r2: . * 100 | round / 100;
      def ms: . / 1000 | if . >= 100 then round elif . >= 10 then r1 else r2 end;
      def name: {date: "GET /1.1/date", request: "POST requestSmsCode",
                 verify: "POST verifySmsCode", me: "GET users/me", login: "POST login",
                 phone: "POST usersByMobilePhone", captcha: "GET requestCaptcha"}[.];
      ($backends | split(" ") | map(select(. != ""))) as $border
      | {date: 0, request: 1, verify: 2, me: 3, login: 4, phone: 5, captcha: 6} as $sorder
      | [ .[] | select(.kind == "measure") ]
      | group_by([.backend, .scenario, .conns])
      | map({backend: .[0].backend, scenario: .[0].scenario, conns: .[0].conns, n: length,
             rps: (map(.rps) | median), rps_min: (map(.rps) | min), rps_max: (map(.rps) | max),
             p50: (map(.latency_us.p50) | median), p99: (map(.latency_us.p99) | median),
             max: (map(.latency_us.max) | max), cpu: (map(.srv_cpu) | median),
             rss: (map(.peak_rss_mib // empty) | max),
             requests: (map(.requests) | add), ok: (map(.ok) | add), non2xx: (map(.non2xx) | add),
             statuses: (map(.statuses | if type == "object" then to_entries[] else empty end)
                        | group_by(.key) | map({key: .[0].key, value: (map(.value) | add)}) | from_entries),
             timeouts: (map(.errors.timeout) | add), sockerr: (map(.errors.connect + .errors.read + .errors.write) | add),
             exhausted: (map(.extra.exhausted // false) | any)}) as $rows
      | $rows
      | sort_by(. as $x | [($border | index($x.backend)), $sorder[$x.scenario], $x.conns])
      | .[] as $r
      | ($rows | map(select(.backend == $r.backend and .scenario == "date" and .conns == $r.conns)) | .[0].rps) as $date
      | [ $r.backend, ($r.scenario | name), ($r.conns | tostring), ($r.rps | round | tostring),
          ($r.p50 | ms | tostring), ($r.p99 | ms | tostring), ($r.max | ms | tostring),
          (if $r.scenario == "date" then "1" elif ($date // 0) > 0 and $r.rps > 0 then
             ($r.rps / $date) as $q
             | (if $q >= 0.1 then ($q | r2 | tostring) else ($q * 10000 | round / 10000 | tostring) end)
               + " (1/" + (1 / $q | if . >= 10 then round else r1 end | tostring) + ")"
           else "-" end),
          ($r.non2xx | tostring),
          ($r.cpu | r2 | tostring),
          (if $r.rss == null then "-" else ($r.rss | tostring) end),
          ([ (if $r.n > 1 then "req/s \($r.rps_min | round)–\($r.rps_max | round)" else empty end),
             (if $r.scenario == "verify" then "ok \($r.ok)/\($r.requests)" else empty end),
             (if $r.scenario == "phone" then "created (201) \($r.statuses["201"] // 0), logged in (200) \($r.statuses["200"] // 0)" else empty end),
             (if $r.non2xx > 0 then "status " + ([$r.statuses | to_entries[] | "\(.key)×\(.value)"] | join(" ")) else empty end),
             (if $r.timeouts > 0 then "\($r.timeouts) timeouts" else empty end),
             (if $r.sockerr > 0 then "\($r.sockerr) socket errors" else empty end),
             (if $r.exhausted then "ran out of codes (req/s understated)" else empty end)
           ] | join("; "))
        ] | "| " + join(" | ") + " |"
    ' "$RESULTS"
    # The argon2 bound of login: nproc hashes at a time (the server runs at most nproc at once).
    jq -rs --argjson nproc "$M_NPROC" '
      def r1: . * 10 | round / 10;
      ([ .[] | select(.kind == "argon2") ] | .[0]) as $a
      | ([ .[] | select(.kind == "calib" and .scenario == "login" and .rps > 0) ] | .[0]) as $c
      | (if $a != null then {ms: $a.t_hash_ms, src: $a.source}
         elif $c != null then {ms: (1000 / $c.rps), src: "1 ÷ login req/s at 1 connection (\($c.backend); includes HTTP and DB work)"}
         else null end) as $t
      | [ .[] | select(.kind == "measure" and .scenario == "login") ] as $l
      | if $t == null or ($l | length) == 0 then empty else
          "",
          "**argon2 bound** ≈ nproc ÷ t_hash = \($nproc) ÷ \($t.ms | r1) ms ≈ **\($nproc * 1000 / $t.ms | r1) req/s** (t_hash: one argon2id hash, m=19456 KiB, t=2, p=1, \($t.src)); login measured: "
          + ([ $l | group_by([.backend, .conns])[]
               | (map(.rps) | sort | .[(length - 1) / 2 | floor]) as $rps
               | "\(.[0].backend) c=\(.[0].conns) \($rps | r1) req/s = \($rps / ($nproc * 1000 / $t.ms) * 100 | round) %" ]
             | join(", ")) + " of the bound"
        end' "$RESULTS"
    # The cluster's ceiling and each SMS endpoint's share of it.
    jq -rs '
      def median: sort | if length == 0 then null
        elif length % 2 == 1 then .[(length - 1) / 2]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      ([ .[] | select(.kind == "ceiling") ] | map(.tps) | median) as $tps
      | ([ .[] | select(.kind == "ceiling") ] | .[0].clients) as $clients
      | [ .[] | select(.kind == "measure" and .backend == "postgres" and (.scenario == "request" or .scenario == "verify")) ] as $m
      | if $tps == null then empty else
          "",
          "**PostgreSQL ceiling**: pgbench, \($clients) clients, one-row INSERT transactions on the same cluster in the same run: **\($tps | round) commits/s**; "
          + ([ $m | group_by([.scenario, .conns])[]
               | (map(.rps) | median) as $rps
               | "\(.[0].scenario) c=\(.[0].conns) \($rps | round) req/s = **\($rps / $tps * 100 | round) %**" ]
             | join(", "))
        end' "$RESULTS"
    local stmts
    stmts=$(jq -rs '
      def r1: . * 10 | round / 10;
      [ .[] | select(.kind == "stmts") ] | group_by([.backend, .scenario, .conns]) | .[]
      | "- \(.[0].backend) \(.[0].scenario) c=\(.[0].conns): \(map(.per_request) | add / length | r1) statements and \(map(.commits_per_request) | add / length | r1) commits per 2xx request"' "$RESULTS")
    if [ -n "$stmts" ]; then
      echo
      echo "Database work per request (phonebase_db_statements_total and _commits_total from /metrics around each"
      echo "run, divided by its 2xx responses; a request run is counted to the end of its outbox drain, so the"
      echo "delivery of its messages is in; every statement, BEGIN/COMMIT included, is one round trip on PostgreSQL):"
      echo
      echo "$stmts"
    fi
    local rates
    rates=$(jq -rs '
      def r2: . * 100 | round / 100;
      def ms: . / 1000 | if . >= 100 then round elif . >= 10 then (. * 10 | round / 10) else r2 end;
      def name: {date: "GET /1.1/date", request: "POST requestSmsCode", verify: "POST verifySmsCode",
                 me: "GET users/me"}[.];
      . as $all
      | [ .[] | select(.kind == "rate" or .kind == "mixed") ] | .[]
      | . as $r
      | (if .kind == "mixed" then ($all | map(select(.kind == "storm" and .backend == $r.backend)) | .[0]) else null end) as $storm
      | "| \(.backend) | \(.scenario | name)\(if .kind == "mixed" then " during a login storm (c=\($storm.conns // "?"), \($storm.rps // 0 | round) logins/s)" else "" end) | \(.conns) | \(.rate | round) | \(.achieved_rps | round) | \(.latency_us.p50 | ms) | \(.latency_us.p99 | ms) | \(.latency_us.p999 | ms) | \(.latency_us.max | ms) | \(.answered - .ok + .errors) |"' "$RESULTS")
    if [ -n "$rates" ]; then
      echo
      echo "Fixed rate (open loop, examples/fixed_rate.rs): each request is due at start + i ÷ rate and its latency"
      echo "counts from that moment, so queueing behind a stall is in the tail; **conns** = most requests in flight."
      echo
      echo "| backend | endpoint | conns | rate | achieved | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx + errors |"
      echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
      echo "$rates"
    fi
    jq -rs '.[] | select(.kind == "fill")
      | "", "- \(.backend): the bench app held \(.users) extra users and \(.codes) used codes (filled in \(.secs) s before the server started)"' "$RESULTS"
    echo
    echo "Outbox and code generation:"
    echo
    jq -rs --arg backends "$M_BACKENDS" --argjson apps "$M_GEN_APPS" '
      def median: sort | if length == 0 then null
        elif length % 2 == 1 then .[(length - 1) / 2]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      . as $all
      | $backends | split(" ") | map(select(. != "")) | .[] as $b
      | ($all | map(select(.backend == $b))) as $x
      | ($x | map(select(.kind == "drain" and (.what | startswith("after request"))))) as $d
      | ($x | map(select(.kind == "drain" and (.sink < .issued)))) as $short
      | ($x | map(select(.kind == "gen"))) as $g
      | ([($x | map(select(.kind == "server")) | .[0].peak_rss_kb // 0),
          ($x | map(.peak_rss_mib // 0 | . * 1024) | max // 0)] | max) as $rss
      | (if ($d | length) > 0 then
           "- \($b): after each request run the outbox needed \($d | map(.wait_s) | median) s (median; max \($d | map(.wait_s) | max) s, \($d | length) runs) to put every issued code into the sink"
         else empty end),
        (if ($short | length) > 0 then
           "- \($b): **outbox not drained** \($short | length) time(s): " + ($short | map("\(.what): \(.sink)/\(.issued)") | join(", "))
         else empty end),
        (if ($g | length) > 0 then
           "- \($b): \($g | length) generation run(s) for the verify pool, \($g | map(.secs) | add) s in all, \($g | map(.ok) | add) codes issued at \($g | map(.rps) | median | round) req/s (median) with requests spread over \($apps) apps at c=\($g[0].conns), \($g | map(.non2xx) | add) non-2xx"
         else empty end),
        "- \($b): server peak RSS \($rss / 1024 | round) MiB (the highest of the measured and generation runs)"
    ' "$RESULTS"
    local waits
    waits=$(jq -rs '
      [ .[] | select(.kind == "measure" and ((.pg_waits // {}) | length) > 0) ]
      | group_by([.scenario, .conns]) | sort_by(.[0].conns, .[0].scenario) | .[]
      | (map(.secs) | add) as $samples
      | "- \(.[0].scenario) c=\(.[0].conns): "
        + ([ map(.pg_waits | to_entries[]) | group_by(.key)[]
             | {key: .[0].key, value: (map(.value) | add / $samples)} ]
           | sort_by(-.value) | .[:4] | map("\(.key) \(.value * 10 | round / 10)") | join(", "))' "$RESULTS")
    if [ -n "$waits" ]; then
      echo
      echo "PostgreSQL: the server's sessions, sampled once a second from pg_stat_activity;"
      echo "average number of sessions per state (\"running\" = on CPU or in the protocol, \"Lock:advisory\" ="
      echo "waiting for a pg_advisory_xact_lock, \"IO:WALSync\"/\"LWLock:WALWrite\" = waiting for commit flushes,"
      echo "\"Client:ClientRead\" = in a transaction, waiting for the server's next statement):"
      echo
      echo "$waits"
    fi
    echo
    echo "Server log (RUST_LOG=warn):"
    echo
    for b in $M_BACKENDS; do log_summary "$b"; done
    local samples
    samples=$(jq -rs '[ .[] | select(.kind == "measure" and ((.samples | length) > 0))
                | "- \(.backend) \(.scenario) c=\(.conns): " + (.samples | if type == "array" then join(" / ") else "" end) ] | .[:8] | .[]' "$RESULTS")
    if [ -n "$samples" ]; then
      echo
      echo "First non-2xx responses seen by wrk:"
      echo
      echo "$samples"
    fi
    if [ -s "$NOTES" ]; then
      echo
      echo "Notes:"
      echo
      cat "$NOTES"
    fi
    echo
    echo "Latency caveats: wrk is closed-loop (each connection waits for its answer), and wrk 4 then"
    echo "\"corrects\" its histogram for coordinated omission (stats_correct: every response slower than"
    echo "2 × conns ÷ req/s adds synthetic samples), so p99 approximates what a fixed-rate client would"
    echo "see and is inflated when the tail is heavy; the mean response time is conns ÷ req/s (Little's"
    echo "law) and max is raw. Client and server share the cores."
  } > "$RUN_DIR/report.md"
  cp "$RUN_DIR/report.md" "$HERE/results/latest.md"
  cat "$RUN_DIR/report.md"
}

# ---------------------------------------------------------------------------------------------
# Main

if [ -n "$REPORT_DIR" ]; then
  report
  exit 0
fi

RUN_BACKENDS=
for b in $BACKENDS; do
  if [ "$b" = postgres ] && ! pg_available; then
    note "postgres skipped: pg_isready on $PG_ADMIN_URL failed (or psql/pg_isready missing)"
    continue
  fi
  RUN_BACKENDS="$RUN_BACKENDS $b"
done
BACKENDS=${RUN_BACKENDS# }
[ -n "$BACKENDS" ] || die "no backend to run"

save_meta
log "results in $RUN_DIR"
ARGON2_MEASURED=0
if has_scenario login; then
  if measure_argon2; then ARGON2_MEASURED=1; else log "argon2-cffi not available: timing a login at 1 connection instead"; fi
fi
for b in $BACKENDS; do
  run_backend "$b"
done
save_meta_end
report
exit 0
}
