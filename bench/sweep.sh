#!/usr/bin/env bash
# The supervision-sweep scale benchmark (issue #9): the sweep over 100,000 and 1,000,000
# open calls with the same 1,000 calls due, in the PostgreSQL databases
# xianghu_bench_sweep_<open> (built on the first run, reused afterwards). Extra arguments
# go to bench/sweep.py (e.g. --open 3000,30000 --due 100, --rebuild, --markdown FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/sweep.py "$@"
