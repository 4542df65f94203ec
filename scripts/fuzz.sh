#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ ASan/UBSan) and runs each for SECONDS (default 30)
# from its seed corpus in tests/fuzz/corpus/. A crash fails the run and leaves its input in
# build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSTRATA_FUZZ=ON \
  -DSTRATA_SANITIZE=ON -DSTRATA_TESTS=ON -DSTRATA_BENCH=OFF -DSTRATA_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_config fuzz_kis_frame fuzz_upbit fuzz_rest fuzz_record fuzz_query fuzz_wsframe fuzz_redistick
for target in config kis_frame upbit rest record query wsframe redistick; do
  work=build-fuzz/corpus-$target
  mkdir -p "$work"
  echo "fuzz_$target: ${secs}s"
  (cd build-fuzz && ./tests/fuzz/fuzz_$target -max_total_time="$secs" -max_len=4096 \
     -print_final_stats=1 "../$work" "../tests/fuzz/corpus/$target" 2>&1 | tail -4)
done
