#!/usr/bin/env bash
# Run the whole suite RUNS times in a row (3 by default) while stress-ng keeps every core busy:
# CI machines are loaded too, and a test that waits a fixed time instead of for a condition
# fails here first.    deploy/test-under-load.sh [RUNS]   (make test-busy)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bash deploy/install-packages.sh stress-ng
cores=$(nproc)
stress-ng --cpu "$cores" --quiet > /dev/null 2>&1 &
hog=$!
trap 'kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true' EXIT
echo "stress-ng --cpu $cores running (pid $hog); the suite $runs times"
for run in $(seq 1 "$runs"); do
    started=$(date +%s)
    make test PYTEST_ARGS="${PYTEST_ARGS:--q}"
    echo "run $run of $runs passed in $(( $(date +%s) - started )) s under a CPU hog"
done
