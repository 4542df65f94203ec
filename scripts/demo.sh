#!/usr/bin/env bash
# Installs the dependencies (Debian packages), builds strata, and runs the demo: a simulated
# KRX trading day, 08:50-15:30, in about one minute. Extra arguments go to `strata run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target strata
exec ./build/strata run "$@"
