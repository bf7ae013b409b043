#!/usr/bin/env bash
# Soak of the whole `lifeline up` deployment under mixed load (issue 12): the recommended plan on three local vaults
# with the vault password set, so every commit of the predictions table is replicated and backed up on change while
#   - scoring runs at RATE requests/s, open loop (bench/Lifeline.OpenLoop: sends on schedule whatever the answers do),
#   - a registry writer creates a run and logs a metric every second through the MLflow REST API (with a write token),
#   - the plan's backups, copies and heartbeats run by themselves (up's protection and scheduler),
# for DURATION seconds, sampling the up process every SAMPLE seconds: RSS (/proc/PID/status), the managed heap's live
# bytes after the last full GC (up's /metrics gauge lifeline_gc_live_bytes_after_last_full_gc: what a leak grows; the
# heap after the last GC of any kind, lifeline_gc_heap_after_last_gc_bytes, is kept in the CSV too, but it counts the
# dead gen2 and large objects that only a full GC frees, so it rises between full GCs without a leak), open file
# descriptors (/proc/PID/fd), threads, and up's CPU time (utime+stime of /proc/PID/stat, in clock ticks: per-process
# CPU time is little affected by other load), and the vault pool's idle buffers at the last full GC
# (lifeline_vault_pool_idle_bytes_at_last_full_gc: live to the GC, not objects in use). bench/Lifeline.SoakPlot fits a line to each series after a 20 % warm-up and says whether it is flat (the
# bound is in its header: memory rises < 5 % of its mean over the window, fds and threads < 2), and draws docs/soak.png.
# Prints the table for docs/benchmarks.md, the load generator's summary and the registry writer's counts.
# With TRACE_POOLS_AT=SECONDS, traces up's ArrayPool events for 40 s from that second of the run (dotnet-trace, in
# ~/.dotnet/tools) and prints, per renter, the large buffers rented and those the pools had to allocate afresh
# (bench/Lifeline.PoolTrace): how the soak's large-object churn was found (docs/benchmarks.md, "Soak").
# With DUMPS_AT=S1,S2 (seconds of the run; pick the same phase of the 10-minute compaction cycle, e.g. 675,3075),
# takes a full heap dump of up at each (dotnet-dump, in ~/.dotnet/tools; each freezes up for a few seconds, so the
# latency tail of such a run is not a figure) with up's RssAnon/RssFile/RssShmem at that moment, and prints the
# reachable objects' growth between the first and the last by type, and by string content (`dumpheap -stat -live`
# and `dumpheap -strings -live`, digits folded): what the live heap's slope is made of.
# With MAINTENANCE='{ forget: "*/2 * * * *", prune: "*/10 * * * *" }' the plan gets that `maintenance:` section (up's
# retention and prune jobs, docs/plan.md), and the summary counts every job's runs by outcome and the failed backups
# in the audit: what the maintenance jobs' exclusive locks cost the backups running on change meanwhile.
# Usage: bench/soak.sh [DURATION=600] [RATE=4000] [SAMPLE=5] [PNG=docs/soak.png]   (one hour: bench/soak.sh 3600)
set -euo pipefail
duration=${1:-600}; rate=${2:-4000}; sample=${3:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
png=${4:-$root/docs/soak.png}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  for p in src/Lifeline.Cli bench/Lifeline.OpenLoop bench/Lifeline.SoakPlot ${TRACE_POOLS_AT:+bench/Lifeline.PoolTrace}; do dotnet build "$root/$p" -c Release -v q -nologo >/dev/null; done
fi
lifeline="$root/src/Lifeline.Cli/bin/Release/net10.0/lifeline"
openloop="$root/bench/Lifeline.OpenLoop/bin/Release/net10.0/Lifeline.OpenLoop.dll"
plot="$root/bench/Lifeline.SoakPlot/bin/Release/net10.0/Lifeline.SoakPlot.dll"
work=$(mktemp -d)
pid=""; writer=""
cleanup() { [ -n "$writer" ] && kill "$writer" 2>/dev/null; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

export LIFELINE_PASSWORD=soak-password LIFELINE_REGISTRY_WRITE_TOKEN=soak-write-token
(cd "$work" && "$lifeline" plan init --recommended --primary ./v/a --secondary ./v/b --tertiary ./v/c >/dev/null)
[ -n "${MAINTENANCE:-}" ] && printf 'maintenance: %s\n' "$MAINTENANCE" >>"$work/lifeline.yaml"
(cd "$work" && exec "$lifeline" up --plan lifeline.yaml --data "$work/data" --registry-port 0 --scoring-port 0 --status-port 0 >"$work/up.log" 2>&1) &
pid=$!
for _ in $(seq 600); do grep -q '"ready": true' "$work/data/lifeline.state.json" 2>/dev/null && break; kill -0 "$pid" || { cat "$work/up.log"; exit 1; }; sleep 0.5; done
grep -q '"ready": true' "$work/data/lifeline.state.json" || { echo "up did not become ready" >&2; tail -20 "$work/up.log" >&2; exit 1; }
endpoint() { jq -r --arg n "$1" '.services[] | select(.name == $n) | .endpoint' "$work/data/lifeline.state.json"; }
scoring=$(endpoint scoring); registry=$(endpoint registry); status=$(jq -r '.statusUrl' "$work/data/lifeline.state.json")
cat >"$work/body.json" <<'JSON'
{"lead_id":"soak","company_size":"Large","industry":"Technology","page_views":12,"time_on_site":340.5,"form_completion_time":45,"referral_source":"Google"}
JSON

# the registry writer: a run and a metric a second, counting what the registry refused
( ok=0; failed=0
  while :; do
    run=$(curl -s -m 5 -H "Authorization: Bearer $LIFELINE_REGISTRY_WRITE_TOKEN" -H 'Content-Type: application/json' \
      -d '{"experiment_id":"0"}' "$registry/api/2.0/mlflow/runs/create" | jq -r '.run.info.run_id // empty' 2>/dev/null || true)
    if [ -n "$run" ] && curl -sf -m 5 -o /dev/null -H "Authorization: Bearer $LIFELINE_REGISTRY_WRITE_TOKEN" -H 'Content-Type: application/json' \
      -d "{\"run_id\":\"$run\",\"key\":\"soak\",\"value\":1,\"timestamp\":$(date +%s%3N),\"step\":0}" "$registry/api/2.0/mlflow/runs/log-metric"; then
      ok=$((ok + 1)); else failed=$((failed + 1)); fi
    echo "$ok $failed" >"$work/writer.count"
    sleep 1
  done ) &
writer=$!

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dotnet "$openloop" "$scoring/score-lead" "$rate" "$duration" 16 "$work/body.json" >"$work/openloop.out" 2>"$work/openloop.err" &
load=$!
echo "seconds,rss_bytes,live_after_full_gc_bytes,fds,threads,cpu_ticks,heap_after_any_gc_bytes,pool_idle_at_full_gc_bytes" >"$work/samples.csv"
started=$(date +%s); tracer=""; dumps=(${DUMPS_AT:+${DUMPS_AT//,/ }}); dumped=0
while kill -0 "$load" 2>/dev/null; do
  if [ -n "${TRACE_POOLS_AT:-}" ] && [ -z "$tracer" ] && [ $(( $(date +%s) - started )) -ge "$TRACE_POOLS_AT" ]; then
    ~/.dotnet/tools/dotnet-trace collect -p "$pid" --providers System.Buffers.ArrayPoolEventSource:0xFFFFFFFF:5 --duration 00:00:00:40 -o "$work/pools.nettrace" >"$work/trace.log" 2>&1 &
    tracer=$!
  fi
  if [ "$dumped" -lt "${#dumps[@]}" ] && [ $(( $(date +%s) - started )) -ge "${dumps[$dumped]}" ]; then
    at=${dumps[$dumped]}
    echo "second $at: $(grep -E '^Rss(Anon|File|Shmem)' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')" >>"$work/dumps.txt"
    ~/.dotnet/tools/dotnet-dump collect -p "$pid" --type Heap -o "$work/up-$at.dmp" >/dev/null 2>&1 || echo "second $at: dump failed" >>"$work/dumps.txt"
    dumped=$((dumped + 1))
  fi
  # an up that died ends the sampling (the summary below says so); a sample that fails to read is skipped
  kill -0 "$pid" 2>/dev/null || { echo "up (pid $pid) ended during the soak; last lines of its log:" >&2; tail -20 "$work/up.log" >&2; break; }
  rss=$(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$pid/status" 2>/dev/null || true)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true)
  metrics=$(curl -s -m 5 "$status/metrics" || true)
  live=$(awk '/^lifeline_gc_live_bytes_after_last_full_gc / {printf "%.0f", $2}' <<<"$metrics")
  heap=$(awk '/^lifeline_gc_heap_after_last_gc_bytes / {printf "%.0f", $2}' <<<"$metrics")
  pool=$(awk '/^lifeline_vault_pool_idle_bytes_at_last_full_gc / {printf "%.0f", $2}' <<<"$metrics")
  # 0 before up's first full GC: not a sample of the live heap yet
  [ "${live:-0}" = 0 ] && live=NaN
  [ -n "$rss" ] && [ -n "$ticks" ] && echo "$(date +%s),$rss,${live:-NaN},$fds,$threads,$ticks,${heap:-NaN},${pool:-NaN}" >>"$work/samples.csv"
  sleep "$sample"
done
kill "$load" 2>/dev/null || true; wait "$load" || true
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null || true; writer=""
code=0; kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || code=$?; pid=""
if [ -n "${MAINTENANCE:-}" ]; then
  echo "scheduled runs by job and outcome (jobs history):"
  (cd "$work" && "$lifeline" --json jobs history --limit 100000 --scheduler-store "$work/data/scheduler/jobs.db") \
    | jq -r '.runs | group_by(.job + " " + .outcome)[] | "  \(.[0].job) \(.[0].outcome): \(length)"'
  echo "backups in the audit by outcome (the on-change ones included):"
  (cd "$work" && "$lifeline" --json audit --plan lifeline.yaml) \
    | jq -r '[.records[] | select(.action == "backup")] | group_by(.outcome)[] | "  \(.[0].outcome): \(length)"'
fi

echo "soak $(date -u '+%Y-%m-%d %H:%M') UTC, ${duration}s at $rate requests/s, sampled every ${sample}s; load before $load_before, after $load_after; up's SIGTERM exit $code"
dotnet "$plot" "$work/samples.csv" "$png" || true
echo "scoring (open loop): $(cat "$work/openloop.out")"
read -r wok wfailed <"$work/writer.count" || true
echo "registry writer: ${wok:-0} runs with a metric stored, ${wfailed:-0} refused or failed"
cp "$work/samples.csv" "${png%.png}.csv"
if [ "${#dumps[@]}" -ge 2 ]; then
  first=${dumps[0]}; last=${dumps[$((${#dumps[@]} - 1))]}
  cat "$work/dumps.txt"
  for at in "$first" "$last"; do
    # a dump that cannot be read is said, not fatal: the run's table above stands
    ~/.dotnet/tools/dotnet-dump analyze "$work/up-$at.dmp" -c "dumpheap -stat -live" -c exit >"$work/stat-$at.txt" 2>&1 || echo "second $at: dumpheap -stat failed: $(tail -1 "$work/stat-$at.txt")"
    ~/.dotnet/tools/dotnet-dump analyze "$work/up-$at.dmp" -c "eeheap -gc" -c exit >"$work/eeheap-$at.txt" 2>&1 || echo "second $at: eeheap failed"
    ~/.dotnet/tools/dotnet-dump analyze "$work/up-$at.dmp" -c "dumpheap -strings -live" -c exit >"$work/strings-$at.txt" 2>&1 || echo "second $at: dumpheap -strings failed"
    echo "second $at: $(grep -E '^Total [0-9,]+ objects' "$work/stat-$at.txt" | tail -1 || true); $(grep -E 'GC Committed Heap Size' "$work/eeheap-$at.txt" | tail -1 | tr -s ' ' || true)"
  done
  # the rows of `dumpheap -stat` are "MT count bytes type"; of `dumpheap -strings`, "count bytes text"
  diffrows() { awk -v keycol="$1" -v bytecol="$2" -v countcol="$3" '
    function key() { k = ""; for (i = keycol; i <= NF; i++) k = k (i > keycol ? " " : "") $i; if (fold) { gsub(/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]+/, "H", k); gsub(/[0-9]+/, "N", k) } return substr(k, 1, 160) }
    $bytecol ~ /^[0-9,]+$/ && $countcol ~ /^[0-9,]+$/ { b = $bytecol; c = $countcol; gsub(",", "", b); gsub(",", "", c); if (FNR == NR) { B[key()] -= b; C[key()] -= c } else { B[key()] += b; C[key()] += c } }
    END { for (k in B) if (B[k] != 0) printf "%+12d %+8d  %s\n", B[k], C[k], k }' fold="$4" "$5" "$6" | sort -n | tail -25; }
  echo "reachable growth from second $first to $last by type (bytes, objects, type):"
  diffrows 4 3 2 0 "$work/stat-$first.txt" "$work/stat-$last.txt"
  echo "reachable growth of the strings by content, digits folded (bytes, strings, text):"
  diffrows 3 2 1 1 "$work/strings-$first.txt" "$work/strings-$last.txt"
fi
if [ -n "${tracer:-}" ]; then
  wait "$tracer" || true
  echo "large buffers rented and allocated afresh over the 40 s traced from second $TRACE_POOLS_AT:"
  dotnet "$root/bench/Lifeline.PoolTrace/bin/Release/net10.0/Lifeline.PoolTrace.dll" "$work/pools.nettrace" 1048576 40 || cat "$work/trace.log"
fi
