#!/usr/bin/env bash
# Fuzzes every operation of Phonebase's /openapi.json with schemathesis (PyPI, in a virtualenv
# here) against a freshly started server: fails on any 5xx, any error body that is not the JSON
# the document declares, and any answer that breaks its schema.
#
#   tests/schemathesis/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_FUZZ_PG_URL=postgres://postgres@127.0.0.1:5432 tests/schemathesis/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PHONEBASE_FUZZ_PG_URL, PHONEBASE_FUZZ_PG_ADMIN_DB and
# PHONEBASE_FUZZ_KEEP as tests/lib/runner.sh says, and
#   PHONEBASE_FUZZ_EXAMPLES  generated cases per operation in the fuzzing phase (default 10; the
#                            coverage phase adds its own, about 25 per operation)
#   PHONEBASE_FUZZ_MIN_CASES the run fails below this many cases in all (default 2000)
#   PHONEBASE_FUZZ_SEED      schemathesis' seed (default: a random one, printed)
#   extra arguments are passed to `st run` (e.g. --include-tag Bmob)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# This suite's own settings, read before the runner clears every PHONEBASE_* variable.
examples="${PHONEBASE_FUZZ_EXAMPLES:-10}"
min_cases="${PHONEBASE_FUZZ_MIN_CASES:-2000}"
seed="${PHONEBASE_FUZZ_SEED:-$RANDOM$RANDOM}"
source "$here/../lib/runner.sh"
runner_init schemathesis PHONEBASE_FUZZ
venv_install

# An app, its keys in every dialect, and a console operator.
app_id="$(json_get "$(create_app fuzz)" appId)"
show_json="$("$bin" app show "$app_id" --json 2>>"$server_log")"
operator_password="fuzz-$RANDOM-$RANDOM-operator"
printf '%s\n' "$operator_password" | "$bin" admin create fuzzer --password-stdin >>"$server_log" 2>&1
start_server

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
