#!/usr/bin/env bash
# Side-by-side benchmark: lifeline vault vs restic (Debian) on the shared 1 GiB data set, one run.
# lifeline runs as its apphost, published Release with ReadyToRun (what a deployment would ship);
# restic is Debian's package, run with --no-cache.
# Phases: full backup, unchanged re-backup, changed re-backup (after --mutate 5 of the same tree), restore (+ sync),
# check --read-data, repository size, peak memory (max RSS from /usr/bin/time -v); plus `cp -r` + `sync` of the tree;
# copy to another location (a fresh repository with the source's chunker parameters: lifeline vault copy vs restic
# copy vs `cp -r` + `sync` of the lifeline repository, and in-process with its stage times).
# Usage: bench/vault-vs-restic.sh [--mib N]     (default 1024; results: markdown table on stdout and in $WORK/results.md)
# Environment: BENCH_DIR (default /var/tmp/lifeline-bench: the data set is cached there), MAKE_DATASET (path of
# make-dataset.py; default ../shared/bench/make-dataset.py next to the repository, then /work/shared/bench/...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MIB=1024
if [ "${1:-}" = "--mib" ]; then MIB=$2; fi
BENCH_DIR=${BENCH_DIR:-/var/tmp/lifeline-bench}
MAKE_DATASET=${MAKE_DATASET:-}
for candidate in "$MAKE_DATASET" "$ROOT/../shared/bench/make-dataset.py" /work/shared/bench/make-dataset.py; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then MAKE_DATASET=$candidate; break; fi
done
[ -f "$MAKE_DATASET" ] || { echo "make-dataset.py not found: set MAKE_DATASET" >&2; exit 2; }

# --- tools ---
need_apt=()
command -v restic >/dev/null || need_apt+=(restic)
[ -x /usr/bin/time ] || need_apt+=(time)
# native Argon2id and zstd for lifeline (it falls back to managed code without them, slower)
ldconfig -p | grep -q 'libargon2\.so\.1 ' || need_apt+=(libargon2-1)
ldconfig -p | grep -q 'libzstd\.so\.1 ' || need_apt+=(libzstd1)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
echo "== publishing lifeline (Release, ReadyToRun, framework-dependent) into $BENCH_DIR/lifeline-bin" >&2
mkdir -p "$BENCH_DIR"
dotnet publish src/Lifeline.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -nologo -v q -o "$BENCH_DIR/lifeline-bin" >/dev/null
LIFELINE=$BENCH_DIR/lifeline-bin/lifeline
[ -x "$LIFELINE" ] || { echo "apphost not found at $LIFELINE" >&2; exit 1; }

# --- data set (cached) ---
mkdir -p "$BENCH_DIR"
DATA=$BENCH_DIR/data-$MIB
if [ ! -f "$DATA/.complete" ]; then
  echo "== generating $MIB MiB data set in $DATA (cached for later runs)" >&2
  rm -rf "$DATA"
  python3 "$MAKE_DATASET" "$DATA" --mib "$MIB"
  touch "$DATA/.complete"
fi

WORK=$BENCH_DIR/run-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$WORK"
trap 'rm -rf "$WORK/tree" "$WORK/cp-copy" "$WORK/restic-restore" "$WORK/lifeline-restore" "$WORK/restic-repo" "$WORK/lifeline-repo" "$WORK/inproc-repo" "$WORK/inproc-restore"' EXIT
TREE=$WORK/tree
cp -a "$DATA" "$TREE"
rm -f "$TREE/.complete"

export RESTIC_PASSWORD=bench-password RESTIC_REPOSITORY=$WORK/restic-repo
export LIFELINE_PASSWORD=bench-password LIFELINE_REPO=$WORK/lifeline-repo
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

DROP="no (not permitted in this container)"
drop_caches() {
  sync
  if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then DROP="yes"; fi
}

declare -A SECS RSS
# measure KEY command... : wall seconds and max RSS (MB) of one command (after dropping the page cache if allowed)
measure() {
  local key=$1; shift
  drop_caches
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/time-$key.txt" "$@" >"$WORK/out-$key.txt" 2>&1 || { echo "FAILED: $key: $*" >&2; cat "$WORK/out-$key.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  SECS[$key]=$(echo "$end - $start" | bc -l)
  RSS[$key]=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/time-$key.txt")
  printf '%-28s %8.2f s %6s MB\n' "$key" "${SECS[$key]}" "${RSS[$key]}" >&2
}

LOAD_START=$(uptime | sed 's/.*load average/load average/')
echo "== $(date -u '+%Y-%m-%d %H:%M') UTC, $LOAD_START" >&2
restic init >/dev/null
"$LIFELINE" vault init >/dev/null

