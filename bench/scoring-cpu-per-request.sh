#!/usr/bin/env bash
# CPU, GC and allocation cost per request of `lifeline scoring serve`, for comparing builds on a busy machine where
# requests/s is noise: the server's utime+stime (from /proc/PID/stat), its GC collections and its allocated bytes
# (lifeline_scoring_gc_* on /metrics, read before and after the measured wrk run) divided by the requests it answered
# 200 in that run. Builds alternate within each round (A B, then B A), each with the sinks (durable spool + JSON lines)
# and without (--no-sinks).
#
# Usage: bench/scoring-cpu-per-request.sh [DURATION=10s] [CONNECTIONS=16] [ROUNDS=2]
# Environment: BUILDS="base:/tmp/base new:src/Lifeline.Cli/bin/Release/net10.0" (name:directory holding `lifeline`;
#   default: this tree's Release build only), MODES="sinks nosinks", SERVE_FLAGS (more flags for `scoring serve`, e.g.
#   "--sink-flush-ms 2000": a slow machine's batches as large as a quiet one's at its rate).
# Prints one markdown row per run: CPU seconds per 100k requests, gen0/gen1/gen2 collections per 100k, bytes allocated
# per request ("–" for a build without the allocation gauge).
set -euo pipefail
dur=${1:-10s}; conns=${2:-16}; rounds=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
peer=${PEER_DIR:-$(cd "$root/.." && pwd)/shared/peers/fastapi-baseline}
[ -f "$peer/post.lua" ] || peer=/work/shared/peers/fastapi-baseline
builds=${BUILDS:-"this:$root/src/Lifeline.Cli/bin/Release/net10.0"}
modes=${MODES:-"sinks nosinks"}
port=${PORT:-5211}
tck=$(getconf CLK_TCK)
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
first=${builds%% *}; (cd "$work" && "${first#*:}/lifeline" train --model-dir models >/dev/null)

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks of user + system time
metric() { awk -v m="$2" 'index($0, m) == 1 {v=$NF} END {printf "%.0f\n", v+0}' "$1"; }
wait_ready() { for _ in $(seq 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done; echo "not ready: $1" >&2; return 1; }

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(uptime | sed 's/.*load average: *//'); wrk -t1 -c$conns -d$dur after a 2 s warm-up"
echo
echo "| round | build | sinks | requests (200) | CPU s / 100k | gen0 / gen1 / gen2 per 100k | bytes allocated / request |"
echo "|---:|---|---|---:|---:|---|---:|"
for r in $(seq "$rounds"); do
  order=$builds; [ $((r % 2)) = 0 ] && order=$(echo "$builds" | tr ' ' '\n' | tac | tr '\n' ' ')
  for mode in $modes; do
    for b in $order; do
      name=${b%%:*}; dir=${b#*:}
      flags="--no-sinks"; [ "$mode" = sinks ] && { rm -rf "$work/sinks"; flags="--sink-dir $work/sinks"; }
      # shellcheck disable=SC2086
      (cd "$work" && exec "$dir/lifeline" scoring serve --model-dir models --urls "http://127.0.0.1:$port" $flags ${SERVE_FLAGS:-} >"$work/serve.log" 2>&1) &
      server=$!
      wait_ready "127.0.0.1:$port/health/ready"
      url="http://127.0.0.1:$port/score-lead"
      wrk -t1 -c"$conns" -d2s -s "$peer/post.lua" "$url" >/dev/null
      curl -sf "127.0.0.1:$port/metrics" >"$work/m0"; c0=$(cpu "$server")
      wrk -t1 -c"$conns" -d"$dur" -s "$peer/post.lua" "$url" >/dev/null
      c1=$(cpu "$server"); curl -sf "127.0.0.1:$port/metrics" >"$work/m1"
      kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
      ok='lifeline_scoring_requests_total{endpoint="score-lead",status="200"}'
      n=$(( $(metric "$work/m1" "$ok") - $(metric "$work/m0" "$ok") ))
      g() { echo $(( $(metric "$work/m1" "lifeline_scoring_gc_collections_total{generation=\"$1\"}") - $(metric "$work/m0" "lifeline_scoring_gc_collections_total{generation=\"$1\"}") )); }
      alloc="–"
      if grep -q '^lifeline_scoring_gc_allocated_bytes_total' "$work/m1"; then
        alloc=$(awk -v a="$(metric "$work/m0" lifeline_scoring_gc_allocated_bytes_total)" -v b="$(metric "$work/m1" lifeline_scoring_gc_allocated_bytes_total)" -v n="$n" 'BEGIN { printf "%.0f", (b - a) / n }')
      fi
      awk -v r="$r" -v name="$name" -v mode="$mode" -v n="$n" -v c="$((c1 - c0))" -v t="$tck" -v g0="$(g 0)" -v g1="$(g 1)" -v g2="$(g 2)" -v alloc="$alloc" \
        'BEGIN { printf "| %d | %s | %s | %d | %.2f | %.1f / %.1f / %.1f | %s |\n", r, name, mode, n, c / t / n * 100000, g0 / n * 100000, g1 / n * 100000, g2 / n * 100000, alloc }'
    done
  done
done
