#!/usr/bin/env bash
# The demo-list routing benchmark (issue #6; docs/benchmarks.md, "Routing"). One command:
#   bench/routing_demo.sh
# Builds the demo county 清河县 WITHOUT call history in a throwaway SQLite database, trains
# its model (the list's own text + the curated keywords + xianghu/routing/data/
# seed_examples.csv), routes bench/data/demo_calls.csv with `manage.py routing_predict`
# and scores top-1, top-3 and out-of-list detection (bench/routing_demo_score.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export DATABASE_URL="sqlite:///$WORK/bench.sqlite3"
"$PY" manage.py migrate --run-syncdb -v0
"$PY" manage.py demo_county --no-history --quiet
"$PY" manage.py routing_train --county 371221
"$PY" manage.py routing_predict --input bench/data/demo_calls.csv --text-col text \
  --output "$WORK/demo_out.csv" --county 371221
"$PY" bench/routing_demo_score.py "$WORK/demo_out.csv"
