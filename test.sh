#!/usr/bin/env bash
# Runs every test of Lifeline, doing its own set-up first (servers on 127.0.0.1 only).
# Usage: ./test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# --- set-up: services the tests talk to (each script is idempotent and starts only what is not running) ---
for setup in scripts/setup/*.sh; do
  [ -e "$setup" ] || continue
  echo "== set-up: $setup"
  bash "$setup"
done

# --- build once, then run every test project ---
dotnet build Lifeline.slnx -c Release
log=$(mktemp /tmp/lifeline-test.XXXXXX.log)
set +e
dotnet test Lifeline.slnx -c Release --no-build --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}' || true)
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}' || true)
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}' || true)
if [ "$failed" != "0" ]; then
  # CI keeps only the tail of this output: name each failed test and its first lines here, at the end.
  echo "== failed tests (name, then the first lines of its message):"
  grep -E -A6 '^\s+Failed [A-Za-z]' "$log" | cut -c1-300 | head -120 || true
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
