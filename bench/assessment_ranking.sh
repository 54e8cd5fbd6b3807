#!/usr/bin/env bash
# The assessment ranking benchmark (issue #5; docs/benchmarks.md, "Assessment ranking"):
# a million calls by default, in the PostgreSQL database xianghu_bench (built on the
# first run, reused afterwards). Extra arguments go to bench/assessment_ranking.py
# (e.g. --calls 20000, --rebuild, --explain).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/assessment_ranking.py "$@"