measure restic-full restic backup --no-cache -q "$TREE"
measure lifeline-full "$LIFELINE" vault backup "$TREE"
measure restic-unchanged restic backup --no-cache -q "$TREE"
measure lifeline-unchanged "$LIFELINE" vault backup "$TREE"
python3 "$MAKE_DATASET" "$TREE" --mib "$MIB" --mutate 5 >/dev/null
measure restic-changed restic backup --no-cache -q "$TREE"
measure lifeline-changed "$LIFELINE" vault backup "$TREE"
measure cp-sync sh -c "cp -r '$TREE' '$WORK/cp-copy' && sync"
measure restic-restore sh -c "restic restore --no-cache latest --target '$WORK/restic-restore' >/dev/null && sync"
measure lifeline-restore sh -c "'$LIFELINE' vault restore latest --target '$WORK/lifeline-restore' >/dev/null && sync"
measure restic-open restic snapshots --no-cache -q
measure lifeline-open "$LIFELINE" vault snapshots
measure restic-check restic check --no-cache --read-data
measure lifeline-check "$LIFELINE" vault check --read-data

# Copy to another location (what keeps the second region current), each into a fresh repository that has the
# source's chunker parameters, cold cache: restic copy, lifeline vault copy (every blob decrypted, authenticated and
# hashed against its id before it is written), and the floor, `cp -r` + `sync` of the lifeline repository.
RESTIC_FROM_PASSWORD=$RESTIC_PASSWORD restic init --repo "$WORK/restic-copy" --from-repo "$WORK/restic-repo" --copy-chunker-params >/dev/null
LIFELINE_FROM_PASSWORD=$LIFELINE_PASSWORD LIFELINE_REPO=$WORK/lifeline-copy "$LIFELINE" vault init --from "$WORK/lifeline-repo" >/dev/null
# a second location that shares the master key (what `up` creates when one password serves every location): verified
# packs are sent as they are; and a re-encrypting copy that also decompresses and hashes every blob's plaintext
LIFELINE_FROM_PASSWORD=$LIFELINE_PASSWORD LIFELINE_REPO=$WORK/lifeline-copy-samekey "$LIFELINE" vault init --from-repo "$WORK/lifeline-repo" --copy-master-key >/dev/null
LIFELINE_FROM_PASSWORD=$LIFELINE_PASSWORD LIFELINE_REPO=$WORK/lifeline-copy-plaintext "$LIFELINE" vault init --from-repo "$WORK/lifeline-repo" >/dev/null
measure cp-repo-sync sh -c "cp -r '$WORK/lifeline-repo' '$WORK/cp-repo' && sync"
measure restic-copy env RESTIC_FROM_PASSWORD="$RESTIC_PASSWORD" restic --repo "$WORK/restic-copy" copy --no-cache -q --from-repo "$WORK/restic-repo"
measure lifeline-copy env LIFELINE_TO_PASSWORD="$LIFELINE_PASSWORD" "$LIFELINE" vault copy --to "$WORK/lifeline-copy"
LIFELINE_REPO=$WORK/lifeline-copy "$LIFELINE" vault check --read-data >/dev/null || { echo "the lifeline copy does not check" >&2; exit 1; }
measure lifeline-copy-samekey env LIFELINE_TO_PASSWORD="$LIFELINE_PASSWORD" "$LIFELINE" vault copy --to "$WORK/lifeline-copy-samekey"
LIFELINE_REPO=$WORK/lifeline-copy-samekey "$LIFELINE" vault check --read-data >/dev/null || { echo "the shared-key lifeline copy does not check" >&2; exit 1; }
measure lifeline-copy-plaintext env LIFELINE_TO_PASSWORD="$LIFELINE_PASSWORD" "$LIFELINE" vault copy --verify-plaintext --to "$WORK/lifeline-copy-plaintext"
# the command's fixed cost without a repository: process start and argument parsing (no key derivation)
measure lifeline-start "$LIFELINE" --version
rm -rf "$WORK/cp-repo" "$WORK/restic-copy" "$WORK/lifeline-copy" "$WORK/lifeline-copy-samekey" "$WORK/lifeline-copy-plaintext"

