#!/usr/bin/env bash
# Load test: Lifeline's scoring service vs the original FastAPI + scikit-learn stack, same machine, same run,
# same wrk settings (1 thread, CONNECTIONS connections, DURATION), POST /score-lead with the peer's post.lua body.
# Ours runs twice: without sinks (--no-sinks) and with the JSON-lines prediction and audit sinks behind the durable
# spool (the default: every 200 is in <sink-dir>/spool before it is sent). For each run it reports wrk's non-2xx count,
# and for the sink run it compares the predictions answered 200 (the service's own counter, read from /metrics before
# the stop) with the lines in predictions.jsonl after a graceful stop, and the 503s of back-pressure.
# Usage: bench/scoring-vs-fastapi.sh [DURATION=15s] [CONNECTIONS=16]   (prints a markdown table for docs/benchmarks.md)
# SKIP_PEER=1 runs ours only (a smoke test of the script; the ratios to the peer are then left out).
# Ports: peer 8799, ours 5210. Needs apt (installs python3-fastapi python3-uvicorn python3-sklearn wrk when missing).
set -euo pipefail
dur=${1:-15s}; conns=${2:-16}
root=$(cd "$(dirname "$0")/.." && pwd)
peer=${PEER_DIR:-$(cd "$root/.." && pwd)/shared/peers/fastapi-baseline}
[ -x "$peer/run.sh" ] || peer=/work/shared/peers/fastapi-baseline
port=5210

skip_peer=${SKIP_PEER:-0}
if ! command -v wrk >/dev/null || { [ "$skip_peer" != 1 ] && ! /usr/bin/python3 -c 'import fastapi, uvicorn, sklearn' 2>/dev/null; }; then
  packages="wrk"; [ "$skip_peer" = 1 ] || packages="python3-fastapi python3-uvicorn python3-sklearn wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$root/src/Lifeline.Cli" -c Release -v q -nologo >/dev/null
lifeline="$root/src/Lifeline.Cli/bin/Release/net10.0/lifeline"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
(cd "$work" && "$lifeline" train --model-dir models >/dev/null)

summary() { # wrk output on stdin -> "rps p50 p99"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps, p50, p99}'
}
to_ms() { # 1.23ms | 456.00us | 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v+0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } else print v }'
}

non2xx() { # wrk output on stdin -> non-2xx/3xx responses plus socket errors (0 when wrk prints none)
  awk '/Non-2xx or 3xx responses:/ {n+=$NF} /Socket errors:/ {gsub(/,/, ""); n+=$4+$6+$8+$10} END {print n+0}'
}
metric() { # $1 = file of /metrics text, $2 = metric line prefix -> value (0 when absent)
  awk -v m="$2" 'index($0, m) == 1 {v=$NF} END {print v+0}' "$1"
}

run_ours() { # $1 = name, $2 = extra serve arguments (word-split on purpose)
  (cd "$work" && exec "$lifeline" scoring serve --model-dir models --urls "http://127.0.0.1:$port" $2 >"$work/serve-$1.log" 2>&1) &
  server=$!
  for _ in $(seq 100); do curl -sf "127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.2; done
  wrk -t1 -c"$conns" -d3s -s "$peer/post.lua" "http://127.0.0.1:$port/score-lead" >/dev/null   # warm-up (JIT, tiered PGO)
  wrk -t1 -c"$conns" -d"$dur" --latency -s "$peer/post.lua" "http://127.0.0.1:$port/score-lead"
  curl -sf "127.0.0.1:$port/metrics" >"$work/metrics-$1.txt" || true
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""   # graceful stop: the spool drains into the sink
}

load_before=$(uptime | sed 's/.*load average/load average/')
echo "== peer: FastAPI + scikit-learn (uvicorn, 1 worker)" >&2
if [ "$skip_peer" = 1 ]; then
  peer_out="    Latency Distribution
     50%    0us
     99%    0us
  0 requests in 0s
Requests/sec: 0"
else
  peer_out=$("$peer/run.sh" 8799 "$dur" "$conns")
fi
echo "$peer_out" >&2
echo "== ours: lifeline scoring serve --no-sinks" >&2
ours_out=$(run_ours nosinks --no-sinks)
echo "$ours_out" >&2
echo "== ours: lifeline scoring serve with sinks (durable spool -> predictions.jsonl, audit_logs.jsonl)" >&2
sinks_out=$(run_ours sinks "--sink-dir $work/sinks")
echo "$sinks_out" >&2
lines=$(wc -l <"$work/sinks/predictions.jsonl" 2>/dev/null || echo 0)
answered=$(metric "$work/metrics-sinks.txt" 'lifeline_scoring_requests_total{endpoint="score-lead",status="200"}')
rejected=$(metric "$work/metrics-sinks.txt" 'lifeline_scoring_spool_rejected_total{sink="predictions"}')

read -r prps pp50 pp99 <<<"$(echo "$peer_out" | summary)"
read -r orps op50 op99 <<<"$(echo "$ours_out" | summary)"
read -r srps sp50 sp99 <<<"$(echo "$sinks_out" | summary)"
pbad=$(echo "$peer_out" | non2xx); obad=$(echo "$ours_out" | non2xx); sbad=$(echo "$sinks_out" | non2xx)
row() { # name rps p50 p99 non2xx
  awk -v n="$1" -v r="$2" -v a="$(to_ms "$3")" -v b="$(to_ms "$4")" -v e="$5" -v pr="$prps" -v pb="$(to_ms "$pp99")" \
    'BEGIN { if (pr > 0 && b > 0) printf "| %s | %.0f | %.2f | %.2f | %d | %.1f× | %.1f× |\n", n, r, a, b, e, r/pr, pb/b;
             else printf "| %s | %.0f | %.2f | %.2f | %d | – | – |\n", n, r, a, b, e }'
}
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
echo "Load: before the run $load_before; after it $(uptime | sed 's/.*load average: *//'); wrk -t1 -c$conns -d$dur, POST /score-lead (post.lua)"
echo
echo "| service | requests/s | p50 ms | p99 ms | non-2xx | rps vs peer | p99 peer/ours |"
echo "|---|---:|---:|---:|---:|---:|---:|"
[ "$skip_peer" = 1 ] || row "FastAPI + scikit-learn (peer)" "$prps" "$pp50" "$pp99" "$pbad"
row "Lifeline scoring, no sinks" "$orps" "$op50" "$op99" "$obad"
row "Lifeline scoring, durable spool + JSON-lines sinks" "$srps" "$sp50" "$sp99" "$sbad"
echo
verdict=$([ "$answered" -eq "$lines" ] && echo "answered = recorded" || echo "MISMATCH: answered != recorded")
echo "With sinks (warm-up and run): $answered predictions answered 200, $lines lines in predictions.jsonl after a graceful"
echo "stop ($verdict); $rejected requests answered 503 by back-pressure (spool at its disk budget)."
