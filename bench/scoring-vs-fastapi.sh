#!/usr/bin/env bash
# Load test: Lifeline's scoring service vs the original FastAPI + scikit-learn stack, same machine, same run.
#
# Part 1, saturation (closed loop, wrk -t1 -cCONNECTIONS -dDURATION, POST /score-lead with the peer's post.lua body):
# three services, the peer, ours without sinks (--no-sinks) and ours with the JSON-lines prediction and audit sinks
# behind the durable spool (the default: every 200 is in <sink-dir>/spool before it is sent). Every service gets the
# same 3 s wrk warm-up before its measured run. RUNS rounds; the order of the three alternates between rounds
# (peer first in odd rounds, last in even ones), and the summary gives every round and the median, never the best.
# For every measured run it counts wrk's non-2xx answers and socket errors (connect, read, write, timeout), and for the
# sink runs it compares the requests wrk saw answered 2xx (warm-up + run: requests - non-2xx) with the service's own
# 200 counter (/metrics before the stop) and with the lines in predictions.jsonl after a graceful stop.
#
# Part 2, fixed rate (open loop, bench/Lifeline.OpenLoop): at RATE_FRACTION (0.9) of the peer's median saturated
# throughput, the peer and ours with the durable spool, alternating the order per round; latency from each request's
# scheduled send time (queueing included), exact percentiles. The generator's own send lag is printed beside it.
#
# GC: for ours, the GC pause total and collection counts from /metrics after each run (lifeline_scoring_gc_*).
#
# Usage: bench/scoring-vs-fastapi.sh [DURATION=15s] [CONNECTIONS=16] [RUNS=3]   (prints markdown for docs/benchmarks.md)
# Environment: SKIP_PEER=1 runs ours only (a smoke test; ratios and the fixed-rate part then use RATE=...);
#   RATE=N fixes the open-loop rate instead of 0.9 x the peer's; OPEN_LOOP=0 skips part 2; RATE_FRACTION=0.9.
# Ports: peer 8799, ours 5210. Needs apt (installs python3-fastapi python3-uvicorn python3-sklearn wrk when missing).
set -euo pipefail
dur=${1:-15s}; conns=${2:-16}; runs=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
peer=${PEER_DIR:-$(cd "$root/.." && pwd)/shared/peers/fastapi-baseline}
[ -f "$peer/app.py" ] || peer=/work/shared/peers/fastapi-baseline
port=5210; peer_port=8799
skip_peer=${SKIP_PEER:-0}; open_loop=${OPEN_LOOP:-1}; fraction=${RATE_FRACTION:-0.9}
dur_s=$(awk -v d="$dur" 'BEGIN { if (d ~ /m$/) { sub(/m$/, "", d); print d*60 } else { sub(/s$/, "", d); print d+0 } }')

if ! command -v wrk >/dev/null || { [ "$skip_peer" != 1 ] && ! /usr/bin/python3 -c 'import fastapi, uvicorn, sklearn' 2>/dev/null; }; then
  packages="wrk"; [ "$skip_peer" = 1 ] || packages="python3-fastapi python3-uvicorn python3-sklearn wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$root/src/Lifeline.Cli" -c Release -v q -nologo >/dev/null
dotnet build "$root/bench/Lifeline.OpenLoop" -c Release -v q -nologo >/dev/null
lifeline="$root/src/Lifeline.Cli/bin/Release/net10.0/lifeline"
openloop="$root/bench/Lifeline.OpenLoop/bin/Release/net10.0/Lifeline.OpenLoop.dll"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
(cd "$work" && "$lifeline" train --model-dir models >/dev/null)

