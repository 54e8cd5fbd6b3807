"""Benchmark of issue #5: the monthly ranking of every assessed subject, as the app
computes it, against one hand-written SQL aggregation over the same rows.

    bench/assessment_ranking.sh                      # 1,000,000 calls (the default)
    python bench/assessment_ranking.py --calls 20000 # a quick run

It needs PostgreSQL: the data set lives in its own database (default `xianghu_bench` on
the local server's socket; `--database-url` or `XH_BENCH_DATABASE_URL` to choose). The
first run creates the database, migrates it, builds the demo county and generates the
calls (several minutes for a million); later runs with the same `--calls` and `--seed`
reuse it (`--rebuild` to start again). Nothing is written into the repository: the
figures are printed as Markdown for docs/benchmarks.md ("Assessment ranking").
See `assessment_ranking_lib.py` for how the data set is made and checked.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKER_TABLE = "bench_assessment_dataset"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the monthly assessment ranking against a hand-written SQL query."
    )
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls in the data set")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data set")
    parser.add_argument("--month", default="2025-06", help="the month ranked (in 2025)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each query")
    parser.add_argument("--sample", type=int, default=3000, help="calls checked against the fold")
    parser.add_argument("--chunk", type=int, default=10_000, help="calls generated per batch")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data set")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    parser.add_argument("--database-url", help="PostgreSQL URL of the benchmark database")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.chunk < 1:
        parser.error("--chunk must be at least 1")
    month = args.month.split("-")
    if (
        len(month) != 2
        or month[0] != "2025"
        or not month[1].isdigit()
        or not 1 <= int(month[1]) <= 12
    ):
        parser.error("--month must be a month of 2025 (the data set's year), e.g. 2025-06")
    return args


def _log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _setup(url: str) -> dict[str, Any]:
    """Configure Django on the benchmark database; its connection settings."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["DJANGO_DEBUG"] = "0"  # no query log: it would cost memory and time
    sys.path.insert(0, str(ROOT))
    import django
    import environ

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise SystemExit("the benchmark needs PostgreSQL (--database-url postgres://…)")
    django.setup()
    return config


def _admin_connection(config: dict[str, Any], dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=dbname,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        autocommit=True,
    )


