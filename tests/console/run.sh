#!/usr/bin/env bash
# The operator console in a real headless browser (Debian's chromium, driven by playwright-core),
# plus the end-to-end path: SDK requestSmsCode with a template → 605, an operator approves it in
# the console → the same call succeeds and the sink shows the rendered text.
#
#   tests/console/run.sh                                                       # SQLite
#   PHONEBASE_CONSOLE_PG_URL=postgres://postgres@127.0.0.1:5432 tests/console/run.sh   # PostgreSQL
#
# Environment: PHONEBASE_BIN, PHONEBASE_CONSOLE_PG_URL, PHONEBASE_CONSOLE_PG_ADMIN_DB and
# PHONEBASE_CONSOLE_KEEP as tests/lib/runner.sh says; CHROMIUM (default /usr/bin/chromium).
# Screenshots go to tests/console/screenshots/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
source "$here/../lib/runner.sh"
runner_init console PHONEBASE_CONSOLE
[[ -x "$chromium" ]] || { log "no chromium at $chromium (apt-get install -y chromium)"; exit 1; }
npm_install playwright-core
mkdir -p "$here/screenshots"

app_json="$(create_app Shop)"
operator_password="console-test-$RANDOM-$RANDOM"
printf '%s\n' "$operator_password" | "$bin" admin create reviewer --password-stdin >>"$server_log" 2>&1
start_server

PHONEBASE_URL="$url" APP_JSON="$app_json" SINK_PATH="$data_dir/sms-sink.jsonl" CHROMIUM="$chromium" \
  OPERATOR_NAME=reviewer OPERATOR_PASSWORD="$operator_password" SCREENSHOT_DIR="$here/screenshots" \
  run_suite node --test --test-reporter=spec "$@" "$here"/*.test.mjs
