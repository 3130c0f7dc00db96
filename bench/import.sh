#!/usr/bin/env bash
# Import benchmark (not a test): generates a LeanCloud `_User` export of N users (JSON lines, as
# the console writes them, with password hashes, salts, some session tokens and custom fields),
# imports it with the release build's `phonebase import leancloud` into a fresh SQLite and a fresh
# PostgreSQL database, and reports users/s per file (to show whether the rate stays flat as the
# table grows), the total, and the importer's peak memory.
#
#   bench/import.sh [-n USERS] [-f FILES] [-b "sqlite postgres"] [--no-build] [--keep]
#
# Defaults: 1,000,000 users in 10 files. BENCH_BIN overrides the binary, BENCH_PG the server
# (default postgres://postgres@127.0.0.1:5432), BENCH_PG_ADMIN_DB the database psql connects to
# for CREATE/DROP DATABASE (default "test"). The report is printed and saved as
# bench/results/import-<stamp>.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
users=1000000
files=10
backends="sqlite postgres"
build=1
keep=""
while (($#)); do
  case "$1" in
    -n) users="$2"; shift 2 ;;
    -f) files="$2"; shift 2 ;;
    -b) backends="$2"; shift 2 ;;
    --no-build) build=""; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
pg="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
pg_admin_db="${BENCH_PG_ADMIN_DB:-test}"
log() { printf '[import-bench] %s\n' "$*" >&2; }

if [[ -n "$build" && -z "${BENCH_BIN:-}" ]]; then
  log "cargo build --release"
  (cd "$root" && cargo build --release --quiet)
fi
bin="${BENCH_BIN:-$root/target/release/phonebase}"
[[ -x "$bin" ]] || { log "no binary at $bin"; exit 1; }
command -v /usr/bin/time >/dev/null || { log "/usr/bin/time is required (apt-get install time)"; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/phonebase-import-bench.XXXXXX")"
pg_db=""
cleanup() {
  if [[ -n "$pg_db" ]]; then
    psql -X -q "${pg%/}/$pg_admin_db" -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [[ -z "$keep" ]]; then rm -rf "$work"; else log "kept $work"; fi
}
trap cleanup EXIT

# ------------------------------------------------------------------------------------------------
# The export. Password digests are real (LeanCloud's algorithm) for a pool of 256 salts and
# reused: the import stores them as they are, so their variety does not change its cost.
log "generating $users users in $files files under $work/export"
mkdir -p "$work/export"
python3 - "$work/export" "$users" "$files" <<'PY'
import base64, hashlib, json, sys
out, users, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def lc_hash(salt, password):
    h = hashlib.sha512((salt + password).encode()).digest()
    for _ in range(512):
        h = hashlib.sha512(h).digest()
    return base64.b64encode(h).decode()
pool = []
for k in range(256):
    salt = hashlib.sha256(f"salt{k}".encode()).hexdigest()[:48]
    pool.append((salt, lc_hash(salt, f"password{k}")))
per_file = (users + files - 1) // files
i = 0
for f in range(files):
    with open(f"{out}/_User.{f}.jsonl", "w") as fh:
        fh.write('#filetype:JSON-streaming {"type":"Class","class":"_User"}\n')
        for _ in range(min(per_file, users - i)):
            salt, digest = pool[i % 256]
            rec = {
                "objectId": f"{i:024x}",
                "username": f"user{i}",
                "email": f"user{i}@example.com",
                "emailVerified": i % 3 == 0,
                "mobilePhoneNumber": f"13{i:09d}",
                "mobilePhoneVerified": True,
                "password": digest,
                "salt": salt,
                "createdAt": "2019-03-04T05:06:07.089Z",
                "updatedAt": "2024-01-02T03:04:05.678Z",
                "nickname": f"n{i}",
                "level": i % 100,
                "tags": ["a", "b"],
                "ACL": {"*": {"read": True}},
            }
            if i % 10 == 0:
                rec["sessionToken"] = f"{i:025d}"
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
            i += 1
PY
du -sh "$work/export" >&2

# ------------------------------------------------------------------------------------------------
report="| backend | file | users | seconds | users/s | peak RSS MiB |\n|---|---|---|---|---|---|\n"
totals=""
run_backend() {
  local backend="$1" data="$work/data-$1"
  mkdir -p "$data"
  unset DATABASE_URL
  while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PHONEBASE_' || true)
  export PHONEBASE_DATA_DIR="$data" RUST_LOG=warn
  if [[ "$backend" == postgres ]]; then
    pg_isready -h 127.0.0.1 -q || { log "PostgreSQL not reachable: skipped"; return; }
    pg_db="phonebase_import_bench_$(date +%s)_$$"
    psql -X -q "${pg%/}/$pg_admin_db" -c "CREATE DATABASE \"$pg_db\"" >/dev/null
    export DATABASE_URL="${pg%/}/$pg_db"
    # PostgreSQL takes the server secret from the configuration only.
    PHONEBASE_SECRET_KEY="$("$bin" secret generate)"
    export PHONEBASE_SECRET_KEY
  fi
  cd "$data"
  local app
  app="$("$bin" app create --name bench --json | grep '^{' | tail -n 1 | python3 -c 'import json,sys;print(json.load(sys.stdin)["appId"])')"
  local all_users=0 start end
  start=$(date +%s.%N)
  for file in $(ls "$work/export"/_User.*.jsonl | sort -V); do
    /usr/bin/time -f "%M" -o "$data/rss" "$bin" import leancloud --app "$app" --json "$file" >"$data/summary.json"
    read -r n secs refused < <(python3 -c 'import json,sys;r=json.load(open(sys.argv[1]));print(r["created"]+r["updated"]+r["unchanged"],r["seconds"],len(r["refused"]))' "$data/summary.json")
    [[ "$refused" == 0 ]] || log "$refused refused in $file"
    local rss=$(( $(cat "$data/rss") / 1024 ))
    report+="| $backend | $(basename "$file") | $n | $(printf %.1f "$secs") | $(python3 -c "print(round($n/$secs))") | $rss |\n"
    all_users=$((all_users + n))
  done
  end=$(date +%s.%N)
  local total_secs
  total_secs=$(python3 -c "print(round($end-$start,1))")
  totals+="| $backend | $all_users users | $total_secs s wall, with process starts | $(python3 -c "print(round($all_users/($end-$start)))") users/s |\n"
  # Re-running the same export changes nothing, and says so quickly.
  /usr/bin/time -f "%M" -o "$data/rss" "$bin" import leancloud --app "$app" --json "$work/export" >"$data/summary.json"
  read -r unchanged secs < <(python3 -c 'import json,sys;r=json.load(open(sys.argv[1]));print(r["unchanged"],r["seconds"])' "$data/summary.json")
  totals+="| $backend | re-run of the whole export | $unchanged unchanged in $(printf %.1f "$secs") s | $(python3 -c "print(round($unchanged/$secs))") users/s |\n"
  cd "$root"
}
for b in $backends; do
  log "importing into $b"
  run_backend "$b"
done

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$here/results"
{
  printf '# Import benchmark %s (%s users, %s files, %s cores)\n\n' "$stamp" "$users" "$files" "$(nproc)"
  printf '%b\n' "$report"
  printf '| backend | what | time | rate |\n|---|---|---|---|\n%b' "$totals"
} | tee "$here/results/import-$stamp.md"
