#!/usr/bin/env bash
# Builds strata with -Werror and runs the whole test suite with ctest.
#   scripts/test.sh             release build in build/
#   scripts/test.sh --sanitize  ASan + UBSan debug build in build-asan/ (leaks fail the run)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

dir=build
opts=(-DSTRATA_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  opts+=(-DSTRATA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:fast_unwind_on_malloc=0
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j2