# In-process (as `lifeline up` runs a backup: no process start; the key derivation timed apart, never weakened):
# a full backup into a fresh repository and then an unchanged re-backup, each after dropping the page cache, with the
# per-stage times of the backup engine.
dotnet build "$ROOT/bench/Lifeline.Benchmarks" -c Release -v q -nologo >/dev/null
INPROC="$ROOT/bench/Lifeline.Benchmarks/bin/Release/net10.0/Lifeline.Benchmarks.dll"
LIFELINE_REPO=$WORK/inproc-repo "$LIFELINE" vault init >/dev/null
measure inproc-full dotnet "$INPROC" vault-backup "$WORK/inproc-repo" "$TREE"
measure inproc-unchanged dotnet "$INPROC" vault-backup "$WORK/inproc-repo" "$TREE"
# the restore's stage times (in-process helper, no check): where its time goes against cp -r + sync
measure inproc-restore sh -c "dotnet '$INPROC' vault-restore '$WORK/inproc-repo' '$WORK/inproc-restore' --no-check && sync"
# In-process copy (as `lifeline up` keeps its second location current): into a fresh vault with the source's chunker
# parameters (re-encrypting every verified blob), then into one that also shares the master key (whole verified packs
# written as they are); each prints its copy time, CPU seconds and stage times.
measure inproc-copy dotnet "$INPROC" vault-copy "$WORK/lifeline-repo" "$WORK/inproc-copy"
measure inproc-copy-samekey env VAULT_COPY_SAME_KEY=1 dotnet "$INPROC" vault-copy "$WORK/lifeline-repo" "$WORK/inproc-copy"
rm -rf "$WORK/inproc-copy"
inproc() { sed -n "s/^inproc $2=\([0-9.]*\).*/\1/p; s/^inproc .* $2=\([0-9.]*\).*/\1/p" "$WORK/out-inproc-$1.txt" | head -1; }

# the restores must equal the tree (content); lifeline's also keeps modification times
diff -r "$TREE" "$WORK/lifeline-restore/tree" >/dev/null || { echo "lifeline restore differs from the tree" >&2; exit 1; }
diff -r "$TREE" "$WORK/restic-restore$TREE" >/dev/null || { echo "restic restore differs from the tree" >&2; exit 1; }

RESTIC_SIZE=$(du -sb "$WORK/restic-repo" | cut -f1)
LIFELINE_SIZE=$(du -sb "$WORK/lifeline-repo" | cut -f1)
peak() { local m=0; for k in full unchanged changed restore check; do v=${RSS[$1-$k]}; [ "$v" -gt "$m" ] && m=$v; done; echo "$m"; }
RESTIC_PEAK=$(peak restic)
LIFELINE_PEAK=$(peak lifeline)

