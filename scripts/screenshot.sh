#!/usr/bin/env bash
# Regenerates docs/dashboard.png, the README's picture of the dashboard: builds strata and the
# browser test, which runs strata on the simulated demo market, opens the dashboard in headless
# Chromium, checks it, and saves the screenshot where STRATA_DASHBOARD_PNG says.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target strata test_dashboard
STRATA_DASHBOARD_PNG="$PWD/docs/dashboard.png" build/tests/test_dashboard
echo "screenshot: docs/dashboard.png"
