"""Benchmark of issue #7 part 2: importing a million 12345 tickets, against a plain
PostgreSQL COPY of the same file in the same run.

    bench/hotline_import.sh                      # 1,000,000 tickets (the default)
    python bench/hotline_import.py --rows 20000  # a quick run

It needs PostgreSQL: its own database (default `xianghu_bench_hotline` on the local
socket; `--database-url` or `XH_BENCH_DATABASE_URL` to choose), created and migrated on
the first run. Each run:

1. writes the synthetic tickets as a GBK CSV (`hotline_import_lib.write_tickets`);
2. empties the tickets table and imports the file with `manage.py hotline_import` in a
   child process (wall time, rows/s, peak RSS from `/usr/bin/time`): every ticket new;
3. imports the same file again: every ticket updated (idempotency at scale), and reads
   from PostgreSQL's statistics how many of those updates were HOT (in place, no index
   entry: migration 0002 of integrations);
4. `\\copy`s the same file with psql into a plain table of 18 text columns (no index, no
   check): the floor any import of these rows is compared with.

The figures are printed as Markdown for docs/benchmarks.md ("12345 hotline import").
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COUNTY = "371221"


def _log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the 12345 ticket import against COPY.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "XH_BENCH_DATABASE_URL", "postgres:///xianghu_bench_hotline?host=/var/run/postgresql"
        ),
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where the CSV goes")
    return parser.parse_args(argv)


def _setup(url: str) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["DJANGO_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import environ

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise SystemExit("the benchmark needs PostgreSQL (--database-url postgres://…)")
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        dbname="postgres", host=config.get("HOST") or None, autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            _log(f"creating the database {config['NAME']}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    import django

    django.setup()
    from django.core.management import call_command

    _log("migrating")
    call_command("migrate", verbosity=0)
    return config


def _county() -> None:
    """The demo county's name and code with 12 townships of 8 villages (the regions the
    addresses and region codes of the tickets name)."""
    from xianghu.regions.models import Region

    def region(code: str, name: str, level: str, kind: str, parent: Region | None) -> Region:
        obj, _created = Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "kind": kind, "parent": parent}
        )
        return obj

    province = region("370000", "山东省", "province", "province", None)
    city = region("371200", "鲁中市", "city", "city", province)
    county = region(COUNTY, "清河县", "county", "county", city)
    region("371299", "柳河县", "county", "county", city)
    names = [
        "城关",
        "王庄",
        "柳林",
        "李集",
        "孙庄",
        "马店",
        "高桥",
        "石门",
        "杨楼",
        "黄河",
        "新城",
        "东关",
    ]
    for t, name in enumerate(names, 1):
        town = region(
            f"{COUNTY}{100 + t:03d}",
            f"{name}{'街道' if t == 1 else '镇'}",
            "township",
            "subdistrict" if t == 1 else "town",
            county,
        )
        for v in range(1, 9):
            region(f"{town.code}{200 + v:03d}", f"{name}{v}村", "village", "village", town)


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB (GNU time) and stdout of a child process."""
    timer = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603  (our own command line)
            [timer, "-f", "%M", "-o", stats.name, *cmd],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed:\n{done.stdout}\n{done.stderr}")
        peak = int(stats.read().strip().splitlines()[-1])
    return seconds, peak, done.stdout


def _psql(config: dict[str, Any], command: str) -> tuple[float, int, str]:
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", config["NAME"]]
    if config.get("HOST"):
        args += ["-h", config["HOST"]]
    return _timed([*args, "-c", command], dict(os.environ))