ratio() { echo "scale=2; $1 / $2" | bc -l; }
# CPU seconds (user + system) of a measured command, from /usr/bin/time -v
cpu() { awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$WORK/time-$1.txt"; }
verdict() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo "met"; else echo "missed"; fi; }
{
  echo "| phase | restic | lifeline | lifeline / restic | target | |"
  echo "|---|---:|---:|---:|---|---|"
  for phase in full unchanged changed; do
    r=${SECS[restic-$phase]}; l=${SECS[lifeline-$phase]}
    case $phase in
      full) name="full backup"; target="≤ 0.5× restic"; ok=$(verdict "$l <= $r * 0.5");;
      unchanged) name="unchanged re-backup"; target="≤ 0.5× restic"; ok=$(verdict "$l <= $r * 0.5");;
      changed) name="changed re-backup (--mutate 5)"; target="—"; ok="";;
    esac
    printf '| %s | %.2f s | %.2f s | %s | %s | %s |\n' "$name" "$r" "$l" "$(ratio "$l" "$r")" "$target" "$ok"
  done
  r=${SECS[restic-restore]}; l=${SECS[lifeline-restore]}; c=${SECS[cp-sync]}
  printf '| restore + sync | %.2f s | %.2f s | %s | ≤ 1.2× cp -r + sync (%.2f s): lifeline %s× | %s |\n' "$r" "$l" "$(ratio "$l" "$r")" "$c" "$(ratio "$l" "$c")" "$(verdict "$l <= $c * 1.2")"
  r=${SECS[restic-check]}; l=${SECS[lifeline-check]}
  printf '| check --read-data | %.2f s | %.2f s | %s | ≤ restic | %s |\n' "$r" "$l" "$(ratio "$l" "$r")" "$(verdict "$l <= $r")"
  r=${SECS[restic-open]}; l=${SECS[lifeline-open]}
  printf '| open + list snapshots (start-up, key derivation) | %.2f s | %.2f s | %s | — (part of every command) | |\n' "$r" "$l" "$(ratio "$l" "$r")"
  printf '| repository size | %s MB | %s MB | %s | ≤ restic | %s |\n' "$((RESTIC_SIZE / 1000000))" "$((LIFELINE_SIZE / 1000000))" "$(ratio "$LIFELINE_SIZE" "$RESTIC_SIZE")" "$(verdict "$LIFELINE_SIZE <= $RESTIC_SIZE")"
  printf '| peak memory (max RSS of all phases) | %s MB | %s MB | %s | < 300 MB | %s |\n' "$RESTIC_PEAK" "$LIFELINE_PEAK" "$(ratio "$LIFELINE_PEAK" "$RESTIC_PEAK")" "$(verdict "$LIFELINE_PEAK < 300")"
  printf '| `cp -r` + `sync` of the tree | %.2f s | | | | |\n' "${SECS[cp-sync]}"
  r=${SECS[restic-copy]}; l=${SECS[lifeline-copy]}; c=${SECS[cp-repo-sync]}
  printf '| copy to a fresh location (command), re-encrypting | %.2f s | %.2f s (%s s CPU) | %s | ≤ 2× cp -r + sync of the repository (%.2f s): lifeline %s× | %s |\n' "$r" "$l" "$(cpu lifeline-copy)" "$(ratio "$l" "$r")" "$c" "$(ratio "$l" "$c")" "$(verdict "$l <= $c * 2")"
  for k in copy-samekey copy-plaintext; do
    l=${SECS[lifeline-$k]}
    printf '| copy to a fresh location (command), %s | | %.2f s (%s s CPU) | | ≤ 2× cp -r + sync: lifeline %s× | %s |\n' \
      "$([ "$k" = copy-samekey ] && echo "shared master key (init --copy-master-key)" || echo "re-encrypting, --verify-plaintext")" "$l" "$(cpu "lifeline-$k")" "$(ratio "$l" "$c")" "$(verdict "$l <= $c * 2")"
  done
  printf '| command start (`lifeline --version`) | | %.2f s (%s s CPU) | | — | |\n' "${SECS[lifeline-start]}" "$(cpu lifeline-start)"
  for k in copy copy-samekey; do
    cw=$(inproc "$k" copy); cc=$(inproc "$k" cpu)
    printf '| in-process copy, %s (copy work / its CPU) | | %s s / %s s CPU | | ≤ 2× cp -r + sync: %s | |\n' \
      "$([ "$k" = copy ] && echo "re-encrypting" || echo "shared master key")" "$cw" "$cc" "$(verdict "$cw <= $c * 2")"
  done
  for k in full unchanged; do
    o=$(inproc "$k" open); b=$(inproc "$k" backup); r=${SECS[restic-$k]}
    printf '| in-process %s backup (open incl. Argon2id / backup work; restic: its command) | %.2f s | %s s / %s s | %s (backup work) | %s | |\n' \
      "$k" "$r" "$o" "$b" "$(ratio "$b" "$r")" "$([ "$k" = full ] && echo "— (shows the cost of a command)" || echo "≤ 0.5× restic: $(verdict "$b <= $r * 0.5")")"
  done
  echo
  echo "Per-stage times of the in-process full backup (reader stages on one thread; workers' and writes summed), and its"
  echo "process CPU time against the cores (core_limit = cpu / cores: the shortest wall time the machine allows for that work):"
  echo
  echo '```'
  grep '^inproc-stages' "$WORK/out-inproc-full.txt" | sed 's/^inproc-stages //'
  grep '^inproc-cpu' "$WORK/out-inproc-full.txt" | sed 's/^inproc-cpu //'
  echo '```'
  echo
  printf 'Stage times of an in-process restore of the same tree (+ sync: %.2f s, %s MB; reader one thread, workers summed):\n\n' "${SECS[inproc-restore]}" "${RSS[inproc-restore]}"
  echo '```'
  grep '^restore-stages' "$WORK/out-inproc-restore.txt" | sed 's/^restore-stages //'
  echo '```'
  echo
  echo "Per-stage times of the in-process copies (plan and snapshots wall; reader, workers and uploads summed):"
  echo
  echo '```'
  for k in copy copy-samekey; do grep '^inproc-copy-stages' "$WORK/out-inproc-$k.txt" | sed "s/^inproc-copy-stages /$k: /"; done
  echo '```'
  echo
  echo "Peak memory per phase (MB), restic / lifeline: full ${RSS[restic-full]} / ${RSS[lifeline-full]}, unchanged ${RSS[restic-unchanged]} / ${RSS[lifeline-unchanged]}, changed ${RSS[restic-changed]} / ${RSS[lifeline-changed]}, restore ${RSS[restic-restore]} / ${RSS[lifeline-restore]}, check ${RSS[restic-check]} / ${RSS[lifeline-check]}."
  echo
  echo "Run: $(date -u '+%Y-%m-%d %H:%M') UTC; $MIB MiB data set; $(restic version | cut -d' ' -f1-2); page cache dropped between phases: $DROP."
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; at start $LOAD_START, at end $(uptime | sed "s/.*load average/load average/")."
} | tee "$WORK/results.md"
