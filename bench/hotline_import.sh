#!/usr/bin/env bash
# The 12345 hotline import benchmark (issue #7; docs/benchmarks.md, "12345 hotline import"):
# a million synthetic GBK tickets imported with manage.py hotline_import, compared with a
# plain PostgreSQL COPY of the same file, in the database xianghu_bench_hotline. Extra
# arguments go to bench/hotline_import.py (e.g. --rows 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/hotline_import.py "$@"
