#!/usr/bin/env bash
# Footprint of `lifeline up` at idle (issue 10: under 500 MB RSS and under 2 % of one core): starts the whole
# deployment on a fresh data directory (every port 0; the first start trains and registers the model), waits until
# it is ready, lets it settle SETTLE seconds, then measures IDLE seconds with nobody talking to it:
#   RSS      VmRSS (and the peak VmHWM) from /proc/PID/status at the end of the idle window
#   CPU      (utime+stime) delta from /proc/PID/stat over the window / (CLK_TCK * IDLE), as % of one core
# then stops it with SIGTERM (exit 0 expected). Prints one markdown row for docs/benchmarks.md, and the load average
# before and after (the machine is shared: note it), then the CPU of the window per thread name (utime+stime of
# /proc/PID/task/*/stat; threads that ended within the window are one line). utime+stime counts only the time the
# process itself ran, so it holds up on a busy machine far better than wall-clock figures (contention adds context
# switches and cache misses, not ticks of waiting).
# The tiered JIT keeps recompiling the paths that run every few seconds (metrics, Delta commits) for about 5-8 minutes
# after start (docs/up.md, "Idle"): SETTLE=600 measures the settled deployment, SETTLE=60 the one just started.
# Usage: bench/up-footprint.sh [IDLE=60] [SETTLE=10]
set -euo pipefail
idle=${1:-60}; settle=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
[ "${SKIP_BUILD:-0}" = 1 ] || dotnet build "$root/src/Lifeline.Cli" -c Release -v q -nologo >/dev/null
lifeline="$root/src/Lifeline.Cli/bin/Release/net10.0/lifeline"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

(cd "$work" && exec "$lifeline" up --data "$work/data" --registry-port 0 --scoring-port 0 --status-port 0 >"$work/up.log" 2>&1) &
pid=$!
for _ in $(seq 600); do grep -q '"ready": true' "$work/data/lifeline.state.json" 2>/dev/null && break; kill -0 "$pid" || { cat "$work/up.log"; exit 1; }; sleep 0.5; done
grep -q '"ready": true' "$work/data/lifeline.state.json" || { echo "up did not become ready" >&2; cat "$work/up.log" >&2; exit 1; }
sleep "$settle"

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }   # utime + stime, in clock ticks
hz=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
per_thread() { for t in /proc/$pid/task/*; do s=$(cat "$t/stat" 2>/dev/null) || continue; rest=${s##*) }; set -- $rest; echo "${t##*/}|$(cat "$t/comm" 2>/dev/null)|$(( ${12} + ${13} ))"; done; }
per_thread >"$work/threads0"; t0=$(ticks); s0=$(date +%s.%N)
sleep "$idle"
per_thread >"$work/threads1"; t1=$(ticks); s1=$(date +%s.%N)
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / (s1 - s0) }')

kill -TERM "$pid"; code=0; wait "$pid" || code=$?; pid=""
echo "| date (UTC) | idle window | RSS (MiB) | peak RSS (MiB) | CPU (% of one core) | threads | load before → after | SIGTERM exit |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
printf '| %s | %ss | %d | %d | %s | %s | %s → %s | %s |\n' "$(date -u '+%Y-%m-%d %H:%M')" "$idle" "$((rss_kb / 1024))" \
  "$((hwm_kb / 1024))" "$cpu" "$threads" "$load_before" "$load_after" "$code"
echo
echo "CPU of the idle window per thread name (ticks of 1/$hz s; % of one core):"
awk -F'|' -v hz="$hz" -v s0="$s0" -v s1="$s1" -v total=$((t1 - t0)) '
  NR == FNR { before[$1] = $3; next }
  { d = $3 - ($1 in before ? before[$1] : 0); ticks[$2] += d; n[$2]++; sum += d }
  END {
    for (k in ticks) if (ticks[k] > 0) printf "  %5d  %5.2f %%  %s (x%d)\n", ticks[k], 100 * ticks[k] / hz / (s1 - s0), k, n[k]
    if (total > sum) printf "  %5d  %5.2f %%  (threads that ended within the window)\n", total - sum, 100 * (total - sum) / hz / (s1 - s0)
  }' "$work/threads0" "$work/threads1" | sort -rn
