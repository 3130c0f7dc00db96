#!/usr/bin/env bash
# Runs Bmob's SDKs against a freshly started Phonebase: the real npm hydrogen-js-sdk (signed mode,
# bmob.test.mjs) and the real PyPI bmobpy (plain headers, bmobpy_check.py, in a venv under
# tests/sdk-bmob/.venv, git-ignored).
#
#   tests/sdk-bmob/run.sh                      # SQLite in a temp data dir
#   PHONEBASE_SDK_PG_URL=postgres://postgres@127.0.0.1:5432 tests/sdk-bmob/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PB_SDK_CAPTCHA_BIN, PHONEBASE_SDK_PG_URL, PHONEBASE_SDK_PG_ADMIN_DB and
# PHONEBASE_SDK_KEEP, as tests/lib/runner.sh and tests/sdk/run.sh say. Extra arguments go to
# `node --test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/runner.sh"
runner_init sdk-bmob PHONEBASE_SDK

# A second instance whose captcha answers the suite knows (see tests/sdk/run.sh).
captcha_bin="${PB_SDK_CAPTCHA_BIN:-$root/target/debug/examples/sdk_captcha_server}"
[[ -n "${PB_SDK_CAPTCHA_BIN:-}" ]] || (cd "$root" && cargo build --quiet --example sdk_captcha_server)
[[ -x "$captcha_bin" ]] || { log "no executable at $captcha_bin"; exit 1; }
CAPTCHA_ANSWER="K7PX3M"

npm_install hydrogen-js-sdk
venv_install

# The app and its Bmob keys (`app create --json` prints them under "bmob").
app_json="$(create_app sdk-bmob)"
for key in applicationId restApiKey masterKey secretKey securityCode; do
  declare "bmob_$key=$(json_get "$app_json" bmob "$key")"
done
start_server
server_url="$url"
PB_SDK_CAPTCHA_ANSWER="$CAPTCHA_ANSWER" PHONEBASE_DELIVERY__WORKER=false start_server "$captcha_bin"
captcha_url="$url"

# Both clients run; the script fails if either does.
both() {
  node --test --test-reporter=spec "$@" "$here"/bmob.test.mjs
  local node_status=$?
  "$venv/bin/python" ./bmobpy_check.py
  local py_status=$?
  log "hydrogen-js-sdk: exit $node_status; bmobpy: exit $py_status"
  ((node_status == 0 && py_status == 0))
}
PHONEBASE_URL="$server_url" CAPTCHA_URL="$captcha_url" CAPTCHA_ANSWER="$CAPTCHA_ANSWER" \
  SINK_PATH="$data_dir/sms-sink.jsonl" BMOB_APPLICATION_ID="$bmob_applicationId" \
  BMOB_REST_API_KEY="$bmob_restApiKey" BMOB_MASTER_KEY="$bmob_masterKey" \
  BMOB_SECRET_KEY="$bmob_secretKey" BMOB_SECURITY_CODE="$bmob_securityCode" \
  run_suite both "$@"
