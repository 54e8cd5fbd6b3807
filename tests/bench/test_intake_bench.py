"""The intake benchmark (bench/intake.py, docs/benchmarks.md "Intake") at a tiny size, so
that the script cannot rot: its request bodies are calls the API accepts, one create
leaves exactly the rows the raw path writes again, the load generator and the raw
inserts count what they did, the report adds up. On PostgreSQL also the raw inserts
themselves and a round through gunicorn with production settings. The django-helpdesk
peer (its own virtual environment from the registry) is not run here."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from bench import intake_lib as lib
from xianghu.calls.models import Call, CallEvent
from xianghu.routing.models import RoutingSuggestionLog

ROOT = Path(__file__).resolve().parents[2]


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")


def _county() -> tuple[list[lib.Caller], dict[str, int]]:
    call_command("demo_county", no_history=True, quiet=True)
    return lib.build_callers()


def _post(client: Client, payload: lib.Payload) -> int:
    request = lib.call_request(payload)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.headers.items()}
    headers.pop("HTTP_CONTENT_TYPE")
    response = client.post(
        request.path, data=request.body, content_type="application/json", **headers
    )
    assert response.status_code in (200, 201), response.content
    return response.status_code


def _conninfo() -> str:
    settings = connection.settings_dict
    parts = {
        "dbname": settings["NAME"],
        "host": settings.get("HOST"),
        "port": settings.get("PORT"),
        "user": settings.get("USER"),
        "password": settings.get("PASSWORD"),
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def test_the_bodies_are_calls_the_api_takes_and_leave_the_rows_the_raw_path_copies(db):
    callers, items = _county()
    assert len(callers) == 12  # the demo county's townships, a key each
    assert items
    payloads = lib.make_payloads(callers, items, count=30, seed=3, tag="t")
    again = lib.make_payloads(callers, items, count=30, seed=3, tag="t")
    assert [p.body for p in payloads] == [p.body for p in again]  # deterministic
    assert len({p.idempotency_key for p in payloads}) == 30
    assert len({p.body["title"] for p in payloads}) > 15  # varied texts
    assert {p.body["caller_id"] for p in payloads} == {c.org_id for c in callers}
    assert any("item_id" in p.body for p in payloads)

    client = Client()
    assert [_post(client, p) for p in payloads] == [201] * 30
    # What the raw path copies: a create event and a routing suggestion for each call.
    assert Call.objects.count() == 30
    assert CallEvent.objects.count() == 30
    assert RoutingSuggestionLog.objects.filter(call__isnull=False).count() == 30
    # A retry with the same key is answered from the call made: nothing new.
    assert _post(client, payloads[0]) == 200
    assert Call.objects.count() == 30

    # The batch contender's requests: a township's calls together, at most `size` each.
    batched = [
        lib.Payload(key=p.key, body={**p.body, "idempotency_key": f"b-{i}"})
        for i, p in enumerate(payloads)
    ]
    requests = lib.batch_requests(batched, size=2)
    bodies = [json.loads(r.body)["calls"] for r in requests]
    assert sorted(c["idempotency_key"] for b in bodies for c in b) == sorted(
        f"b-{i}" for i in range(30)
    )
    assert all(1 <= len(b) <= 2 and len({c["caller_id"] for c in b}) == 1 for b in bodies)
    created = 0
    for request in requests:
        response = client.post(
            request.path,
            data=request.body,
            content_type="application/json",
            HTTP_X_API_KEY=request.headers["X-API-Key"],
        )
        assert response.status_code == 200, response.content
        created += response.json()["created"]
    assert created == 30
    assert Call.objects.count() == 60

    ticket = json.loads(lib.ticket_request(payloads[0], queue=4, token="t0k").body)
    assert ticket["queue"] == 4
    assert ticket["title"] == payloads[0].body["title"]
    assert ticket["description"].startswith(payloads[0].body["description"])


def test_the_load_generator_counts_every_answer_and_its_latency():
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Idempotency-Key"])
            status = 201 if json.loads(body)["n"] % 3 else 409
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        requests = [
            lib.Request(
                path="/x", body=json.dumps({"n": n}).encode(), headers={"Idempotency-Key": str(n)}
            )
            for n in range(30)
        ]
        result = lib.run_load("127.0.0.1", server.server_address[1], requests, clients=3)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(seen, key=int) == [str(n) for n in range(30)]  # each sent once
    assert result.statuses == Counter({201: 20, 409: 10})
    assert len(result.latencies) == 30
    assert 0 < result.p50 <= result.p99
    assert result.rate() == pytest.approx(20 / result.seconds)
    assert result.failures[0].startswith("409")


def test_percentiles_and_the_report_add_up():
    assert lib.percentile([], 50) == 0
    assert lib.percentile([3, 1, 2], 50) == 2
    assert lib.percentile(list(range(1, 101)), 99) == 99
    assert lib.percentile(list(range(1, 101)), 100) == 100

    def result(rate: float, latency: float) -> lib.LoadResult:
        return lib.LoadResult(
            seconds=100 / rate, statuses=Counter({201: 100}), latencies=[latency] * 100
        )

    rounds = [
        lib.Round(
            platform=result(r, 0.05),
            raw=result(r * 10, 0.005),
            helpdesk=result(r / 2, 0.1),
            batch=result(r * 4, 0.5),
            raw_batch=result(r * 20, 0.05),
        )
        for r in (20, 30, 40)
    ]
    rounds[0].cpu = {"platform": (3.0, 1.0), "raw": (0.0, 0.2)}
    rows = lib.summary(rounds)
    assert rows["platform"]["rate"] == pytest.approx(30)
    assert rows["platform"]["to_raw"] == pytest.approx(0.1)
    assert rows["platform"]["to_helpdesk"] == pytest.approx(2)
    assert rows["platform"]["p50"] == pytest.approx(50)
    assert rows["platform"]["web_ms"] == pytest.approx(30)
    # The batch is compared with the raw inserts in transactions of its size.
    assert rows["batch"]["to_raw"] == pytest.approx(0.2)
    assert rows["batch"]["to_single_raw"] == pytest.approx(0.4)
    assert rows["batch"]["to_helpdesk"] == pytest.approx(8)
    table = lib.markdown_table(rounds, batch_size=50)
    assert "| xianghu `POST /api/v1/calls/` | 30 | 50.0 | 50.0 | 0.100 | 2.00 |" in table
    assert "| xianghu `POST /api/v1/calls/batch/`, 50 calls a request | 120 | 500.0 |" in table
    assert "a transaction per 50 calls (the batch's limit) | 600 |" in table
    assert "| 3 | 40.0 | 400 | 160.0 | 800 | 20.0 |" in lib.rounds_table(rounds)
    # A batch's calls count, not its requests.
    made = lib.LoadResult(seconds=2, statuses=Counter({200: 3}), made=150)
    assert made.calls() == 150
    assert made.rate() == pytest.approx(75)

    from bench import intake

    args = intake._args(["--calls", "100", "--rounds", "3"])
    block = intake._markdown(
        args,
        rounds,
        loads=[0.5, 0.7],
        versions={
            "postgres": "15",
            "synchronous_commit": "on",
            "gunicorn": "1",
            "django": "5.2",
            "helpdesk": "django-helpdesk 2.6.1",
        },
        growth={"calls_call": 100, "calls_callevent": 100, "notify_notification": 100},
        seconds=60,
    )
    assert "`bench/intake.sh --calls 100 --rounds 3 --workers 4 --clients 8`" in block
    assert "**not copied: notify_notification**" in block
    assert "10.0 % (missed)" in block
    assert "2.00× (missed)" in block
    assert "Batch: 20.0 % of its raw limit (missed; 40 % of the one-call raw limit), " in block
    assert "8.00× django-helpdesk (met)" in block
    with pytest.raises(SystemExit):
        intake._args(["--clients", "0"])


def test_cpu_used_leaves_out_processes_that_ended():
    before = {1: 2.0, 2: 5.0}
    # 1 used 1.5 s; 2 ended (unknown: left out, never negative); 3 started and used 0.25 s.
    assert lib.cpu_used(before, {1: 3.5, 3: 0.25}) == pytest.approx(1.75)
    assert lib.cpu_used(before, {}) == 0
    mine = lib.cpu_by_pid([os.getpid(), 999_999_999])
    assert list(mine) == [os.getpid()]
    assert mine[os.getpid()] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_raw_path_writes_the_rows_of_the_api_again():
    _needs_postgres()
    callers, items = _county()
    payloads = lib.make_payloads(callers, items, count=12, seed=5, tag="api")
    client = Client()
    for payload in payloads:
        _post(client, payload)
    ids = list(Call.objects.order_by("pk").values_list("pk", flat=True))
    import psycopg

    with psycopg.connect(_conninfo()) as conn:
        rowsets = lib.read_rows(conn, ids)
    assert [len(r.children) for r in rowsets] == [2] * 12
    meter = lib.CpuMeter(list, connection.settings_dict["NAME"])
    result = lib.raw_insert(_conninfo(), rowsets, clients=3, tag="raw", around=meter)
    assert result.statuses == Counter({201: 12})
    assert result.calls() == 12
    # In transactions of 5 calls (the batch's limit): 5 + 5 + 2.
    batched = lib.raw_insert(_conninfo(), rowsets, clients=2, tag="rawb", per_transaction=5)
    assert batched.statuses == Counter({201: 3})
    assert batched.calls() == 12
    assert Call.objects.filter(idempotency_key__startswith="rawb-").count() == 12
    assert meter.db >= 0  # clock ticks of 10 ms: a dozen inserts may show none
    copies = Call.objects.filter(idempotency_key__startswith="raw-").order_by("idempotency_key")
    assert copies.count() == 12
    fields = ["title", "description", "caller_id", "location_id", "item_id", "urgency", "state"]
    originals = {c.pk: c for c in Call.objects.filter(pk__in=ids)}
    for copy in copies:
        original = originals[ids[int(copy.idempotency_key.split("-")[1])]]
        assert [getattr(copy, f) for f in fields] == [getattr(original, f) for f in fields]
        assert copy.number == f"{original.number[:-6]}{copy.pk:06d}"
        assert copy.events.get().action == "create"
        assert RoutingSuggestionLog.objects.filter(call=copy).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_round_through_gunicorn_with_production_settings(tmp_path):
    _needs_postgres()
    from bench import intake

    callers, items = _county()
    payloads = lib.make_payloads(callers, items, count=16, seed=6, tag="g")
    settings = connection.settings_dict
    url = (
        f"postgres://{settings.get('USER') or ''}@/{settings['NAME']}"
        f"?host={settings.get('HOST') or '/var/run/postgresql'}"
    )
    env = intake._platform_env(url, tmp_path)
    env["DATABASE_CONN_MAX_AGE"] = "0"  # the test database is flushed right after
    with lib.Server(
        gunicorn=str(ROOT / ".venv" / "bin" / "gunicorn"),
        app="config.wsgi:application",
        cwd=ROOT,
        env=env,
        workers=1,
        log=tmp_path / "gunicorn.log",
        ready_path="/healthz",
    ) as server:
        server.wait_ready()
        with lib.CpuMeter(server.worker_pids, connection.settings_dict["NAME"]) as meter:
            result = lib.run_load(
                "127.0.0.1", server.port, [lib.call_request(p) for p in payloads], clients=2
            )
        batches = lib.batch_requests(
            [
                lib.Payload(key=p.key, body={**p.body, "idempotency_key": f"gb-{i}"})
                for i, p in enumerate(payloads)
            ],
            size=3,
        )
        batch = lib.run_load("127.0.0.1", server.port, batches, clients=2)
    assert result.statuses == Counter({201: 16}), result.failures
    assert Call.objects.filter(idempotency_key__startswith="g-").count() == 16
    assert meter.web > 0
    assert batch.statuses == Counter({200: len(batches)}), batch.failures
    assert Call.objects.filter(idempotency_key__startswith="gb-").count() == 16
