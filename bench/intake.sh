#!/usr/bin/env bash
# The intake benchmark (issue #9; docs/benchmarks.md, "Intake"): calls created per second
# through the HTTP API under gunicorn, against raw psycopg inserts of the same rows and
# against django-helpdesk's ticket API (installed in var/bench/helpdesk-venv on the first
# run), in the databases xianghu_bench_intake and xianghu_bench_intake_helpdesk. Extra
# arguments go to bench/intake.py (e.g. --calls 500 --rounds 2).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/intake.py "$@"
