#!/usr/bin/env bash
# Runs the minapp-sdk (npm, MinCloud / 知晓云 web build) suite against a freshly started Phonebase.
#
#   tests/mincloud/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_MINCLOUD_PG_URL=postgres://postgres@127.0.0.1:5432 tests/mincloud/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PHONEBASE_MINCLOUD_PG_URL, PHONEBASE_MINCLOUD_PG_ADMIN_DB and
# PHONEBASE_MINCLOUD_KEEP, as tests/lib/runner.sh says. Extra arguments go to `node --test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/runner.sh"
runner_init mincloud PHONEBASE_MINCLOUD
npm_install minapp-sdk

# The app and its MinCloud client id (what BaaS.init takes).
app_id="$(json_get "$(create_app mincloud)" appId)"
client_id="$(json_get "$("$bin" app show "$app_id" --json 2>>"$server_log")" mincloud clientId)"
[[ -n "$client_id" ]] || { log "no MinCloud client id in 'app show --json'"; exit 1; }
start_server

PHONEBASE_URL="$url" CLIENT_ID="$client_id" SINK_PATH="$data_dir/sms-sink.jsonl" \
  run_suite node --test --test-concurrency=1 --test-reporter=spec "$@" "$here"/*.test.mjs
