#!/usr/bin/env bash
# The full API fuzzing run (issue #10 item 3; docs/reliability.md, "Fuzzing"): the
# schemathesis test of tests/fuzz/ with more examples per operation and generation mode
# (XH_FUZZ_EXAMPLES, default here 12: ≥ 2,000 requests over the 72 operations), then the
# requests per operation, their statuses and every failure.
#
#   bench/fuzz_api.sh                          # SQLite (the test settings' default)
#   DATABASE_URL=postgres://root@/xianghu?host=/var/run/postgresql bench/fuzz_api.sh
#   XH_FUZZ_EXAMPLES=30 bench/fuzz_api.sh -n 2 # more cases, two workers
#
# Extra arguments go to pytest. Exits non-zero when any case failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export XH_FUZZ_EXAMPLES="${XH_FUZZ_EXAMPLES:-12}"
report="$(mktemp -t xh-fuzz-XXXXXX.jsonl)"
export XH_FUZZ_REPORT="$report"
export DJANGO_SETTINGS_MODULE=config.settings.test
started=$(date +%s)
.venv/bin/pytest -q -p no:cacheprovider -p no:logging tests/fuzz/test_api_schemathesis.py "$@" \
    >"$report.log" 2>&1
status=$?
elapsed=$(( $(date +%s) - started ))
tail -n 3 "$report.log"
.venv/bin/python - "$report" "$elapsed" "$XH_FUZZ_EXAMPLES" <<'PY'
import json
import sys
from collections import Counter

path, elapsed, examples = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [json.loads(line) for line in open(path, encoding="utf-8")]
rows.sort(key=lambda r: r["operation"])
statuses: Counter[str] = Counter()
modes: Counter[str] = Counter()
width = max((len(r["operation"]) for r in rows), default=10)
print(f"\n{'operation':<{width}}  cases  failures  statuses")
for r in rows:
    statuses.update(r["statuses"])
    modes.update(r["modes"])
    codes = " ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
    print(f"{r['operation']:<{width}}  {r['cases']:>5}  {len(r['failures']):>8}  {codes}")
cases = sum(r["cases"] for r in rows)
failures = [(r["operation"], f) for r in rows for f in r["failures"]]
print(
    f"\n{len(rows)} operations, {cases} cases ({examples} examples per operation and mode) "
    f"in {elapsed} s; modes: {dict(modes)}"
)
print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
server_errors = sum(v for k, v in statuses.items() if k.startswith("5"))
print(f"server errors: {server_errors}; failing cases: {len(failures)}")
for operation, failure in failures:
    print(f"\n--- {operation}\n{failure}")
PY
echo "report: $report (pytest output: $report.log)"
exit $status
