#!/usr/bin/env bash
# Peak memory of OPTIMIZE (issue 12's soak found the first compaction of the predictions table taking `up` to 1.5 GiB):
# seeds a lead-scoring lake with LEADS leads in BATCHES commits (one small file each), then runs
# `lifeline lake optimize --target-size 32MiB` on a copy of the leads table under /usr/bin/time, once per lifeline
# binary given (default: this tree's Release build), and prints max RSS and wall time side by side.
# Usage: bench/lake-optimize-memory.sh [LEADS=340000] [BATCHES=136] [LIFELINE_BINARY...]
#   e.g. an older build to compare: git worktree add --detach /tmp/old REV && dotnet build /tmp/old/src/Lifeline.Cli -c Release
#        bench/lake-optimize-memory.sh 340000 136 /tmp/old/src/Lifeline.Cli/bin/Release/net10.0/lifeline src/Lifeline.Cli/bin/Release/net10.0/lifeline
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
leads=${1:-340000}; batches=${2:-136}; shift $(( $# > 2 ? 2 : $# ))
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  dotnet build "$root/src/Lifeline.Cli" -c Release -v q -nologo >/dev/null
  bins=("$root/src/Lifeline.Cli/bin/Release/net10.0/lifeline")
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"${bins[-1]}" lake seed "$work/lake" --leads "$leads" --batches "$batches" >/dev/null
files=$(ls "$work/lake/leads" | grep -c '\.parquet$' || true)
echo "optimize of the leads table: $leads rows in $batches commits ($files data files, $(du -sh "$work/lake/leads" | cut -f1)); $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| lifeline | max RSS | wall | result |"
echo "|---|---:|---:|---|"
for bin in "${bins[@]}"; do
  rm -rf "$work/copy"; cp -r "$work/lake/leads" "$work/copy"
  /usr/bin/time -f '%M %e' -o "$work/time" "$bin" lake optimize "$work/copy" --target-size 32MiB >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  read -r kb wall <"$work/time"
  echo "| $bin | $(awk -v k="$kb" 'BEGIN {printf "%.0f MiB", k / 1024}') | ${wall} s | $(sed 's/^[^:]*: //' "$work/out" | head -1) |"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
