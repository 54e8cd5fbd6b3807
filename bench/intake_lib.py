"""The pieces of the intake benchmark (bench/intake.py, docs/benchmarks.md "Intake"):
the demo county's callers and their API keys, the request bodies, the HTTP load
generator, the raw psycopg copy of what the API wrote, the gunicorn servers and the
Markdown table. tests/bench/test_intake_bench.py runs them at a tiny size.

Nothing here imports Django at module level: the load generator, the raw inserts and the
servers also run where Django is not set up (and the peer in another virtual
environment).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / "bench" / "peer_helpdesk"
CALLS_PATH = "/api/v1/calls/"
BATCH_PATH = "/api/v1/calls/batch/"
TICKETS_PATH = "/helpdesk/api/tickets/"
# The rows one API create leaves behind besides its call (checked by `table_counts`
# around a round): its create event and the routing suggestion kept for its text. The
# outbox row is written and deleted again within the request, so it is not copied.
CHILD_TABLES = ("calls_callevent", "routing_routingsuggestionlog")
# helpdesk's priorities: 1 critical, 2 high, 3 normal (its default), 4 low, 5 very low.
HELPDESK_PRIORITY = {"urgent": 2, "normal": 3, "complex": 3}


# ---- the callers and what they send ------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A township government of the demo county, with an API key acting for it."""

    org_id: int
    name: str
    township: str  # its region's name, for the texts
    villages: tuple[tuple[str, str], ...]  # (region code, name)
    key: str


@dataclass(frozen=True)
class Payload:
    """One call as the township's system sends it; `body` is the JSON of POST /calls/."""

    key: str  # the caller's API key
    body: dict[str, Any]

    @property
    def idempotency_key(self) -> str:
        return str(self.body["idempotency_key"])


def build_callers(*, key_name: str = "bench-intake") -> tuple[list[Caller], dict[str, int]]:
    """An API key (role township_reporter, calls scopes) for every township of the demo
    county, and the callable items of the list in force by code. Needs the demo county
    (`manage.py demo_county`) and Django set up."""
    from xianghu.accounts.services import apikey_create
    from xianghu.catalog import selectors as catalog_selectors
    from xianghu.catalog.models import Item
    from xianghu.demo.county import COUNTY_CODE
    from xianghu.regions.models import Organisation, Region
    from xianghu.regions.roles import OrgKind, Role

    county = Region.objects.get(code=COUNTY_CODE)
    callers = []
    townships = Organisation.objects.filter(kind=OrgKind.TOWNSHIP, county=county).select_related(
        "township"
    )
    for org in townships.order_by("pk"):
        assert org.township is not None
        villages = tuple(
            Region.objects.filter(parent=org.township).order_by("code").values_list("code", "name")
        )
        _key, plain = apikey_create(
            actor=None,
            organisation=org,
            role=Role.TOWNSHIP_REPORTER,
            name=key_name,
            scopes=["calls:read", "calls:write"],
        )
        callers.append(
            Caller(
                org_id=org.pk,
                name=org.name,
                township=org.township.name,
                villages=villages or ((org.township.code, org.township.name),),
                key=plain,
            )
        )
    version = catalog_selectors.county_version_in_force(county=county)
    items: dict[str, int] = {}
    if version is not None:
        items = dict(Item.objects.filter(version=version, callable=True).values_list("code", "pk"))
    return callers, items


def make_payloads(
    callers: Sequence[Caller], items: Mapping[str, int], *, count: int, seed: int, tag: str
) -> list[Payload]:
    """`count` calls of the demo's stories (xianghu/demo/stories.py) filled with the
    callers' villages, roads, companies and people; each with its own idempotency key
    `<tag>-<n>`. Deterministic for a seed."""
    from xianghu.demo import stories

    rng = random.Random(seed)
    pool = [*stories.STORIES, *getattr(stories, "OUT_OF_LIST", ())]
    payloads = []
    for n in range(count):
        caller = callers[n % len(callers)]
        story = rng.choice(pool)
        code, name = rng.choice(caller.villages)
        road, road2 = rng.sample(stories.ROADS, 2)
        slots = {
            "t": caller.township,
            "v": name,
            "road": road,
            "road2": road2,
            "co": stories.company(rng, prefix=f"清河县{caller.township[:2]}"),
            "who": stories.person(rng),
            "n": str(rng.randint(3, 480)),
        }
        urgency = "urgent" if story.urgent else "complex" if story.complex else "normal"
        body: dict[str, Any] = {
            "caller_id": caller.org_id,
            "title": stories.fill(story.title, slots)[:120],
            "description": stories.fill(story.description, slots),
            "location_code": code,
            "urgency": urgency,
            "address": stories.fill(rng.choice(stories.ADDRESSES), slots)[:200],
            "idempotency_key": f"{tag}-{n}",
        }
        item = items.get(story.code) if story.code else None
        if item is not None:
            body["item_id"] = item
        payloads.append(Payload(key=caller.key, body=body))
    return payloads