summary() { # wrk output on stdin -> "rps p50 p99"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps+0, p50, p99}'
}
to_ms() { # 1.23ms | 456.00us | 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v+0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } else print v+0 }'
}
non2xx() { # wrk output on stdin -> non-2xx/3xx responses (0 when wrk prints none)
  awk '/Non-2xx or 3xx responses:/ {n+=$NF} END {print n+0}'
}
sockerr() { # wrk output on stdin -> socket errors: connect + read + write + timeout
  awk '/Socket errors:/ {gsub(/,/, ""); n+=$4+$6+$8+$10} END {print n+0}'
}
total() { # wrk output on stdin -> requests completed ("N requests in ...")
  awk '/ requests in / {n=$1} END {print n+0}'
}
metric() { # $1 = file of /metrics text, $2 = metric line prefix -> value (0 when absent)
  awk -v m="$2" 'index($0, m) == 1 {v=$NF} END {print v+0}' "$1"
}
median() { # numbers as arguments -> median
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
wait_ready() { # $1 = url
  for _ in $(seq 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
  echo "service at $1 did not become ready" >&2; return 1
}

start_service() { # $1 = peer | nosinks | sinks, $2 = tag for files
  case "$1" in
    peer)
      (cd "$peer" && PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 -m uvicorn app:app --host 127.0.0.1 --port "$peer_port" --log-level warning >"$work/serve-$2.log" 2>&1) &
      server=$!; wait_ready "127.0.0.1:$peer_port/health"; url="http://127.0.0.1:$peer_port/score-lead" ;;
    nosinks)
      (cd "$work" && exec "$lifeline" scoring serve --model-dir models --urls "http://127.0.0.1:$port" --no-sinks >"$work/serve-$2.log" 2>&1) &
      server=$!; wait_ready "127.0.0.1:$port/health/ready"; url="http://127.0.0.1:$port/score-lead" ;;
    sinks)
      rm -rf "$work/sinks-$2"
      (cd "$work" && exec "$lifeline" scoring serve --model-dir models --urls "http://127.0.0.1:$port" --sink-dir "$work/sinks-$2" >"$work/serve-$2.log" 2>&1) &
      server=$!; wait_ready "127.0.0.1:$port/health/ready"; url="http://127.0.0.1:$port/score-lead" ;;
  esac
}
stop_service() { # $1 = kind, $2 = tag: keeps /metrics of ours, then a graceful stop (the spool drains into the sink)
  [ "$1" = peer ] || curl -sf "127.0.0.1:$port/metrics" >"$work/metrics-$2.txt" || true
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
}
gc_note() { # $1 = metrics file -> "pause X ms in N0/N1/N2 collections, M MiB allocated" (allocated: builds with the gauge)
  awk '/^lifeline_scoring_gc_pause_seconds_total/ {p=$NF} /^lifeline_scoring_gc_collections_total\{generation="0"\}/ {g0=$NF}
       /^lifeline_scoring_gc_collections_total\{generation="1"\}/ {g1=$NF} /^lifeline_scoring_gc_collections_total\{generation="2"\}/ {g2=$NF}
       /^lifeline_scoring_gc_allocated_bytes_total/ {a=$NF; has=1}
       END { printf "%.0f ms in %d/%d/%d", p*1000, g0, g1, g2; if (has) printf ", %.0f MiB allocated", a/1048576 }' "$1"
}

name() { case "$1" in peer) echo "FastAPI + scikit-learn (peer)";; nosinks) echo "Lifeline scoring, no sinks";; sinks) echo "Lifeline scoring, durable spool + JSON-lines sinks";; esac; }
services="peer nosinks sinks"; [ "$skip_peer" = 1 ] && services="nosinks sinks"
load_before=$(uptime | sed 's/.*load average: *//')
rows=""; sink_notes=""
declare -A rps_of p99_of
for r in $(seq "$runs"); do
  order=$services; [ $((r % 2)) = 0 ] && order=$(echo "$services" | tr ' ' '\n' | tac | tr '\n' ' ')
  for s in $order; do
    tag="sat-$s-$r"
    echo "== round $r: $s (saturation)" >&2
    start_service "$s" "$tag"
    warm=$(wrk -t1 -c"$conns" -d3s -s "$peer/post.lua" "$url")
    out=$(wrk -t1 -c"$conns" -d"$dur" --latency -s "$peer/post.lua" "$url")
    echo "$out" >&2
    stop_service "$s" "$tag"
    read -r rps p50 p99 <<<"$(echo "$out" | summary)"
    bad=$(echo "$out" | non2xx); serr=$(echo "$out" | sockerr)
    rps_of[$s]="${rps_of[$s]:-} $rps"; p99_of[$s]="${p99_of[$s]:-} $(to_ms "$p99")"
    gc="–"; [ "$s" = peer ] || gc=$(gc_note "$work/metrics-$tag.txt")
    rows+="| $r | $(name "$s") | $(printf '%.0f' "$rps") | $(to_ms "$p50") | $(to_ms "$p99") | $bad | $serr | $gc |"$'\n'
    if [ "$s" = sinks ]; then
      ok2xx=$(( $(echo "$warm" | total) - $(echo "$warm" | non2xx) + $(echo "$out" | total) - bad ))
      lines=$(wc -l <"$work/sinks-$tag/predictions.jsonl" 2>/dev/null || echo 0)
      answered=$(metric "$work/metrics-$tag.txt" 'lifeline_scoring_requests_total{endpoint="score-lead",status="200"}')
      rejected=$(metric "$work/metrics-$tag.txt" 'lifeline_scoring_spool_rejected_total{sink="predictions"}')
      verdict="answered = recorded"; { [ "$lines" -eq "$answered" ] && [ "$answered" -ge "$ok2xx" ]; } || verdict="**MISMATCH**"
      sink_notes+="| $r | $ok2xx | $answered | $lines | $rejected | $verdict |"$'\n'
    fi
  done
done

