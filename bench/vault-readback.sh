#!/usr/bin/env bash
# The read-back's cost end to end (docs/verification.md): the in-process full backup of the benchmark data set and
# the in-process copy of the repository it made, each with VaultOpenOptions.ReadBackPacks on (the default: every pack
# written is read again and compared with the digest taken when it was named) and off, ROUNDS times each, the order
# alternating from round to round (on first in odd rounds, off first in even ones), each into a fresh repository
# with a real key derivation (timed apart). The page cache is dropped before each run when the container allows it.
# Prints each run and the median of each mode. A local path only: the S3 comparison needs a server that holds 1 GiB.
# Usage: bench/vault-readback.sh [ROUNDS=3] [MIB=1024]
# Environment: BENCH_DIR (default /var/tmp/lifeline-bench: the data set is cached there), MAKE_DATASET (as in
# bench/vault-vs-restic.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-3}; MIB=${2:-1024}
BENCH_DIR=${BENCH_DIR:-/var/tmp/lifeline-bench}
MAKE_DATASET=${MAKE_DATASET:-}
for candidate in "$MAKE_DATASET" "$ROOT/../shared/bench/make-dataset.py" /work/shared/bench/make-dataset.py; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then MAKE_DATASET=$candidate; break; fi
done
[ -f "$MAKE_DATASET" ] || { echo "make-dataset.py not found: set MAKE_DATASET" >&2; exit 2; }
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 LIFELINE_PASSWORD=bench-password
TREE=$BENCH_DIR/dataset-$MIB
mkdir -p "$BENCH_DIR"
if [ ! -f "$TREE/.complete" ]; then
  python3 "$MAKE_DATASET" "$TREE" --mib "$MIB" >/dev/null && touch "$TREE/.complete"
fi
dotnet build "$ROOT/bench/Lifeline.Benchmarks" -c Release -v q -nologo >/dev/null
INPROC="$ROOT/bench/Lifeline.Benchmarks/bin/Release/net10.0/Lifeline.Benchmarks.dll"
WORK=$(mktemp -d "$BENCH_DIR/readback.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DROP="no (not permitted in this container)"
drop_caches() { sync; if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then DROP="yes"; fi; }

echo "== $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, load before $(cut -d' ' -f1-3 /proc/loadavg), $MIB MiB, $ROUNDS rounds"
declare -A BACKUP COPY
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="1 0"; else order="0 1"; fi
  for mode in $order; do
    rm -rf "$WORK/repo" "$WORK/copy"
    drop_caches
    b=$(VAULT_READ_BACK=$mode VAULT_INIT=1 dotnet "$INPROC" vault-backup "$WORK/repo" "$TREE" | awk '/^inproc open=/ {for (i = 1; i <= NF; i++) if ($i ~ /^backup=/) {sub("backup=", "", $i); print $i}}')
    drop_caches
    c=$(VAULT_READ_BACK=$mode dotnet "$INPROC" vault-copy "$WORK/repo" "$WORK/copy" | awk '/^inproc copy=/ {for (i = 1; i <= NF; i++) if ($i ~ /^copy=/) {sub("copy=", "", $i); print $i}}')
    BACKUP[$mode]="${BACKUP[$mode]:-} $b"; COPY[$mode]="${COPY[$mode]:-} $c"
    echo "round $round read-back=$( [ "$mode" = 1 ] && echo on || echo off ): full backup ${b} s, copy ${c} s"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
bon=$(median <<<"${BACKUP[1]}"); boff=$(median <<<"${BACKUP[0]}"); con=$(median <<<"${COPY[1]}"); coff=$(median <<<"${COPY[0]}")
echo
echo "| in-process, $MIB MiB, median of $ROUNDS | read-back on | read-back off | on / off |"
echo "|---|---:|---:|---:|"
printf '| full backup | %.2f s | %.2f s | %.2f× |\n' "$bon" "$boff" "$(echo "$bon / $boff" | bc -l)"
printf '| copy to a fresh location | %.2f s | %.2f s | %.2f× |\n' "$con" "$coff" "$(echo "$con / $coff" | bc -l)"
echo "page cache dropped before each run: $DROP; load after $(cut -d' ' -f1-3 /proc/loadavg)"
