"""Benchmark of issue #9, intake: calls created per second through the HTTP API, against
raw psycopg inserts of the same rows (the limit) and against ticket creation through
django-helpdesk's own API (the peer), in the same run.

    bench/intake.sh                               # 3 rounds of 1,000 calls (the default)
    python bench/intake.py --calls 500 --rounds 2 # a quick run
    python bench/intake.py --no-helpdesk          # without the peer

It needs PostgreSQL on the local machine. Each run:

1. creates the database `xianghu_bench_intake` afresh (`--database-url` or
   `XH_BENCH_DATABASE_URL` to choose), migrates it, builds the demo county without
   history and gives every township an API key (role township_reporter);
2. creates the peer's virtual environment `var/bench/helpdesk-venv` on the first run
   (pip: bench/peer_helpdesk/requirements.txt) and its database
   `xianghu_bench_intake_helpdesk` afresh, migrated, with a staff user, a token and a
   queue;
3. starts both under gunicorn with production settings, the same number of sync workers
   (`--workers`), and warms them up;
4. plays `--rounds` rounds, each: the platform (`--calls` POST /api/v1/calls/ from
   `--clients` threads, each call with its own Idempotency-Key, texts from the demo's
   stories), then the raw limit (the rows those calls left, written again with psycopg
   from as many connections, one transaction per call), then helpdesk (the same titles
   and descriptions as tickets, from as many clients). After each, the rows in the
   database are counted against the 201 answers.

Figures are medians over the rounds; each ratio is taken within a round, then the
median. The Markdown block is printed (and written to `--markdown FILE`) for
docs/benchmarks.md ("Intake"); the servers' logs go to `--workdir` (var/bench/intake).
Nothing is written into the repository's tracked files.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import intake_lib as lib  # noqa: E402

PEER_DB = "xianghu_bench_intake_helpdesk"


def _log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Calls created per second through the API, against raw inserts of the "
        "same rows and against django-helpdesk's ticket creation."
    )
    parser.add_argument("--calls", type=int, default=1000, help="calls per round and contender")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers of each server")
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent clients (and raw connections)"
    )
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests per server")
    parser.add_argument("--seed", type=int, default=9, help="random seed of the texts")
    parser.add_argument("--no-helpdesk", action="store_true", help="skip the peer")
    parser.add_argument(
        "--batch-repeat",
        type=int,
        default=4,
        help="the batch contender sends the round's calls this many times (distinct keys), "
        "so that its round lasts about as long as the others",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=50,
        help="calls a request of the batch contender (POST /calls/batch/, at most 100); 0 skips it",
    )
    parser.add_argument(
        "--helpdesk-venv",
        type=Path,
        default=ROOT / "var" / "bench" / "helpdesk-venv",
        help="the peer's virtual environment (created when missing)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("XH_BENCH_DATABASE_URL")
        or f"postgres://{getpass.getuser()}@/xianghu_bench_intake?host=/var/run/postgresql",
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench" / "intake")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown block here")
    args = parser.parse_args(argv)
    for name in ("calls", "rounds", "workers", "clients"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.batch_repeat < 1:
        parser.error("--batch-repeat must be at least 1")
    if not 0 <= args.batch_size <= 100:
        parser.error("--batch-size must be between 0 and 100")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


# ---- databases ---------------------------------------------------------------------------


def _connect(config: dict[str, Any], dbname: str, **kw: Any) -> Any:
    import psycopg

    return psycopg.connect(**_conninfo(config, dbname), **kw)


def _conninfo(config: dict[str, Any], dbname: str) -> dict[str, Any]:
    info = {
        "dbname": dbname,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    return {k: v for k, v in info.items() if v}


def _recreate(config: dict[str, Any], dbname: str) -> None:
    from psycopg import sql

    with _connect(config, "postgres", autocommit=True) as conn:
        name = sql.Identifier(dbname)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _setup_platform(url: str) -> tuple[dict[str, Any], list[lib.Caller], dict[str, int]]:
    """A fresh benchmark database with the demo county and the townships' API keys."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["DJANGO_DEBUG"] = "0"  # no query log
    import environ

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise SystemExit("the benchmark needs PostgreSQL (--database-url postgres://…)")
    _log(f"creating the database {config['NAME']}")
    _recreate(config, config["NAME"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    _log("migrating, building the demo county (no history)")
    call_command("migrate", verbosity=0)
    call_command("demo_county", no_history=True, quiet=True)
    callers, items = lib.build_callers()
    connections.close_all()
    return config, callers, items


def _platform_env(url: str, workdir: Path) -> dict[str, str]:
    """config.settings.production as docs/deployment.md runs it, behind a TLS proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "XH_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": url,
            "XH_MEDIA_ROOT": str(workdir / "media"),
            "XH_STATIC_ROOT": str(workdir / "static"),
            "XH_TASKS_BACKEND": "db",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


# ---- the peer ----------------------------------------------------------------------------


def _peer_venv(venv: Path) -> Path:
    """The peer's Python, its virtual environment made (or remade, when the pins
    changed) with `python3 -m venv` and pip."""
    requirements = lib.PEER_DIR / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    marker = venv / "bench-requirements.sha256"
    python = venv / "bin" / "python"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    _log(f"creating the peer's virtual environment {venv} (pip install django-helpdesk)")
    subprocess.run(["python3", "-m", "venv", "--clear", str(venv)], check=True)  # noqa: S603, S607
    subprocess.run(  # noqa: S603
        [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True
    )
    marker.write_text(digest)
    return python


def _peer_env(config: dict[str, Any], workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "XH_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "peer_helpdesk.settings",
            "PEER_SECRET_KEY": secrets.token_urlsafe(48),
            "PEER_DB_NAME": PEER_DB,
            "PEER_DB_HOST": config.get("HOST") or "",
            "PEER_DB_USER": config.get("USER") or "",
            "PEER_MEDIA_ROOT": str(workdir / "helpdesk-media"),
            "PEER_STATIC_ROOT": str(workdir / "helpdesk-static"),
            "PYTHONPATH": str(ROOT / "bench"),
        }
    )
    return env


def _setup_peer(python: Path, config: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """A fresh helpdesk database, migrated, with the bench user, token and queue."""
    _log(f"creating the database {PEER_DB}, migrating helpdesk")
    _recreate(config, PEER_DB)
    cwd = ROOT / "bench"
    subprocess.run(  # noqa: S603
        [str(python), "-m", "django", "migrate", "-v0"], cwd=cwd, env=env, check=True
    )
    done = subprocess.run(  # noqa: S603
        [str(python), str(lib.PEER_DIR / "setup_peer.py")],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _peer_version(python: Path) -> str:
    script = (
        "import django; from importlib.metadata import version; "
        "print(version('django-helpdesk'), django.get_version())"
    )
    done = subprocess.run(  # noqa: S603
        [str(python), "-c", script], capture_output=True, text=True, check=True
    )
    helpdesk, django = done.stdout.split()
    return f"django-helpdesk {helpdesk} on Django {django}"


# ---- the rounds --------------------------------------------------------------------------


def _count(conn: Any, sql: str, params: list[Any]) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _check(
    what: str, result: lib.LoadResult, stored: int, *, expected: int, status: int = 201
) -> None:
    """Every request answered `status`, and the database holds `expected` new calls (or
    tickets): one per call sent."""
    answered = result.count(status)
    requests = sum(result.statuses.values())
    if result.failures:
        _log(f"{what}: {dict(result.statuses)}; e.g. {result.failures[0]}")
    if answered != requests or stored != expected or result.calls() != expected:
        raise SystemExit(
            f"{what}: {answered} of {requests} requests answered {status}, {result.calls()} "
            f"calls counted, {stored} rows stored of {expected} "
            f"({dict(result.statuses)}; {result.failures[:1]})"
        )


def _round(
    n: int,
    *,
    args: argparse.Namespace,
    config: dict[str, Any],
    platform_server: lib.Server,
    payloads: list[lib.Payload],
    peer: tuple[lib.Server, dict[str, Any]] | None,
    growth: dict[str, int] | None,
) -> lib.Round:
    conn = _connect(config, config["NAME"], autocommit=True)
    tag = f"r{n}"
    before = lib.table_counts(conn) if growth is not None else {}
    requests = [lib.call_request(p) for p in payloads]
    with lib.CpuMeter(platform_server.worker_pids, config["NAME"]) as cpu_platform:
        platform_result = lib.run_load(
            "127.0.0.1", platform_server.port, requests, clients=args.clients
        )
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM calls_call WHERE idempotency_key LIKE %s", [f"{tag}-%"]
        ).fetchall()
    ]
    _check("platform", platform_result, len(ids), expected=len(payloads))
    if growth is not None:
        growth.update(lib.grown(before, lib.table_counts(conn)))
    _log(
        f"round {n}: platform {platform_result.rate():,.1f} calls/s "
        f"(p50 {platform_result.p50 * 1000:.0f} ms, p99 {platform_result.p99 * 1000:.0f} ms)"
    )

    raw_result, cpu_raw = _raw(conn, ids, args=args, config=config, tag=f"raw{n}")
    _log(f"round {n}: raw {raw_result.rate():,.0f} calls/s")
    conn.close()

    result = lib.Round(
        platform=platform_result,
        raw=raw_result,
        cpu={
            "platform": (cpu_platform.web, cpu_platform.db),
            "raw": (cpu_raw.web, cpu_raw.db),
        },
    )
    if args.batch_size:
        _batch_round(
            n, args=args, config=config, server=platform_server, payloads=payloads, result=result
        )
    if peer is not None:
        server, info = peer
        with _connect(config, PEER_DB, autocommit=True) as peer_conn:
            tickets = _count(peer_conn, "SELECT count(*) FROM helpdesk_ticket", [])
            tickets_requests = [
                lib.ticket_request(p, queue=info["queue"], token=info["token"]) for p in payloads
            ]
            with lib.CpuMeter(server.worker_pids, PEER_DB) as cpu_peer:
                result.helpdesk = lib.run_load(
                    "127.0.0.1", server.port, tickets_requests, clients=args.clients
                )
            stored = _count(peer_conn, "SELECT count(*) FROM helpdesk_ticket", []) - tickets
        _check("helpdesk", result.helpdesk, stored, expected=len(payloads))
        result.cpu["helpdesk"] = (cpu_peer.web, cpu_peer.db)
        _log(f"round {n}: helpdesk {result.helpdesk.rate():,.1f} tickets/s")
    return result


def _raw(
    conn: Any,
    ids: list[int],
    *,
    args: argparse.Namespace,
    config: dict[str, Any],
    tag: str,
    per_transaction: int = 1,
) -> tuple[lib.LoadResult, lib.CpuMeter]:
    """The rows the API left for these calls, written again raw (keys `<tag>-<i>`) and
    checked: the round's limit, with the CPU of its database backends."""
    rowsets = lib.read_rows(conn, ids)
    cpu = lib.CpuMeter(list, config["NAME"])
    result = lib.raw_insert(
        " ".join(f"{k}={v}" for k, v in _conninfo(config, config["NAME"]).items()),
        rowsets,
        clients=args.clients,
        tag=tag,
        around=cpu,
        per_transaction=per_transaction,
    )
    stored = _count(
        conn, "SELECT count(*) FROM calls_call WHERE idempotency_key LIKE %s", [f"{tag}-%"]
    )
    _check(f"raw ({tag})", result, stored, expected=len(rowsets))
    return result, cpu


def _batch_round(
    n: int,
    *,
    args: argparse.Namespace,
    config: dict[str, Any],
    server: lib.Server,
    payloads: list[lib.Payload],
    result: lib.Round,
) -> None:
    """The same calls again through POST /calls/batch/ (`--batch-repeat` times, keys
    `b<n>-<i>`), then the rows they left written raw in transactions of the batch's size
    (keys `rawb<n>-<i>`)."""
    tag = f"b{n}"
    batched = [
        lib.Payload(key=p.key, body={**p.body, "idempotency_key": f"{tag}-{i}"})
        for i, p in enumerate(payloads * args.batch_repeat)
    ]
    requests = lib.batch_requests(batched, size=args.batch_size)
    conn = _connect(config, config["NAME"], autocommit=True)
    like = "SELECT id FROM calls_call WHERE idempotency_key LIKE %s"
    with lib.CpuMeter(server.worker_pids, config["NAME"]) as cpu_batch:
        batch = lib.run_load("127.0.0.1", server.port, requests, clients=args.clients)
    ids = [row[0] for row in conn.execute(like, [f"{tag}-%"]).fetchall()]
    batch.made = len(ids) if batch.count(200) == len(requests) else 0
    _check("batch", batch, len(ids), expected=len(batched), status=200)
    _log(
        f"round {n}: batch {batch.rate():,.1f} calls/s "
        f"({len(requests)} requests, p50 {batch.p50 * 1000:.0f} ms)"
    )
    raw, cpu_raw = _raw(
        conn, ids, args=args, config=config, tag=f"rawb{n}", per_transaction=args.batch_size
    )
    conn.close()
    _log(f"round {n}: raw batch {raw.rate():,.0f} calls/s")
    result.batch, result.raw_batch = batch, raw
    result.cpu["batch"] = (cpu_batch.web, cpu_batch.db)
    result.cpu["raw_batch"] = (cpu_raw.web, cpu_raw.db)


def _warm_up(
    server: lib.Server, requests: list[lib.Request], clients: int, what: str, status: int = 201
) -> None:
    """Untimed requests, so that every worker has loaded what it loads on first use (the
    routing model, translations) and holds its database connection."""
    if not requests:
        return
    result = lib.run_load("127.0.0.1", server.port, requests, clients=clients)
    if result.count(status) != len(requests):
        raise SystemExit(f"{what} warm-up: {dict(result.statuses)}; {result.failures[:1]}")


# ---- the report --------------------------------------------------------------------------


def _markdown(
    args: argparse.Namespace,
    rounds: list[lib.Round],
    *,
    loads: list[float],
    versions: dict[str, str],
    growth: dict[str, int],
    seconds: float,
) -> str:
    from xianghu.core.prepared import binding_summary

    command = (
        f"bench/intake.sh --calls {args.calls} --rounds {args.rounds} "
        f"--workers {args.workers} --clients {args.clients}"
        + (" --no-helpdesk" if args.no_helpdesk else "")
        + (f" --batch-size {args.batch_size}" if args.batch_size != 50 else "")
        + (f" --batch-repeat {args.batch_repeat}" if args.batch_repeat != 4 else "")
    )
    rows = lib.summary(rounds)
    per_call = ", ".join(f"`{t}` +{d / args.calls:g}" for t, d in sorted(growth.items()))
    copied = {"calls_call", *lib.CHILD_TABLES}
    missing = sorted(set(growth) - copied)
    lines = [
        f"- Command: `{command}` ({seconds / 60:.1f} min with the setup)",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL {versions['postgres']} (local socket, "
        f"synchronous_commit {versions['synchronous_commit']}); {datetime.now(UTC):%Y-%m-%d}; "
        f"1-minute load average before and after the rounds: "
        f"{', '.join(f'{load:.2f}' for load in loads)}",
        f"- Servers: gunicorn {versions['gunicorn']}, {args.workers} sync workers each; "
        f"xianghu on Django {versions['django']} with `config.settings.production` (DEBUG "
        f"off, `DATABASE_CONN_MAX_AGE` 60, the `db` task backend, no task worker running: a "
        f"new draft notifies nobody); {versions.get('helpdesk', 'helpdesk not run')}, DRF "
        f"token authentication, mail to the dummy backend",
        f"- Statements: {binding_summary()}",
        f"- Load: {args.calls:,} requests a round from {args.clients} client threads "
        f"(http.client), {args.rounds} rounds, each round platform → raw"
        + (" → batch → raw batch" if args.batch_size else "")
        + ("" if args.no_helpdesk else " → helpdesk")
        + f", after {args.warmup} untimed requests to each server"
        + (" (and the same calls in batches to the platform)" if args.batch_size else "")
        + "; every request a different call (the demo's stories in the 12 townships' "
        "villages) with its own Idempotency-Key",
        f"- Rows an API create leaves (round 1): {per_call}; the raw limit writes the call, "
        f"its `create` event and its routing suggestion again, one transaction per call from "
        f"{args.clients} connections (the outbox row the request writes and deletes, and "
        f"the suggestion's model run, are not repeated)"
        + (f"; **not copied: {', '.join(missing)}**" if missing else ""),
        "- Checked: after every round the database holds exactly one call (or ticket) per "
        "call sent, and every request was answered 201 (200 for a batch)",
        (
            f"- Batch: the round's calls {args.batch_repeat} times again through `POST "
            f"/api/v1/calls/batch/` ({args.calls * args.batch_repeat:,} calls a round), "
            f"{args.batch_size} calls of one township a request, each with its own key; "
            f"its limit is the same rows written raw in transactions of {args.batch_size} "
            f"calls (p50 and p99 of a batch request, of a transaction for the raw limits)"
            if args.batch_size
            else "- Batch: not run (`--batch-size 0`)"
        ),
        "",
        lib.markdown_table(rounds, batch_size=args.batch_size),
        "",
        "Medians over the rounds; each ratio is taken within a round. CPU ms a call: the "
        "gunicorn workers, the PostgreSQL backends of the contender's database (the server's "
        "shared WAL writer and checkpointer not included), and the load generator's process "
        "(client threads), from /proc, per call made.",
        "",
        lib.rounds_table(rounds),
        "",
    ]
    platform_row = rows["platform"]
    verdict = "met" if platform_row["to_raw"] >= 0.25 else "missed"
    line = (
        f"Targets: intake ≥ 25 % of the raw limit — {platform_row['to_raw'] * 100:.1f} % "
        f"({verdict})"
    )
    if "to_helpdesk" in platform_row:
        verdict = "met" if platform_row["to_helpdesk"] >= 5 else "missed"
        line += f"; ≥ 5× django-helpdesk — {platform_row['to_helpdesk']:.2f}× ({verdict})"
    batch_row = rows.get("batch")
    if batch_row is not None:
        line += (
            f". Batch: {batch_row['to_raw'] * 100:.1f} % of its raw limit "
            f"({'met' if batch_row['to_raw'] >= 0.25 else 'missed'}; "
            f"{batch_row['to_single_raw'] * 100:.0f} % of the one-call raw limit)"
        )
        if "to_helpdesk" in batch_row:
            line += (
                f", {batch_row['to_helpdesk']:.2f}× django-helpdesk "
                f"({'met' if batch_row['to_helpdesk'] >= 5 else 'missed'})"
            )
    lines.append(line + ".")
    return "\n".join(lines) + "\n"


def _versions(config: dict[str, Any]) -> dict[str, str]:
    from importlib.metadata import version

    import django

    with _connect(config, config["NAME"]) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
    return {
        "postgres": server.split()[0],
        "synchronous_commit": sync,
        "gunicorn": version("gunicorn"),
        "django": django.get_version(),
    }


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    began = time.perf_counter()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    config, callers, items = _setup_platform(args.database_url)
    versions = _versions(config)
    peer_python = None if args.no_helpdesk else _peer_venv(args.helpdesk_venv)
    peer_env = _peer_env(config, workdir)
    peer_info = _setup_peer(peer_python, config, peer_env) if peer_python else None
    if peer_python:
        versions["helpdesk"] = _peer_version(peer_python)

    payloads = lib.make_payloads(
        callers, items, count=args.warmup + args.calls * args.rounds, seed=args.seed, tag="x"
    )
    warm, timed = payloads[: args.warmup], payloads[args.warmup :]
    # Each round's own idempotency keys: `r<n>-<i>`, so its calls can be counted.
    per_round = [
        [
            lib.Payload(key=p.key, body={**p.body, "idempotency_key": f"r{n}-{i}"})
            for i, p in enumerate(timed[(n - 1) * args.calls : n * args.calls])
        ]
        for n in range(1, args.rounds + 1)
    ]
    warm = [
        lib.Payload(key=p.key, body={**p.body, "idempotency_key": f"w-{i}"})
        for i, p in enumerate(warm)
    ]

    url = args.database_url
    _log(
        f"starting gunicorn ({args.workers} workers) for xianghu"
        + ("" if args.no_helpdesk else " and helpdesk")
    )
    platform_server = lib.Server(
        gunicorn=str(ROOT / ".venv" / "bin" / "gunicorn"),
        app="config.wsgi:application",
        cwd=ROOT,
        env=_platform_env(url, workdir),
        workers=args.workers,
        log=workdir / "xianghu-gunicorn.log",
        ready_path="/healthz",
    )
    peer_server = None
    try:
        if peer_python is not None:
            peer_server = lib.Server(
                gunicorn=str(peer_python.parent / "gunicorn"),
                app="peer_helpdesk.wsgi:application",
                cwd=ROOT / "bench",
                env=peer_env,
                workers=args.workers,
                log=workdir / "helpdesk-gunicorn.log",
                ready_path="/helpdesk/api/",
            )
        platform_server.wait_ready()
        if peer_server is not None:
            peer_server.wait_ready()
        _log(f"warming up ({args.warmup} requests each)")
        _warm_up(platform_server, [lib.call_request(p) for p in warm], args.clients, "platform")
        if args.batch_size:
            # The batch endpoint too, a batch a client (new keys: these make calls again).
            again = [
                lib.Payload(key=p.key, body={**p.body, "idempotency_key": f"wb-{i}"})
                for i, p in enumerate(warm)
            ]
            size = max(1, min(args.batch_size, len(again) // max(1, args.clients)))
            _warm_up(
                platform_server,
                lib.batch_requests(again, size=size),
                args.clients,
                "platform batch",
                status=200,
            )
        peer = None
        if peer_server is not None and peer_info is not None:
            peer = (peer_server, peer_info)
            _warm_up(
                peer_server,
                [
                    lib.ticket_request(p, queue=peer_info["queue"], token=peer_info["token"])
                    for p in warm
                ],
                args.clients,
                "helpdesk",
            )
        loads = [os.getloadavg()[0]]  # other work on the machine skews every figure
        growth: dict[str, int] = {}
        rounds = []
        for n in range(1, args.rounds + 1):
            rounds.append(
                _round(
                    n,
                    args=args,
                    config=config,
                    platform_server=platform_server,
                    payloads=per_round[n - 1],
                    peer=peer,
                    growth=growth if n == 1 else None,
                )
            )
        loads.append(os.getloadavg()[0])
    finally:
        platform_server.stop()
        if peer_server is not None:
            peer_server.stop()
    block = _markdown(
        args,
        rounds,
        loads=loads,
        versions=versions,
        growth=growth,
        seconds=time.perf_counter() - began,
    )
    print()
    print(block, end="")
    if args.markdown:
        args.markdown.write_text(block, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
