#!/usr/bin/env bash
# What protection costs the scoring service (issue 10: at most 5 % of its throughput under load): the same wrk load
# (1 thread, CONNECTIONS connections, DURATION, POST /score-lead) against `lifeline up --services core` (registry,
# lake, scoring: nothing protects) and `lifeline up --services all` (plus the scheduler, the change protector and the
# metrics recorder of DeploymentServices.Extra), each on a fresh data directory, ROUNDS times alternating; prints a
# markdown table and the ratio of the medians. Both modes run the recommended plan on three local vaults with the
# vault password set, so `all` replicates every commit of the predictions table while the load runs.
# Usage: bench/up-protection-cost.sh [DURATION=20s] [CONNECTIONS=16] [ROUNDS=3]   (needs wrk: apt-get install wrk)
set -euo pipefail
dur=${1:-20s}; conns=${2:-16}; rounds=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
[ "${SKIP_BUILD:-0}" = 1 ] || dotnet build "$root/src/Lifeline.Cli" -c Release -v q -nologo >/dev/null
lifeline="$root/src/Lifeline.Cli/bin/Release/net10.0/lifeline"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"lead_id":"bench","company_size":"Large","industry":"Technology","page_views":12,"time_on_site":340.5,"form_completion_time":45,"referral_source":"Google"}'
LUA

export LIFELINE_PASSWORD=bench-password   # the protection opens the plan's vaults with it (without it, it would not run)
run() { # $1 = core|all, $2 = round -> requests/s
  local dir="$work/$1-$2" data="$work/$1-$2/data"
  mkdir -p "$dir"
  # the recommended plan on three local vaults: every component on change, so `all` protects every commit
  (cd "$dir" && "$lifeline" plan init --recommended --primary ./v/a --secondary ./v/b --tertiary ./v/c >/dev/null)
  (cd "$dir" && exec "$lifeline" up --plan lifeline.yaml --services "$1" --data "$data" --registry-port 0 --scoring-port 0 --status-port 0 >"$work/up-$1-$2.log" 2>&1) &
  pid=$!
  for _ in $(seq 600); do grep -q '"ready": true' "$data/lifeline.state.json" 2>/dev/null && break; sleep 0.5; done
  local url
  url=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print([x['endpoint'] for x in s['services'] if x['name']=='scoring'][0])" "$data/lifeline.state.json")
  wrk -t1 -c"$conns" -d3s -s "$work/post.lua" "$url/score-lead" >/dev/null   # warm-up
  local out
  out=$(wrk -t1 -c"$conns" -d"$dur" -s "$work/post.lua" "$url/score-lead")
  if grep -q -E 'Non-2xx|Socket errors' <<<"$out"; then echo "round $1-$2: wrk saw errors: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
  kill -TERM "$pid"; wait "$pid" || true; pid=""
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
core=(); all=()
for r in $(seq "$rounds"); do core+=("$(run core "$r")"); all+=("$(run all "$r")"); done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mc=$(median "${core[@]}"); ma=$(median "${all[@]}")
echo "| mode | requests/s per round | median |"
echo "|---|---|---:|"
echo "| up --services core | ${core[*]} | $mc |"
echo "| up --services all | ${all[*]} | $ma |"
awk -v c="$mc" -v a="$ma" 'BEGIN { printf "protection costs %.1f %% of throughput (median all / median core = %.3f)\n", 100 * (1 - a / c), a / c }'
echo "load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); $dur x $conns connections, $rounds rounds"