# shellcheck disable=SC2086
peer_rps=$( [ "$skip_peer" = 1 ] && echo 0 || median ${rps_of[peer]} )
# shellcheck disable=SC2086
peer_p99=$( [ "$skip_peer" = 1 ] && echo 0 || median ${p99_of[peer]} )

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
echo "Load average before: $load_before; after part 1: $(uptime | sed 's/.*load average: *//'). wrk -t1 -c$conns -d$dur after a 3 s warm-up for every service, POST /score-lead (post.lua), $runs rounds, order alternating."
echo
echo "Every run (GC: pause total in the process's life, warm-up included, and gen0/gen1/gen2 collections):"
echo
echo "| round | service | requests/s | p50 ms | p99 ms | non-2xx | socket errors | GC pauses |"
echo "|---:|---|---:|---:|---:|---:|---:|---|"
printf '%s' "$rows"
echo
echo "Median of the $runs rounds:"
echo
echo "| service | requests/s | p99 ms | rps vs peer | p99 peer/ours |"
echo "|---|---:|---:|---:|---:|"
for s in $services; do
  # shellcheck disable=SC2086
  m_rps=$(median ${rps_of[$s]}); m_p99=$(median ${p99_of[$s]})
  awk -v n="$(name "$s")" -v r="$m_rps" -v b="$m_p99" -v pr="$peer_rps" -v pb="$peer_p99" \
    'BEGIN { if (pr > 0 && b > 0) printf "| %s | %.0f | %.2f | %.1f× | %.1f× |\n", n, r, b, r/pr, pb/b; else printf "| %s | %.0f | %.2f | – | – |\n", n, r, b }'
done
echo
echo "Sinks: requests wrk saw answered 2xx (warm-up + run), the service's own 200 counter, lines in predictions.jsonl after"
echo "a graceful stop, 503s of back-pressure; \"answered = recorded\" when the lines equal the service's 200s and wrk saw no"
echo "more 2xx than the service counted (a 200 that reached wrk but is not recorded would break it):"
echo
echo "| round | wrk 2xx | service 200 | recorded lines | 503 back-pressure | |"
echo "|---:|---:|---:|---:|---:|---|"
printf '%s' "$sink_notes"

[ "$open_loop" = 1 ] || exit 0
rate=${RATE:-$(awk -v p="$peer_rps" -v f="$fraction" 'BEGIN { printf "%.0f", p*f }')}
if [ "$rate" -le 0 ]; then echo; echo "(fixed-rate part skipped: no peer rate; set RATE=N)"; exit 0; fi
ol_services="peer sinks"; [ "$skip_peer" = 1 ] && ol_services="sinks"
ol_rows=""
declare -A ol_p99
for r in $(seq "$runs"); do
  order=$ol_services; [ $((r % 2)) = 0 ] && order=$(echo "$ol_services" | tr ' ' '\n' | tac | tr '\n' ' ')
  for s in $order; do
    tag="ol-$s-$r"
    echo "== round $r: $s (open loop at $rate requests/s)" >&2
    start_service "$s" "$tag"
    wrk -t1 -c"$conns" -d3s -s "$peer/post.lua" "$url" >/dev/null
    line=$(dotnet "$openloop" "$url" "$rate" "$dur_s" "$conns" "$peer/post.lua" --warmup 2)
    stop_service "$s" "$tag"
    echo "$line" >&2
    get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    gc="–"; [ "$s" = peer ] || gc=$(gc_note "$work/metrics-$tag.txt")
    ol_p99[$s]="${ol_p99[$s]:-} $(get p99)"
    ol_rows+="| $r | $(name "$s") | $(get scheduled) | $(get ok) | $(( $(get non2xx) + $(get errors) + $(get unsent) )) | $(get p50) | $(get p90) | $(get p99) | $(get p999) | $(get max) | $(get lag_p99) | $gc |"$'\n'
  done
done
echo
echo "Fixed rate, open loop: $rate requests/s (${fraction} × the peer's median saturated rate unless RATE was set), $conns connections,"
echo "${dur_s} s after a 3 s wrk warm-up and 2 s of open-loop warm-up; latency from the scheduled send time. Load after: $(uptime | sed 's/.*load average: *//')."
echo
echo "| round | service | scheduled | 2xx | errors + non-2xx + not sent | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | generator lag p99 ms | GC pauses |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s' "$ol_rows"
if [ "$skip_peer" != 1 ]; then
  # shellcheck disable=SC2086
  awk -v p="$(median ${ol_p99[peer]})" -v o="$(median ${ol_p99[sinks]})" \
    'BEGIN { printf "\nMedian p99 at the fixed rate: peer %.2f ms, ours with the durable spool %.2f ms: peer/ours %.1f× (target ≥ 20×).\n", p, o, (o > 0 ? p/o : 0) }'
fi
