#!/usr/bin/env bash
# The large crash-safety run (issue #10; docs/reliability.md, "Crash safety"): 1,500 calls
# created and walked through the workflow over HTTP by 8 client processes that retry lost
# answers, while gunicorn workers and task workers are SIGKILLed every ~2 s and PostgreSQL
# is crash-restarted (pg_ctl restart -m immediate) 4 times; then every acknowledged call
# and action is checked against the database (tests/reliability/harness.py). It runs its
# own PostgreSQL cluster in a temporary folder on a free port, so it touches no other
# database. Prints requests, acknowledged, kills, restarts, lost, duplicated and state
# mismatches; exits 1 if anything was lost, duplicated or left behind. Extra arguments go
# to the harness (e.g. --calls 5000 --pg-restarts 8; --help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m tests.reliability.harness run \
  --calls 1500 --clients 8 --web-workers 3 --task-workers 2 \
  --chaos-interval 2 --pg-restarts 4 --overdue-calls 50 --run-timeout 14400 "$@"
