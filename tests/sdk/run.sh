#!/usr/bin/env bash
# Runs the leancloud-storage (npm, JS SDK) suite against a freshly started Phonebase.
#
#   tests/sdk/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_SDK_PG_URL=postgres://postgres@127.0.0.1:5432 tests/sdk/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PHONEBASE_SDK_PG_URL, PHONEBASE_SDK_PG_ADMIN_DB and PHONEBASE_SDK_KEEP
# as tests/lib/runner.sh says, and
#   PB_SDK_CAPTCHA_BIN    the captcha fixture server (default: built from examples/sdk_captcha_server.rs)
# Extra arguments are passed to `node --test` (e.g. --test-name-pattern=voice).
#
# Every tests/sdk/*.test.mjs runs (sms.test.mjs, users.test.mjs, ...); node runs the files in
# parallel, each in its own process with its own SDK instance.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/runner.sh"
runner_init sdk PHONEBASE_SDK

# A second instance on the same database whose captcha answers the suite knows (a test fixture:
# the real application with only its captcha text source swapped, see the example's comment).
captcha_bin="${PB_SDK_CAPTCHA_BIN:-$root/target/debug/examples/sdk_captcha_server}"
[[ -n "${PB_SDK_CAPTCHA_BIN:-}" ]] || (cd "$root" && cargo build --quiet --example sdk_captcha_server)
[[ -x "$captcha_bin" ]] || { log "no executable at $captcha_bin"; exit 1; }
CAPTCHA_ANSWER="K7PX3M"

npm_install leancloud-storage

# The app, with one test number whose code is fixed (nothing is sent to it).
app_json="$(create_app sdk)"
APP_ID="$(json_get "$app_json" appId)"
TEST_NUMBER="+8613900000000"
TEST_NUMBER_CODE="123456"
"$bin" app update "$APP_ID" --settings "{\"test_numbers\":{\"$TEST_NUMBER\":\"$TEST_NUMBER_CODE\"}}" >/dev/null 2>>"$server_log" \
  || { log "app update failed"; exit 1; }

start_server
server_url="$url"
# No outbox worker in the fixture: the first instance delivers what this one queues.
PB_SDK_CAPTCHA_ANSWER="$CAPTCHA_ANSWER" PHONEBASE_DELIVERY__WORKER=false start_server "$captcha_bin"
captcha_url="$url"

PHONEBASE_URL="$server_url" APP_ID="$APP_ID" APP_KEY="$(json_get "$app_json" appKey)" \
  MASTER_KEY="$(json_get "$app_json" masterKey)" SINK_PATH="$data_dir/sms-sink.jsonl" \
  TEST_NUMBER="$TEST_NUMBER" TEST_NUMBER_CODE="$TEST_NUMBER_CODE" PB_BIN="$bin" \
  CAPTCHA_URL="$captcha_url" CAPTCHA_ANSWER="$CAPTCHA_ANSWER" \
  run_suite node --test --test-reporter=spec "$@" "$here"/*.test.mjs