def _marker(config: dict[str, Any]) -> dict[str, Any] | None:
    """What the benchmark database holds (None: no database or no complete data set)."""
    import psycopg

    try:
        with _admin_connection(config, config["NAME"]) as conn:
            row = conn.execute(
                f"SELECT value FROM {MARKER_TABLE} WHERE key = 'dataset'"  # noqa: S608
            ).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def _recreate_database(config: dict[str, Any]) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with _admin_connection(config, "postgres") as conn:
        name = sql.Identifier(config["NAME"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _build(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from bench import assessment_ranking_lib as lib

    seconds: dict[str, float] = {}
    began = time.perf_counter()
    _log(f"creating the database {config['NAME']}")
    _recreate_database(config)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    # Apps whose migrations the lead has not generated yet get their tables from the
    # models (migrate's syncdb), once the tables they point to exist.
    call_command("migrate", run_syncdb=True, verbosity=0)
    seconds["schema"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _log("building the demo county and its lists")
    county = lib.build_county(seed=args.seed)
    cast = lib.load_cast(county=county, seed=args.seed)
    seconds["county"] = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    ddl = lib.drop_secondary_indexes()
    _log(
        f"generating {args.calls:,} calls (indexes dropped: {len(ddl.indexes)} indexes, "
        f"{len(ddl.constraints)} constraints)"
    )
    t0 = time.perf_counter()
    report = lib.build_calls(
        cast, calls=args.calls, seed=args.seed, chunk_size=args.chunk, progress=_log
    )
    seconds["load"] = time.perf_counter() - t0
    seconds.update({f"load.{k}": v for k, v in report.seconds.items()})
    _log("creating the indexes and constraints again, VACUUM ANALYZE")
    t0 = time.perf_counter()
    lib.restore_indexes(ddl)
    seconds["index"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - began
    marker = {
        "version": lib.GENERATOR_VERSION,
        "calls": args.calls,
        "seed": args.seed,
        "county_id": county.pk,
        "rows": report.rows,
        "states": report.states,
        "seconds": seconds,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER_TABLE} (key text PRIMARY KEY, value jsonb)")
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES ('dataset', %s)",  # noqa: S608
            [json.dumps(marker)],
        )
    return marker


def _explain(county_id: int, period: Any, now: datetime) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench import assessment_ranking_lib as lib

    with CaptureQueriesContext(connection) as queries:
        lib.app_rankings(county_id=county_id, period=period, now=now)
    statements: list[str | None] = [q["sql"] for q in queries.captured_queries]
    statements.append(None)  # the hand-written one, with its parameters
    params = lib.sql_params(
        county_id=county_id, period=period, now=now, policy=lib.policy_for(county_id)
    )
    with connection.cursor() as cursor:
        for sql in statements:
            if sql is None:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + lib.hand_written_sql(), params)
                title = "hand-written SQL"
            else:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                title = sql[:160]
            print(f"\n-- {title}")
            print("\n".join(row[0] for row in cursor.fetchall()))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    url = (
        args.database_url
        or os.environ.get("XH_BENCH_DATABASE_URL")
        or f"postgres://{getpass.getuser()}@/xianghu_bench?host=/var/run/postgresql"
    )
    config = _setup(url)
    from django.db import connection

    from bench import assessment_ranking_lib as lib
    from xianghu.assessment.periods import Period
    from xianghu.core.prepared import binding_summary

    marker = None if args.rebuild else _marker(config)
    wanted = {"version": lib.GENERATOR_VERSION, "calls": args.calls, "seed": args.seed}
    if marker is None or any(marker.get(k) != v for k, v in wanted.items()):
        marker = _build(args, config)
        cached = False
    else:
        _log(f"reusing the data set of {config['NAME']} (built {marker['built_at']})")
        cached = True
    county_id = marker["county_id"]
    _log(f"checking {args.sample:,} calls against rollup.refresh_calls")
    sample = lib.check_sample(size=args.sample)
    year, month = (int(part) for part in args.month.split("-"))
    period = Period.month(year, month)
    _log(f"timing the ranking of {period.key} ({args.repeat} runs each, after a warm-up run)")
    loads = [os.getloadavg()[0]]  # other work on the machine skews every time
    results = lib.run_comparison(county_id=county_id, period=period, repeat=args.repeat)
    loads.append(os.getloadavg()[0])
    pages = lib.pages_read(county_id=county_id, period=period)
    if args.explain:
        _explain(county_id, period, lib.NOW)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    rows, seconds = marker["rows"], marker["seconds"]
    t = results.timings
    print(f"""
- Command: `bench/assessment_ranking.sh --calls {args.calls} --seed {args.seed} --month {args.month} --repeat {args.repeat}`
- Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, PostgreSQL {server}; {datetime.now(UTC):%Y-%m-%d}; 1-minute load average before and after the timings: {loads[0]:.2f}, {loads[1]:.2f}
- Statements: {binding_summary()}; the app's rankings and metrics timed as in a request (`prepared_statements()`), the hand-written statement outside it
- Data set ({"cached" if cached else "built in this run"}): {rows["Call"]:,} calls, {rows["CallEvent"]:,} events, {rows["Dispatch"]:,} dispatches, {rows["Attachment"]:,} photos; roll-up {rows["DispatchFact"]:,} handling episodes, {rows["EventFact"]:,} assessed events, {rows["SubmissionFact"]:,} calls sent; {rows["PeriodicEvaluation"]:,} periodic forms
- Build: {seconds["total"]:,.0f} s in all — schema {seconds["schema"]:,.0f} s, county {seconds["county"]:,.0f} s, generating and folding {seconds["load.generate"]:,.0f} s, COPY {seconds["load.write"]:,.0f} s, indexes, constraints and VACUUM ANALYZE {seconds["index"]:,.0f} s
- Check: {sample.calls:,} calls refreshed by `rollup.refresh_calls` gave exactly the generated {sample.fact_rows:,} fact rows ({sample.calls_per_second:,.0f} calls/s: a full `assessment_rebuild` of the data set would take about {rows["Call"] / max(sample.calls_per_second, 1) / 60:,.1f} min); {results.agreement.subjects} subjects with equal counts and rates, {results.agreement.ranked} ranked subjects with equal ranks, {len(results.agreement.score_mismatches)} scores differing by a rounding step

| {period.key}, every subject | queries | pages touched | JIT on: median ms | min ms | × SQL | JIT off: median ms | min ms | × SQL |
|---|---:|---:|---:|---:|---:|---:|---:|---:|""")
    for key in ("sql", "app", "app_per_kind", "metrics_month", "metrics_quarter", "metrics_year"):
        cells = [t[key].label]
        cells += [str(pages[key][0]), f"{pages[key][1]:,}"] if key in pages else ["", ""]
        for suffix in ("", ":jit_off"):
            timing, base = t[key + suffix], t["sql" + suffix]
            cells += [_ms(timing.median), _ms(timing.best), f"{timing.median / base.median:.2f}"]
        print("| " + " | ".join(cells) + " |")
    print()
    for suffix, name in (("", "server settings (JIT on)"), (":jit_off", "JIT off")):
        app = results.ratio(f"app{suffix}", f"sql{suffix}")
        per_kind = results.ratio(f"app_per_kind{suffix}", f"sql{suffix}")
        print(
            f"Ratio app / hand-written SQL, {name}: {app:.2f} with `rankings_for_period` "
            f"(all kinds, as the pages rank; target ≤ 2: {'met' if app <= 2 else 'missed'}); "
            f"{per_kind:.2f} one kind at a time (`ranking_for_period` × 3)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
