"""Benchmark of issue #9: the platform console over a province's calls.

    bench/console.sh                                  # 10,000,000 calls (the default)
    python bench/console.py --calls 200000 --repeat 50  # a quick run

It needs PostgreSQL: the data set lives in its own database (default
`xianghu_bench_console` on the local server's socket; `--database-url` or
`XH_BENCH_DATABASE_URL`). The first run creates and migrates the database and builds the
province with `manage.py demo_county --scale province --calls N --tickets 0 --no-events`
(the calls and their dispatches: the console reads nothing else; `--events` for the
full logs); later runs with the same size reuse it (`--rebuild` to start again).

Timed, for the busiest county's platform operator, `--repeat` rounds after a warm-up
(each round runs every measurement once): the console's read of a page (the visible
calls with the filters; the keyset page with its joins, its leads and the capped count
in one statement: `selectors.call_list` + `selectors.call_page`) against the bare index
query of the same page (`SELECT id … ORDER BY created_at DESC, id DESC LIMIT 21`),
checked to return the same calls; the whole page through Django in process, for
context; and what a classic offset pager would do instead (`OFFSET`, exact `count(*)`).
Prints Markdown; with `--markdown FILE` also writes it there. Nothing is written into
the repository.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKER_TABLE = "bench_console_dataset"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the platform console at scale.")
    parser.add_argument("--calls", type=int, default=10_000_000, help="calls in the province")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data set")
    parser.add_argument("--repeat", type=int, default=200, help="timed rounds")
    parser.add_argument("--deep-page", type=int, default=1000, help="the deep page's number")
    parser.add_argument("--events", action="store_true", help="build the calls' events too")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data set")
    parser.add_argument("--no-pages", action="store_true", help="skip the whole-page timing")
    parser.add_argument("--database-url", help="PostgreSQL URL of the benchmark database")
    parser.add_argument("--markdown", help="also write the Markdown results to this file")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.repeat < 1 or args.deep_page < 1:
        parser.error("--calls, --repeat and --deep-page must be at least 1")
    return args


def _log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _config(url: str) -> dict[str, Any]:
    import environ

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise SystemExit("the benchmark needs PostgreSQL (--database-url postgres://…)")
    return config


def _connect(config: dict[str, Any], dbname: str) -> Any:
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
    import psycopg

    try:
        with _connect(config, config["NAME"]) as conn:
            row = conn.execute(
                f"SELECT value FROM {MARKER_TABLE} WHERE key = 'dataset'"  # noqa: S608
            ).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def _build(args: argparse.Namespace, config: dict[str, Any], url: str) -> dict[str, Any]:
    from psycopg import sql

    with _connect(config, "postgres") as conn:
        name = sql.Identifier(config["NAME"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    python = str(ROOT / ".venv" / "bin" / "python")
    began = time.perf_counter()
    _log(f"migrating {config['NAME']}")
    subprocess.run(  # noqa: S603  (our own command line)
        [python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    migrated = time.perf_counter()
    command = [
        python,
        "manage.py",
        "demo_county",
        "--no-history",
        "--seed",
        str(args.seed),
        "--scale",
        "province",
        "--calls",
        str(args.calls),
        "--tickets",
        "0",
    ]
    if not args.events:
        command.append("--no-events")
    _log("building the province: " + " ".join(command[1:]))
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    marker = {
        "calls": args.calls,
        "seed": args.seed,
        "events": args.events,
        "built_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "seconds": {
            "migrate": round(migrated - began, 1),
            "province": round(time.perf_counter() - migrated, 1),
        },
    }
    with _connect(config, config["NAME"]) as conn:
        conn.execute(f"CREATE TABLE {MARKER_TABLE} (key text PRIMARY KEY, value jsonb)")
        conn.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES ('dataset', %s)",  # noqa: S608
            [json.dumps(marker)],
        )
    return marker


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["DJANGO_DEBUG"] = "0"  # no query log
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    url = (
        args.database_url
        or os.environ.get("XH_BENCH_DATABASE_URL")
        or f"postgres://{getpass.getuser()}@/xianghu_bench_console?host=/var/run/postgresql"
    )
    sys.path.insert(0, str(ROOT))
    config = _config(url)
    marker = None if args.rebuild else _marker(config)
    wanted = {"calls": args.calls, "seed": args.seed, "events": args.events}
    cached = marker is not None and all(marker.get(k) == v for k, v in wanted.items())
    if not cached:
        marker = _build(args, config, url)
    else:
        _log(f"reusing the data set of {config['NAME']} (built {marker['built_at']})")
    assert marker is not None
    _setup(url)
    from django.db import connection

    from bench import console_lib as lib
    from xianghu.core.prepared import binding_summary

    here = lib.setting(deep_page=args.deep_page)
    _log(f"timing {len(here.scenarios)} pages, {args.repeat} rounds, in {here.county.name}")
    loads = [os.getloadavg()[0]]
    rows = lib.run(here, repeat=args.repeat, pages=not args.no_pages)
    loads.append(os.getloadavg()[0])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM calls_call")
        total = cursor.fetchone()[0]
    seconds = marker["seconds"]
    command = f"bench/console.sh --calls {args.calls} --repeat {args.repeat}"
    header = {
        "Command": f"`{command}`" + (" --events" if args.events else ""),
        "Machine": (
            f"{os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, PostgreSQL {server}; {lib.now_label()}; 1-minute "
            f"load average before and after the timings: {loads[0]:.2f}, {loads[1]:.2f}"
        ),
        "Statements": binding_summary(),
        "Data set": (
            f"{total:,} calls in the province "
            f"({'with' if marker['events'] else 'without'} their events), "
            + (
                "cached"
                if cached
                else f"built in this run in {seconds['province']:,.0f} s "
                f"(migrations {seconds['migrate']:,.0f} s)"
            )
        ),
    }
    text = lib.markdown(here, rows, header=header)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
