#!/usr/bin/env bash
# Runs the official JPush SMS Python client (`jsms` from PyPI, in a virtualenv here) against a
# freshly started Phonebase, through the `/v1` dialect.
#
#   tests/jpush/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_JPUSH_PG_URL=postgres://postgres@127.0.0.1:5432 tests/jpush/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PHONEBASE_JPUSH_PG_URL, PHONEBASE_JPUSH_PG_ADMIN_DB and
# PHONEBASE_JPUSH_KEEP, as tests/lib/runner.sh says. Extra arguments go to pytest (e.g. -k schedule).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/runner.sh"
runner_init jpush PHONEBASE_JPUSH
venv_install

# The app and its JPush keys (`app show --json` prints them under "jpush").
APP_ID="$(json_get "$(create_app jpush)" appId)"
show_json="$("$bin" app show "$APP_ID" --json 2>>"$server_log")"
start_server

PHONEBASE_URL="$url" APP_ID="$APP_ID" JPUSH_APP_KEY="$(json_get "$show_json" jpush appKey)" \
  JPUSH_MASTER_SECRET="$(json_get "$show_json" jpush masterSecret)" \
  SINK_PATH="$data_dir/sms-sink.jsonl" PB_BIN="$bin" \
  run_suite "$venv/bin/pytest" -q -p no:cacheprovider "$@" test_jsms.py
