"""Benchmark of issue #9: the supervision sweep (`calls.supervision.run_sweep`) over
100,000 and 1,000,000 open calls with the same 1,000 calls due: time per sweep, queries,
rows and pages touched. The target: the sweep's cost flat as open calls grow 10×.

    bench/sweep.sh                                    # 100,000 and 1,000,000 open calls
    bench/sweep.sh --open 3000,30000 --due 100        # a quick run

It needs PostgreSQL: each size lives in its own database (`xianghu_bench_sweep_<open>` on
the local server's socket; `--database-url` or `XH_BENCH_DATABASE_URL` names the base).
The first run creates the databases, migrates them, builds the demo county and generates
the calls; later runs with the same parameters reuse them (`--rebuild` to start again).
Each round sweeps at the data set's moment inside a transaction that is rolled back, so
every round does the same work (see `sweep_lib.sweep_round`). Figures are printed as
Markdown (`--markdown FILE` writes them to FILE too). See `sweep_lib.py` for the data set.
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
MARKER_TABLE = "bench_sweep_dataset"


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of numbers") from None
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the supervision sweep as the number of open calls grows."
    )
    parser.add_argument(
        "--open",
        type=_sizes,
        default=[100_000, 1_000_000],
        help="open calls per data set, comma-separated (default 100000,1000000)",
    )
    parser.add_argument("--due", type=int, default=1000, help="calls due at the sweep moment")
    parser.add_argument(
        "--near", type=int, help="candidates that owe nothing (default: half of --due)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per size")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data sets")
    parser.add_argument("--sample", type=int, default=300, help="calls checked against the product")
    parser.add_argument("--chunk", type=int, default=20_000, help="calls written per batch")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data sets")
    parser.add_argument("--explain", action="store_true", help="print the EXPLAIN plans")
    parser.add_argument("--markdown", metavar="FILE", help="also write the Markdown to FILE")
    parser.add_argument("--database-url", help="PostgreSQL URL; the database name is a prefix")
    args = parser.parse_args(argv)
    if args.due < 1:
        parser.error("--due must be at least 1")
    if args.near is None:
        args.near = args.due // 2
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.near < 0:
        parser.error("--near must not be negative")
    if min(args.open) < args.due + args.near:
        parser.error("every --open size must hold the due and near sets")
    return args


def _log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _setup(url: str) -> dict[str, Any]:
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


def _admin(config: dict[str, Any], dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=dbname,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        autocommit=True,
    )


class Databases:
    """One Django connection per data set, kept open (warm caches) and swapped in as
    `default`, so the rounds of the sizes can alternate."""

    def __init__(self, config: dict[str, Any]) -> None:
        from django.db import connections

        self.config = config
        self.base = dict(connections["default"].settings_dict)
        self.wrappers: dict[str, Any] = {}

    def name(self, size: int) -> str:
        return f"{self.config['NAME']}_{size}"

    def use(self, size: int) -> None:
        from django.db import connections
        from django.db.utils import load_backend

        name = self.name(size)
        wrapper = self.wrappers.get(name)
        if wrapper is None:
            settings = {**self.base, "NAME": name}
            wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, "default")
            self.wrappers[name] = wrapper
        connections["default"] = wrapper

    def close(self) -> None:
        for wrapper in self.wrappers.values():
            wrapper.close()

    def marker(self, size: int) -> dict[str, Any] | None:
        import psycopg

        try:
            with _admin(self.config, self.name(size)) as conn:
                row = conn.execute(
                    f"SELECT value FROM {MARKER_TABLE} WHERE key = 'dataset'"  # noqa: S608
                ).fetchone()
        except psycopg.Error:
            return None
        return row[0] if row else None

    def recreate(self, size: int) -> None:
        from psycopg import sql

        name = self.name(size)
        wrapper = self.wrappers.pop(name, None)
        if wrapper is not None:
            wrapper.close()
        with _admin(self.config, "postgres") as conn:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def _build(args: argparse.Namespace, dbs: Databases, size: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from bench import sweep_lib as lib
    from xianghu.demo import bulk

    seconds: dict[str, float] = {}
    began = time.perf_counter()
    _log(f"creating the database {dbs.name(size)}")
    dbs.recreate(size)
    dbs.use(size)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("migrate", run_syncdb=True, verbosity=0)
    seconds["schema"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    county = bulk.build_county(seed=args.seed)
    cast = bulk.load_cast(county=county, seed=args.seed)
    seconds["county"] = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    ddl = bulk.drop_secondary_indexes()
    _log(f"generating {size:,} open calls ({args.due:,} due, {args.near:,} near)")
    t0 = time.perf_counter()
    report = lib.build(
        cast,
        open_calls=size,
        due=args.due,
        near=args.near,
        seed=args.seed,
        chunk_size=args.chunk,
        progress=_log,
    )
    seconds["load"] = time.perf_counter() - t0
    seconds.update({f"load.{k}": v for k, v in report.seconds.items()})
    _log("creating the indexes and constraints again, VACUUM ANALYZE")
    t0 = time.perf_counter()
    bulk.restore_indexes(ddl)
    seconds["index"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - began
    marker = {
        **_wanted(args, size),
        "county_id": county.pk,
        "rows": report.rows,
        "states": report.states,
        "expected": report.expected,
        "kinds": report.kinds,
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


def _wanted(args: argparse.Namespace, size: int) -> dict[str, Any]:
    from bench import sweep_lib as lib

    return {
        "version": lib.GENERATOR_VERSION,
        "open": size,
        "due": args.due,
        "near": args.near,
        "seed": args.seed,
        "moment": lib.T.isoformat(),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def _explained(lib: Any, expected: dict[str, int]) -> dict[str, Any]:
    """Queries, rows and pages of one first sweep and one idle sweep (untimed): the first
    sweep's reads before its first write, and all of the idle sweep's, EXPLAINed."""
    from django.db import transaction

    with transaction.atomic():
        result = lib.sweep_round_in_transaction(expected=expected, keep=True)
        transaction.set_rollback(True)
    # On the data as before the first sweep: the idle sweep's statements as they are.
    idle_plans = lib.explain(result.idle_counts.statements)
    reads = []
    for sql in result.first_counts.statements:
        if not lib.is_read(sql):
            break  # the first action: what follows is per due call
        reads.append(sql)
    first_plans = lib.explain(reads)
    return {"first": first_plans, "idle": idle_plans, "round": result}


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    url = (
        args.database_url
        or os.environ.get("XH_BENCH_DATABASE_URL")
        or f"postgres://{getpass.getuser()}@/xianghu_bench_sweep?host=/var/run/postgresql"
    )
    config = _setup(url)
    from django.db import connection

    from bench import sweep_lib as lib

    command = (
        f"bench/sweep.sh --open {','.join(str(n) for n in args.open)} --due {args.due} "
        f"--near {args.near} --repeat {args.repeat} --seed {args.seed}"
    )
    dbs = Databases(config)
    markers: dict[int, dict[str, Any]] = {}
    cached: dict[int, bool] = {}
    for size in args.open:
        marker = None if args.rebuild else dbs.marker(size)
        wanted = _wanted(args, size)
        if marker is None or any(marker.get(k) != v for k, v in wanted.items()):
            markers[size], cached[size] = _build(args, dbs, size), False
        else:
            _log(f"reusing {dbs.name(size)} (built {marker['built_at']}), migrating it")
            markers[size], cached[size] = marker, True
            # The product's indexes may have changed since the data set was built.
            from django.core.management import call_command

            dbs.use(size)
            call_command("migrate", verbosity=0)
    expected = markers[args.open[0]]["expected"]
    for size in args.open:
        if markers[size]["expected"] != expected:
            raise SystemExit(f"the due sets differ: {markers[size]['expected']} vs {expected}")

    checks: dict[int, Any] = {}
    plans: dict[int, dict[str, Any]] = {}
    baselines: dict[int, dict[str, lib.Timing]] = {}
    for size in args.open:
        dbs.use(size)
        _log(f"{size:,}: checking {args.sample} calls against the product's clock functions")
        checks[size] = lib.check_sample(size=args.sample, seed=args.seed)
        _log(f"{size:,}: a warm-up round, EXPLAIN of its statements")
        lib.vacuum()
        plans[size] = _explained(lib, expected)
        baselines[size] = {"index": lib.Timing("index"), "naive": lib.Timing("naive")}

    timings: dict[int, dict[str, lib.Timing]] = {
        size: {"first": lib.Timing("first"), "idle": lib.Timing("idle")} for size in args.open
    }
    rounds: dict[int, list[Any]] = {size: [] for size in args.open}
    loads = [os.getloadavg()[0]]  # other work on the machine skews every time
    _log(f"timing {args.repeat} rounds per size, the sizes alternating")
    for n in range(args.repeat):
        for size in args.open:
            dbs.use(size)
            lib.vacuum()
            result = lib.sweep_round(expected=expected)
            timings[size]["first"].runs.append(result.first)
            timings[size]["idle"].runs.append(result.idle)
            rounds[size].append(result)
            t0 = time.perf_counter()
            lib.due_index_count()
            baselines[size]["index"].runs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lib.naive_scan()
            baselines[size]["naive"].runs.append(time.perf_counter() - t0)
            _log(
                f"round {n + 1}, {size:,}: first {_ms(result.first)} ms, idle "
                f"{_ms(result.idle)} ms, naive scan {_ms(baselines[size]['naive'].runs[-1])} ms"
            )
    loads.append(os.getloadavg()[0])

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    import django

    lines = _markdown(
        args=args,
        command=command,
        server=server,
        buffers=buffers,
        django_version=django.get_version(),
        loads=loads,
        markers=markers,
        cached=cached,
        checks=checks,
        plans=plans,
        timings=timings,
        baselines=baselines,
        rounds=rounds,
        expected=expected,
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    if args.explain:
        for size in args.open:
            for key in ("first", "idle"):
                for item in plans[size][key]:
                    print(f"\n-- {size:,} {key}: {item['pages']:,} pages, {item['nodes']}")
                    print(item["sql"][:400])
    dbs.close()
    return 0


def _markdown(**kw: Any) -> list[str]:
    from bench import sweep_lib as lib

    args = kw["args"]
    sizes: list[int] = args.open
    markers, timings, baselines, plans, rounds = (
        kw["markers"],
        kw["timings"],
        kw["baselines"],
        kw["plans"],
        kw["rounds"],
    )
    expected: dict[str, int] = kw["expected"]
    loads = kw["loads"]
    out = [
        "### Supervision sweep at scale",
        "",
        f"- Command: `{kw['command']}`",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, Django {kw['django_version']}, PostgreSQL "
        f"{kw['server']} (shared_buffers {kw['buffers']}); {datetime.now(UTC):%Y-%m-%d}; "
        f"1-minute load average before and after the timed rounds: {loads[0]:.2f}, "
        f"{loads[1]:.2f}",
        f"- Sweep moment T = {lib.T.isoformat()} (a Wednesday, after office hours); "
        f"histories as a sweep every minute up to T − 1 h left them.",
    ]
    for size in sizes:
        m = markers[size]
        rows = m["rows"]
        states = ", ".join(f"{k} {v:,}" for k, v in sorted(m["states"].items()))
        sec = m["seconds"]
        out.append(
            f"- {size:,} open calls ({'cached' if kw['cached'][size] else 'built in this run'}, "
            f"build {sec['total']:,.0f} s: generate {sec['load.generate']:,.0f} s, COPY "
            f"{sec['load.write']:,.0f} s, indexes and VACUUM ANALYZE {sec['index']:,.0f} s): "
            f"{rows['Call']:,} calls, {rows['Dispatch']:,} dispatches, "
            f"{rows['CallEvent']:,} events; states: {states}. Check: "
            f"{kw['checks'][size].calls} sampled calls agree with `workflow.replay`, "
            f"`set_dispatch_clocks` and `refresh_call_clocks`."
        )
    kinds = markers[sizes[0]]["kinds"]
    planted = ", ".join(
        f"{lib.REPORT_FIELDS[a].replace('_', ' ')} {n:,}" for a, n in expected.items()
    )
    out.append(
        f"- Due set, the same in every data set: {args.due:,} calls owing {planted} "
        f"(recipes: {', '.join(f'{k} {v}' for k, v in kinds.items())}); every timed "
        f"first sweep issued exactly these, and every idle sweep (again at T) wrote nothing."
    )
    out += [
        "",
        "Each round: the first sweep at T (issues the due set's actions), then the idle sweep "
        "at T (nothing due), in one transaction rolled back afterwards (after-commit effects "
        "such as notifications never run); VACUUM between rounds. Rows read: the sweep's "
        "`pg_stat_xact_user_tables` deltas on calls, dispatches and events (rows fetched "
        "through indexes + rows read by sequential scans). Pages: shared buffers of "
        "EXPLAIN (ANALYZE, BUFFERS) of the first sweep's reads before its first write (the "
        "candidates and what they need), and of all the idle sweep's statements (on the data "
        "before the first sweep).",
        "",
        "| open calls | sweep | median ms | min ms | queries | examined | rows via index | "
        "rows via seq scan | seq scans | pages (reads) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        for key, label in (("first", "first (acts)"), ("idle", "idle")):
            r = rounds[size][-1]
            counts = r.first_counts if key == "first" else r.idle_counts
            stats = r.first_stats if key == "first" else r.idle_stats
            report = r.first_report if key == "first" else r.idle_report
            pages = sum(p["pages"] for p in plans[size][key])
            t = timings[size][key]
            out.append(
                f"| {size:,} | {label} | {_ms(t.median)} | {_ms(t.best)} | {counts.queries:,} | "
                f"{report.examined:,} | {lib.index_rows(stats):,} | "
                f"{lib.seq_scan_rows(stats):,} | {lib.seq_scans(stats)} | {pages:,} |"
            )
    for size in sizes:
        for key, label in (
            ("index", "baseline: `count(*)` of `next_deadline` before the horizon (index)"),
            ("naive", "baseline: fetch the clock columns of every open call"),
        ):
            t = baselines[size][key]
            out.append(f"| {size:,} | {label} | {_ms(t.median)} | {_ms(t.best)} | | | | | | |")
    out.append("")
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        growth = big / small

        def ratio(table: dict[int, dict[str, Any]], key: str) -> float:
            return table[big][key].median / table[small][key].median

        first, idle = ratio(timings, "first"), ratio(timings, "idle")
        flat = first <= 1.5 and idle <= 1.5
        out.append(
            f"Ratio {big:,} / {small:,} open calls ({growth:g}× the open calls), median time: "
            f"first sweep {first:.2f}, idle sweep {idle:.2f}; baselines: index query "
            f"{ratio(baselines, 'index'):.2f}, reading every open call "
            f"{ratio(baselines, 'naive'):.2f}. Target ≈ 1 (flat; ≤ 1.5 taken as flat): "
            f"{'met' if flat else 'missed'}."
        )
    out += [
        "",
        "The idle sweep's statements (EXPLAIN ANALYZE, BUFFERS on the data before the first "
        "sweep; the same statements at every size):",
        "",
        "| statement | " + " | ".join(f"{n:,}: ms, pages, rows read" for n in sizes) + " | plan |",
        "|---|" + "---:|" * len(sizes) + "---|",
    ]
    idle_plans = {size: plans[size]["idle"] for size in sizes}
    for n, item in enumerate(idle_plans[sizes[-1]]):
        cells = [lib.label(item["sql"])]
        for size in sizes:
            p = idle_plans[size][n] if n < len(idle_plans[size]) else None
            cells.append(f"{p['ms']:,.1f}, {p['pages']:,}, {p['rows']:,}" if p else "")
        cells.append("; ".join(dict.fromkeys(item["nodes"])))
        out.append("| " + " | ".join(cells) + " |")
    seqs = {
        (size, key): [s for p in plans[size][key] for s in p["seq_scans"]]
        for size in sizes
        for key in ("first", "idle")
    }
    if any(seqs.values()):
        out.append("")
        out.append("Sequential scans of the big tables in the sweep's statements (EXPLAIN):")
        for size in sizes:
            for key in ("first", "idle"):
                for p in plans[size][key]:
                    if p["seq_scans"]:
                        out.append(
                            f"- {size:,}, {key} sweep, {p['ms']:,.1f} ms, {p['pages']:,} pages: "
                            f"{'; '.join(p['seq_scans'])} — `{_short(p['sql'])}`"
                        )
    return out


def _short(sql: str, limit: int = 300) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