def _updates(table: str) -> tuple[int, int, str]:
    """The table's updates and HOT updates so far (the children's statistics, sent when
    they end), and its fillfactor."""
    from django.db import connection

    time.sleep(1.5)  # the statistics of a backend that ended reach the view shortly after
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd, "
            "(SELECT coalesce(array_to_string(reloptions, ', '), 'fillfactor=100 (default)') "
            "FROM pg_class WHERE oid = relid) "
            "FROM pg_stat_user_tables WHERE relid = %s::regclass",
            [table],
        )
        row = cursor.fetchone()
    return int(row[0]), int(row[1]), str(row[2])


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    config = _setup(args.database_url)
    from django.db import connection

    from bench.hotline_import_lib import HEADINGS, places_of, write_tickets
    from xianghu.integrations.hotline.models import Ticket

    _county()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"tickets-{args.rows}-{args.seed}.gbk.csv"
    started = time.perf_counter()
    written = write_tickets(
        path, rows=args.rows, places=places_of(COUNTY), county_code=COUNTY, seed=args.seed
    )
    _log(
        f"wrote {args.rows:,} tickets ({path.stat().st_size / 1e6:.0f} MB GBK) in "
        f"{time.perf_counter() - started:.0f} s: {path}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Ticket._meta.db_table}")
    connection.close()

    env = dict(os.environ)
    env["XH_MEDIA_ROOT"] = str(workdir / "media")  # the error reports stay out of the repository
    cmd = [
        sys.executable,
        str(ROOT / "manage.py"),
        "hotline_import",
        str(path),
        "--county",
        COUNTY,
        "--source",
        "bench",
        "--quiet",
    ]
    if args.batch_size:
        cmd += ["--batch-size", str(args.batch_size)]
    loads = [os.getloadavg()[0]]  # other work on the machine skews every figure
    _log("import 1: every ticket new")
    first = _timed(cmd, env)
    _log(first[2].strip())
    before = _updates(Ticket._meta.db_table)
    _log("import 2: the same file again, every ticket updated")
    second = _timed(cmd, env)
    _log(second[2].strip())
    after = _updates(Ticket._meta.db_table)
    updated, hot = after[0] - before[0], after[1] - before[1]

    columns = ", ".join(f"c{i} text" for i in range(len(HEADINGS)))
    _psql(
        config,
        f"DROP TABLE IF EXISTS hotline_copy_plain; CREATE TABLE hotline_copy_plain ({columns})",
    )
    loads.append(os.getloadavg()[0])
    _log("COPY of the same file into a plain table")
    copy = _psql(
        config,
        f"\\copy hotline_copy_plain FROM '{path}' WITH (FORMAT csv, HEADER true, ENCODING 'GBK')",
    )
    _psql(config, "DROP TABLE hotline_copy_plain")
    loads.append(os.getloadavg()[0])

    def figures(output: str) -> dict[str, int]:
        match = re.search(r"(\d+) rows .*: (\d+) new, (\d+) updated, (\d+) failed", output)
        assert match, output
        return dict(
            zip(("rows", "new", "updated", "failed"), map(int, match.groups()), strict=True)
        )

    one, two = figures(first[2]), figures(second[2])
    rows = args.rows
    print()
    print(
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {connection.cursor().connection.info.server_version // 10000}); "
        f"1-minute load average before the imports, before COPY and after it: "
        f"{', '.join(f'{load:.1f}' for load in loads)}."
    )
    print()
    print(
        f"File: {rows:,} tickets, {path.stat().st_size / 1e6:.0f} MB GBK CSV; "
        f"{written.bad_dates} unreadable dates, {written.duplicates} repeated numbers, "
        f"{written.outside} region codes of another county."
    )
    print()
    print("| step | wall time | rows/s | peak RSS | result |")
    print("|---|---|---|---|---|")
    print(
        f"| `hotline_import`, all new | {first[0]:.1f} s | {rows / first[0]:,.0f} | "
        f"{first[1] / 1024:.0f} MiB | {one['new']:,} new, {one['failed']:,} failed |"
    )
    print(
        f"| `hotline_import` again, all updated | {second[0]:.1f} s | {rows / second[0]:,.0f} | "
        f"{second[1] / 1024:.0f} MiB | {two['updated']:,} updated, {two['new']:,} new, "
        f"{two['failed']:,} failed |"
    )
    print(
        f"| psql `\\copy` into a plain table | {copy[0]:.1f} s | {rows / copy[0]:,.0f} | "
        f"{copy[1] / 1024:.0f} MiB (psql) | {rows:,} rows, no checks |"
    )
    print()
    print(
        f"Ratio import / COPY: {first[0] / copy[0]:.2f}× (new), {second[0] / copy[0]:.2f}× (updated)."
    )
    print()
    print(
        f"Tickets table: {after[2]}; updates of import 2: {updated:,}, "
        f"of which HOT (in place, no index entry written): {hot:,}."
    )


if __name__ == "__main__":
    main()