def call_request(payload: Payload) -> Request:
    """POST /api/v1/calls/ as a township system behind the TLS proxy sends it."""
    return Request(
        path=CALLS_PATH,
        body=json.dumps(payload.body, ensure_ascii=False).encode(),
        headers={
            "Content-Type": "application/json",
            "X-API-Key": payload.key,
            "Idempotency-Key": payload.idempotency_key,
            # nginx terminates TLS and says so (production settings redirect plain HTTP).
            "X-Forwarded-Proto": "https",
        },
    )


def batch_requests(payloads: Sequence[Payload], *, size: int) -> list[Request]:
    """The payloads as POST /api/v1/calls/batch/ requests of `size` calls each, a
    township's calls together (its key acts for it), in the payloads' order otherwise."""
    by_key: dict[str, list[Payload]] = {}
    for payload in payloads:
        by_key.setdefault(payload.key, []).append(payload)
    chunks = [
        group[start : start + size]
        for group in by_key.values()
        for start in range(0, len(group), size)
    ]
    return [
        Request(
            path=BATCH_PATH,
            body=json.dumps({"calls": [p.body for p in chunk]}, ensure_ascii=False).encode(),
            headers={
                "Content-Type": "application/json",
                "X-API-Key": chunk[0].key,
                "X-Forwarded-Proto": "https",
            },
        )
        for chunk in chunks
    ]


def ticket_request(payload: Payload, *, queue: int, token: str) -> Request:
    """The same call as a django-helpdesk ticket: title, description (with the address),
    the urgency as a priority, in the bench queue."""
    body = payload.body
    return Request(
        path=TICKETS_PATH,
        body=json.dumps(
            {
                "queue": queue,
                "title": body["title"],
                "description": f"{body['description']}\n{body['address']}",
                "priority": HELPDESK_PRIORITY[body["urgency"]],
            },
            ensure_ascii=False,
        ).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )


# ---- the load generator ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: Mapping[str, str]


