#!/usr/bin/env bash
# Requests per second and p99 latency of get-latest-versions and log-batch against `lifeline registry serve`
# on loopback, with wrk. Usage: [STORE=sqlite|postgres] bench/registry/wrk.sh [seconds] [connections]
# STORE=postgres uses the server of scripts/setup/postgres.sh (127.0.0.1:5433) in a schema of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-15}"
CONNECTIONS="${2:-16}"
PORT=5160
URL="http://127.0.0.1:$PORT"
TOKEN="bench-write-token-$$"
DATA="$(mktemp -d /tmp/lifeline-registry-wrk.XXXXXX)"
STORE="${STORE:-sqlite}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
SCHEMA=""
if [ "$STORE" = postgres ]; then
  SCHEMA="bench_$$"
  PGPASSWORD=lifeline PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -p 5433 -U lifeline lifeline_test -c "CREATE SCHEMA $SCHEMA"
  export LIFELINE_REGISTRY_POSTGRES="Host=127.0.0.1;Port=5433;Username=lifeline;Password=lifeline;Database=lifeline_test;SearchPath=$SCHEMA"
fi
dotnet build src/Lifeline.Cli -c Release -v q -nologo >/dev/null
LIFELINE_REGISTRY_WRITE_TOKEN="$TOKEN" dotnet src/Lifeline.Cli/bin/Release/net10.0/lifeline.dll registry serve --data-dir "$DATA" --urls "$URL" >"$DATA.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA" "$DATA.log"
  if [ -n "$SCHEMA" ]; then PGPASSWORD=lifeline PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -p 5433 -U lifeline lifeline_test -c "DROP SCHEMA $SCHEMA CASCADE"; fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "$URL/api/2.0/mlflow/experiments/get?experiment_id=0" >/dev/null && break; sleep 0.1; done

post() { curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$URL/api/2.0/mlflow/$1" -d "$2"; }
post registered-models/create '{"name": "bench"}' >/dev/null
for v in $(seq 1 20); do
  post model-versions/create '{"name": "bench", "source": "s3://bucket/model", "tags": [{"key": "auc", "value": "0.9"}]}' >/dev/null
  post model-versions/transition-stage "{\"name\": \"bench\", \"version\": \"$v\", \"stage\": \"$([ $((v % 2)) = 0 ] && echo Production || echo Staging)\", \"archive_existing_versions\": true}" >/dev/null
done
RUN_ID="$(post runs/create '{"experiment_id": "0", "run_name": "bench"}' | sed -E 's/.*"run_id":"([0-9a-f]+)".*/\1/')"

echo "## store: $STORE; $(date -u +%FT%TZ) $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load: $(uptime | sed 's/.*load average: //')"
echo "### get-latest-versions (GET, 20 versions, stage Production), $CONNECTIONS connections, ${DURATION}s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL/api/2.0/mlflow/registered-models/get-latest-versions?name=bench&stages=Production" | grep -E 'Requests/sec|Latency |  50%|  99%|requests in|Non-2xx|Socket errors'
echo "### log-batch (POST, 10 metrics + 1 tag per request, one run, every request distinct), $CONNECTIONS connections, ${DURATION}s"
OUT="$(RUN_ID="$RUN_ID" TOKEN="$TOKEN" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/registry/log-batch.lua "$URL")"
echo "$OUT" | grep -E 'Requests/sec|Latency |  50%|  99%|requests in|Non-2xx|Socket errors'
SENT=$(echo "$OUT" | awk '/ requests in / {print $1}')
NON2XX=$(echo "$OUT" | awk '/Non-2xx or 3xx responses:/ {n+=$NF} END {print n+0}')
OK=$((SENT - NON2XX))
STORED=0
for i in $(seq 1 10); do
  n=$(curl -sf "$URL/api/2.0/mlflow/metrics/get-history?run_id=$RUN_ID&metric_key=m$i" | grep -o '"step"' | wc -l || true)
  STORED=$((STORED + n))
done
SECONDS_RUN=$(echo "$OUT" | awk '/ requests in / {sub(/s,$/, "", $4); print $4}')
# wrk counts the answers it read before it stopped; up to one request per connection was still in flight and is
# stored too, so all is well when 10 x 2xx <= stored <= 10 x (2xx + connections).
if [ "$STORED" -ge $((OK * 10)) ] && [ "$STORED" -le $(((OK + CONNECTIONS) * 10)) ]; then VERDICT="all stored (the rest: requests in flight when wrk stopped)"; else VERDICT="MISMATCH"; fi
echo "stored: $STORED metric values; wrk read $OK answers 2xx ($NON2XX non-2xx) = $((OK * 10)) values; $VERDICT"
echo "stored metric values per second: $(awk -v s="$STORED" -v t="$SECONDS_RUN" 'BEGIN { printf "%.0f", (t > 0 ? s/t : 0) }') (over wrk's ${SECONDS_RUN}s)"
