#!/usr/bin/env bash
# The zhzw routing benchmark (issue #6; docs/benchmarks.md, "Routing"). One command:
#   bench/routing_zhzw.sh            (data in /work/shared/data/zhzw, or ZHZW_DIR)
# 1. a development figure: train on 80 % of train.csv, report on the other 20 % (stratified,
#    seed 1); the settings were chosen by cross-validation on train.csv
#    (bench/routing_tune.py); test.csv is not read;
# 2. the reported figure: train on train.csv, report on test.csv;
# 3. the raw texts (title + detail, punctuation and stop words left in) of the raw.csv
#    rows whose message is in test.csv, with the same model settings.
# Each step is `manage.py routing_eval`; its last line is the figure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${ZHZW_DIR:-/work/shared/data/zhzw}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PY" bench/routing_zhzw_prep.py --data "$DATA" --out "$WORK"

echo "== 1. dev split of train.csv (tuning only)"
"$PY" manage.py routing_eval --train "$WORK/train_part.csv" --test "$WORK/dev.csv" \
  --text-col text --label-col label
echo "== 2. train.csv -> test.csv"
"$PY" manage.py routing_eval --train "$DATA/train.csv" --test "$DATA/test.csv" \
  --text-col text --label-col label
echo "== 3. train.csv -> raw texts of the test rows of raw.csv"
"$PY" manage.py routing_eval --train "$DATA/train.csv" --test "$WORK/raw_test.csv" \
  --text-col text --label-col label
