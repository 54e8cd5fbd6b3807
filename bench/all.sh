#!/usr/bin/env bash
# The whole benchmark suite, one benchmark after another, each writing its figures into
# docs/benchmarks.md (issue #9). Extra arguments go to bench/run_all.py (--only, --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/run_all.py "$@"
