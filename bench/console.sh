#!/usr/bin/env bash
# The platform console benchmark (issue #9; docs/benchmarks.md, "The platform console"):
# the busiest county's call list over a province of 10 million calls, in the database
# xianghu_bench_console. Extra arguments go to bench/console.py (e.g. --calls 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/console.py "$@"
