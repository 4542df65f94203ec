#!/usr/bin/env bash
# Runs every benchmark in a fixed order on a release build (build/) and writes one report:
# the machine and the build first, then each benchmark's own table, as docs/benchmarks.md
# quotes them. Each benchmark takes its medians over its own runs and prints its ratios against
# the baselines it measures in the same run; run this script three times and quote the median
# of the three, with the machine line.
#   scripts/bench.sh [REPORT]   (default: build/bench-report.md; a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
report=${1:-build/bench-report.md}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
order=(planner coalescer kis_codec json strategies attacks record replay day exsim feed_latency e2e coverage redis)
{
  echo "# strata benchmarks, $(date -u +%Y-%m-%d) ($(git describe --always --dirty 2>/dev/null || echo 'no git'))"
  echo
  for b in "${order[@]}"; do
    echo "## bench_$b"
    echo
    echo '```'
    start=$(date +%s)
    ./build/tests/bench/bench_"$b" 2>&1
    echo "(wall: $(($(date +%s) - start)) s)"
    echo '```'
    echo
  done
} > "$report"
echo "wrote $report"
