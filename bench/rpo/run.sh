#!/usr/bin/env bash
# The RPO benchmark of change protection: 20 SIGKILLs of the writer+protector primary at random moments.
# Usage: bench/rpo/run.sh [--kills N] [--rate WRITES_PER_S] [--seed S] [--run-seconds MIN-MAX] [--dir DIR]
# For the p99 to be more than the maximum: --kills 100 (about 15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/rpo -c Release -v q -nologo >/dev/null
exec dotnet bench/rpo/bin/Release/net10.0/Lifeline.Bench.Rpo.dll driver "$@"
