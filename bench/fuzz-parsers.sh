#!/usr/bin/env bash
# Coverage-guided fuzzing of the vault's and the lake's decoders with SharpFuzz and AFL++ (Debian: apt-get install afl++).
#   bench/fuzz-parsers.sh [SECONDS_PER_TARGET] [TARGET...]
# Targets: pack-header pack-blob index snapshot tree delta-log (default: all), 120 s each by default.
# Builds bench/Lifeline.Fuzz.Parsers, instruments Lifeline.Vault.dll and Lifeline.Lake.dll in its output, runs
# afl-fuzz on each target from the valid seeds and prints the crashes and hangs found. Findings stay in
# $FUZZ_OUT (default bench/fuzz-out, ignored by git); a fixed crasher goes to tests/Lifeline.Fuzz.Tests/Corpus/TARGET/
# so that it stays a regression test. Reproduce one with the uninstrumented build:
#   dotnet run -c Release --project bench/Lifeline.Fuzz.Parsers -- TARGET FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-120}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(pack-header pack-blob index snapshot tree delta-log)
command -v afl-fuzz >/dev/null || { echo "fuzz-parsers: afl-fuzz not found: apt-get install afl++" >&2; exit 2; }

out=${FUZZ_OUT:-$root/bench/fuzz-out}
project=$root/bench/Lifeline.Fuzz.Parsers
bin=$project/bin/fuzz
tools=$project/obj/sharpfuzz-tool

rm -rf "$bin"
dotnet publish "$project" -c Release -o "$bin" --nologo -v quiet
mkdir -p "$out"
# seeds first: instrumented code only runs under afl-fuzz (it writes to AFL's shared memory)
dotnet "$bin/Lifeline.Fuzz.Parsers.dll" --seeds "$out/seeds"
[ -x "$tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
for dll in Lifeline.Vault.dll Lifeline.Lake.dll; do
  "$tools/sharpfuzz" "$bin/$dll"
done
# the machine is shared: no CPU pinning, no CPU-frequency check; the target is the dotnet host, not an AFL binary
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
status=0
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  # -t: a hang is an input that takes more than 5 s; -m none: the .NET runtime reserves far more virtual memory than AFL's default limit
  afl-fuzz -V "$seconds" -t 5000 -m none -i "$out/seeds/$target" -o "$out/$target" -- \
    dotnet "$bin/Lifeline.Fuzz.Parsers.dll" "$target" > "$out/$target.log" 2>&1 || true
  stats=$out/$target/default/fuzzer_stats
  if [ -f "$stats" ]; then
    grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg) ' "$stats" | tr -s ' ' | sed 's/^/   /'
  else
    echo "   afl-fuzz did not start: see $out/$target.log" >&2
    status=1
  fi
  for kind in crashes hangs; do
    for f in "$out/$target/default/$kind"/id:*; do
      [ -e "$f" ] || continue
      echo "   $kind: $f"
      status=1
    done
  done
done
exit $status