@dataclass
class LoadResult:
    """What one timed round gave: the status of every request (0: no answer) and its
    latency, the wall time from the first request to the last answer, and the CPU seconds
    the client process used meanwhile."""

    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    failures: list[str] = field(default_factory=list)  # a few bodies of refused requests
    # Calls made, when a request makes several (a batch); else the 201 answers.
    made: int | None = None

    def count(self, status: int) -> int:
        return self.statuses[status]

    def calls(self) -> int:
        return self.made if self.made is not None else self.count(201)

    def rate(self) -> float:
        """Calls made a second."""
        return self.calls() / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by the nearest-rank method (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def run_load(
    host: str, port: int, requests: Sequence[Request], *, clients: int, timeout: float = 60
) -> LoadResult:
    """Send the requests from `clients` threads, each with its own HTTP/1.1 connection
    (kept alive where the server allows; gunicorn's sync workers close it after every
    answer, and http.client then opens a new one). A thread takes the next request as
    soon as it has its answer, so the server always has `clients` requests in hand."""
    results: list[tuple[int, float, bytes]] = [(0, 0.0, b"")] * len(requests)
    order = itertools.count()  # next() on it is atomic under the GIL
    start = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        start.wait()
        while (index := next(order)) < len(requests):
            request = requests[index]
            began = time.perf_counter()
            try:
                conn.request("POST", request.path, body=request.body, headers=dict(request.headers))
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, data = 0, repr(exc).encode()
            results[index] = (status, time.perf_counter() - began, data)
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _n in range(clients)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result = LoadResult(seconds=time.perf_counter() - began, client_cpu=time.process_time() - cpu)
    for status, latency, data in results:
        result.statuses[status] += 1
        result.latencies.append(latency)
        if status not in (200, 201) and len(result.failures) < 3:
            result.failures.append(f"{status}: {data[:300].decode(errors='replace')}")
    return result


# ---- the raw limit ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowSet:
    """The rows one API create left: the call and its rows in CHILD_TABLES."""

    call: dict[str, Any]
    children: tuple[tuple[str, dict[str, Any]], ...]


def read_rows(conn: Any, call_ids: Sequence[int]) -> list[RowSet]:
    """The rows the API wrote for these calls (a psycopg connection), to be written again
    by `raw_insert`."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM calls_call WHERE id = ANY(%s) ORDER BY id", [list(call_ids)])
        calls = cur.fetchall()
        children: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for table in CHILD_TABLES:
            cur.execute(
                f"SELECT * FROM {table} WHERE call_id = ANY(%s) ORDER BY id",  # noqa: S608
                [list(call_ids)],
            )
            for row in cur.fetchall():
                children.setdefault(row["call_id"], []).append((table, row))
    return [RowSet(call=row, children=tuple(children.get(row["id"], ()))) for row in calls]


def _insert_sql(table: str, columns: Iterable[str]) -> str:
    names = list(columns)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608  (our own table names)
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )


def _values(row: Mapping[str, Any], columns: Sequence[str]) -> list[Any]:
    from psycopg.types.json import Jsonb

    return [Jsonb(row[c]) if isinstance(row[c], dict | list) else row[c] for c in columns]


def raw_insert(
    conninfo: str,
    rowsets: Sequence[RowSet],
    *,
    clients: int,
    tag: str,
    around: contextlib.AbstractContextManager[Any] | None = None,
    per_transaction: int = 1,
) -> LoadResult:
    """Write the rows again with plain psycopg, one transaction per call as the API
    commits per call (or per `per_transaction` calls, as the batch endpoint commits its
    batch), from `clients` threads with a connection each: the call (new id from its
    sequence, its number made from it as the service makes it, the idempotency key
    `<tag>-<n>`), then its event and its routing suggestion pointing at it. Nothing is
    read, checked or computed: the limit any intake of these rows is compared with.
    `around` (a `CpuMeter`) encloses the timed part, while the connections are open. A
    status and a latency per transaction; `made` counts the calls."""
    import psycopg

    call_columns = [c for c in rowsets[0].call if c not in ("id", "number", "idempotency_key")]
    call_sql = _insert_sql("calls_call", ["id", "number", "idempotency_key", *call_columns])
    child_columns: dict[str, list[str]] = {}
    for rowset in rowsets:
        for table, row in rowset.children:
            child_columns.setdefault(table, [c for c in row if c not in ("id", "call_id")])
    child_sql = {t: _insert_sql(t, ["call_id", *cols]) for t, cols in child_columns.items()}
    # Prepared once per row set (not timed): the values as psycopg sends them.
    prepared = [
        (
            row.call["number"][:-6],  # county code and date; the id's 6 digits follow
            _values(row.call, call_columns),
            [(t, _values(child, child_columns[t])) for t, child in row.children],
        )
        for row in rowsets
    ]
    connections = [psycopg.connect(conninfo) for _n in range(clients)]
    size = max(1, per_transaction)
    starts = range(0, len(prepared), size)
    results: list[tuple[int, float, bytes]] = [(0, 0.0, b"")] * len(starts)
    order = itertools.count()
    start = threading.Barrier(clients + 1)

    def client(conn: Any) -> None:
        start.wait()
        with conn.cursor() as cur:
            while (chunk := next(order)) < len(starts):
                began = time.perf_counter()
                try:
                    with conn.transaction():
                        first = starts[chunk]
                        for index in range(first, min(first + size, len(prepared))):
                            prefix, call_values, children = prepared[index]
                            cur.execute(
                                "SELECT nextval(pg_get_serial_sequence('calls_call', 'id'))"
                            )
                            call_id = cur.fetchone()[0]
                            cur.execute(
                                call_sql,
                                [call_id, f"{prefix}{call_id:06d}", f"{tag}-{index}", *call_values],
                            )
                            for table, values in children:
                                cur.execute(child_sql[table], [call_id, *values])
                    results[chunk] = (201, time.perf_counter() - began, b"")
                except psycopg.Error as exc:
                    results[chunk] = (0, time.perf_counter() - began, str(exc).encode())

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in connections]
    for thread in threads:
        thread.start()
    with around or contextlib.nullcontext():
        cpu = time.process_time()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
    result = LoadResult(seconds=seconds, client_cpu=time.process_time() - cpu)
    for conn in connections:
        conn.close()
    made = 0
    for chunk, (status, latency, data) in enumerate(results):
        result.statuses[status] += 1
        result.latencies.append(latency)
        if status == 201:
            made += min(size, len(prepared) - starts[chunk])
        elif len(result.failures) < 3:
            result.failures.append(data.decode(errors="replace")[:300])
    result.made = made
    return result


def table_counts(conn: Any) -> dict[str, int]:
    """Rows of every table of the public schema (a psycopg connection)."""
    counts = {}
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            counts[table] = cur.fetchone()[0]
    return counts


def grown(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """The tables whose number of rows changed, and by how much."""
    return {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}


# ---- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn serving a WSGI application on a free local port, its output in a log."""

    def __init__(
        self,
        *,
        gunicorn: str,
        app: str,
        cwd: Path,
        env: Mapping[str, str],
        workers: int,
        log: Path,
        ready_path: str,
    ) -> None:
        self.port = free_port()
        self.log = log
        self.ready_path = ready_path
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")  # noqa: SIM115  (kept for the process)
        self.proc = subprocess.Popen(  # noqa: S603  (our own command line)
            [
                gunicorn,
                app,
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                # Several servers run at once (and other tools may run one): no shared
                # control socket in ~/.gunicorn.
                "--no-control-socket",
            ],
            cwd=cwd,
            env=dict(env),
            stdout=self._log,
            stderr=self._log,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        """Until the server answers anything on `ready_path`."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                # As the TLS proxy sends it: production settings redirect plain HTTP.
                conn.request("GET", self.ready_path, headers={"X-Forwarded-Proto": "https"})
                conn.getresponse().read()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.3)
            finally:
                conn.close()
        raise RuntimeError(f"gunicorn did not answer on port {self.port}; see {self.log}")

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def children_of(pid: int) -> list[int]:
    pids = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
    return pids


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU seconds the processes used so far (0 for ended ones)."""
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """User and system CPU seconds of each process still running."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_used(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU seconds used between two readings by the processes running at the second
    (a process that ended in between is left out: what it used is unknown, and counting
    its start without its end would make the figure negative)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def postgres_pids(dbname: str) -> list[int]:
    """The local PostgreSQL server's backends connected to `dbname` (their process title
    names the database; the server's shared processes, autovacuum and other databases'
    backends, busy with other work on the machine, are left out)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                words = title.split()
                # Autovacuum works on the freshly built tables now and then: not the
                # requests' work.
                if words[:1] == ["postgres:"] and dbname in words and "autovacuum" not in words:
                    pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds used during a block by the web workers and by the PostgreSQL backends
    of one database (those running at its end: a backend that ends within the block is
    missed, so connections are opened before it and kept)."""

    def __init__(self, web: Callable[[], list[int]], dbname: str) -> None:
        self._web = web
        self._dbname = dbname
        self.web = self.db = 0.0

    def __enter__(self) -> CpuMeter:
        self._web0 = cpu_by_pid(self._web())
        self._db0 = cpu_by_pid(postgres_pids(self._dbname))
        return self

    def __exit__(self, *exc: object) -> None:
        self.web = cpu_used(self._web0, cpu_by_pid(self._web()))
        self.db = cpu_used(self._db0, cpu_by_pid(postgres_pids(self._dbname)))


# ---- the report --------------------------------------------------------------------------


@dataclass
class Round:
    """One round of each contender (None: not run)."""

    platform: LoadResult
    raw: LoadResult
    helpdesk: LoadResult | None = None
    batch: LoadResult | None = None  # POST /calls/batch/
    raw_batch: LoadResult | None = None  # the raw inserts, a transaction per batch
    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)  # name: (web, db)

    def limit(self, name: str) -> LoadResult:
        """The raw limit a contender is compared with: the same rows in transactions of
        the same size."""
        if name in ("batch", "raw_batch"):
            assert self.raw_batch is not None
            return self.raw_batch
        return self.raw


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else 0.0


def summary(rounds: Sequence[Round]) -> dict[str, dict[str, float]]:
    """Per contender the medians over the rounds of the rate (201s a second), p50 and p99
    (ms), and the median of the per-round ratios to the raw limit and to helpdesk."""
    out: dict[str, dict[str, float]] = {}
    names = ["platform", "raw"]
    if all(r.batch and r.raw_batch for r in rounds):
        names += ["batch", "raw_batch"]
    if all(r.helpdesk for r in rounds):
        names.append("helpdesk")
    for name in names:
        runs: list[LoadResult] = [getattr(r, name) for r in rounds]
        row = {
            "rate": median(r.rate() for r in runs),
            "p50": median(r.p50 * 1000 for r in runs),
            "p99": median(r.p99 * 1000 for r in runs),
            "to_raw": median(getattr(r, name).rate() / r.limit(name).rate() for r in rounds),
            "to_single_raw": median(getattr(r, name).rate() / r.raw.rate() for r in rounds),
        }
        if "helpdesk" in names:
            row["to_helpdesk"] = median(
                getattr(r, name).rate() / r.helpdesk.rate()  # type: ignore[union-attr]
                for r in rounds
            )
        cpu = [r.cpu[name] for r in rounds if name in r.cpu]
        calls = [getattr(r, name).calls() for r in rounds if name in r.cpu]
        if cpu:
            row["web_ms"] = median(c[0] / n * 1000 for c, n in zip(cpu, calls, strict=True))
            row["db_ms"] = median(c[1] / n * 1000 for c, n in zip(cpu, calls, strict=True))
        row["client_ms"] = median(r.client_cpu / max(r.calls(), 1) * 1000 for r in runs)
        out[name] = row
    return out


LABELS = {
    "platform": "xianghu `POST /api/v1/calls/`",
    "raw": "raw psycopg inserts of the same rows (the limit)",
    "batch": "xianghu `POST /api/v1/calls/batch/`, {size} calls a request",
    "raw_batch": "raw psycopg inserts, a transaction per {size} calls (the batch's limit)",
    "helpdesk": "django-helpdesk 2.6.1 `POST /helpdesk/api/tickets/`",
}


def markdown_table(rounds: Sequence[Round], *, batch_size: int = 0) -> str:
    """Per contender calls/s, latencies (of a request; of a transaction for the raw
    limits), the ratio to its raw limit (for the batch: the raw inserts in transactions of
    its size) and to helpdesk, and CPU a call."""
    rows = summary(rounds)
    has_helpdesk = "helpdesk" in rows
    head = "| contender | calls/s | p50 ms | p99 ms | ÷ raw limit |"
    rule = "|---|---:|---:|---:|---:|"
    if has_helpdesk:
        head += " ÷ helpdesk |"
        rule += "---:|"
    head += " CPU ms a call: web / PostgreSQL / client |"
    rule += "---|"
    lines = [head, rule]
    for name, row in rows.items():
        cells = [
            LABELS[name].format(size=batch_size),
            f"{row['rate']:,.0f}",
            f"{row['p50']:,.1f}",
            f"{row['p99']:,.1f}",
            f"{row['to_raw']:.3f}",
        ]
        if has_helpdesk:
            cells.append(f"{row['to_helpdesk']:.2f}")
        web = f"{row['web_ms']:.1f}" if "web_ms" in row and not name.startswith("raw") else "–"
        db = f"{row['db_ms']:.1f}" if "db_ms" in row else "–"
        cells.append(f"{web} / {db} / {row['client_ms']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rounds_table(rounds: Sequence[Round]) -> str:
    """Every round's rates, to show the spread behind the medians."""
    lines = [
        "| round | xianghu calls/s | raw calls/s | xianghu batch calls/s | raw batch calls/s "
        "| helpdesk tickets/s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in enumerate(rounds, 1):
        helpdesk = f"{r.helpdesk.rate():,.1f}" if r.helpdesk else "–"
        batch = f"{r.batch.rate():,.1f}" if r.batch else "–"
        raw_batch = f"{r.raw_batch.rate():,.0f}" if r.raw_batch else "–"
        lines.append(
            f"| {n} | {r.platform.rate():,.1f} | {r.raw.rate():,.0f} | {batch} | {raw_batch} "
            f"| {helpdesk} |"
        )
    return "\n".join(lines)
