"""Crash-safety harness (docs/reliability.md, "Crash safety").

A throw-away PostgreSQL cluster on a free port, gunicorn (production settings, DEBUG off)
and `manage.py worker` processes on it; client processes that create calls with
idempotency keys and walk them through the workflow over HTTP with API keys, retrying
every request whose answer was lost (connection error, timeout, 5xx) unchanged; a chaos
loop that SIGKILLs gunicorn workers (the master respawns them) and task workers (the
harness restarts them) and restarts PostgreSQL with `pg_ctl restart -m immediate`. Then
the database is checked against what the clients were told (`check`).

What "exactly once" means here:
- a call whose creation was acknowledged (2xx) exists once under its idempotency key, with
  the id the client was given; a retry of a lost creation returns that call (200);
- an action is sent with an idempotency key (and `expected_state`), so a retry of an
  action that was applied but whose answer was lost gets the event the first attempt
  made instead of a second one — the walk's `note`, which does not change the state,
  included (without a key a state-changing step's retry is refused with 409
  `call.state_changed`, counted as applied-unacknowledged). An acknowledged action's
  event (by the id the client was given) exists; no call has two events of one workflow
  step (the walk is linear); every call's state equals the replay of its events, and its
  events are numbered 1..n without gaps;
- queued tasks all finished (none left READY or RUNNING once the workers have drained);
- every event that notifies someone has its inbox notifications, those of events whose
  process was killed right after the commit too (the event outbox's relay), and the
  outbox is empty;
- a last supervision sweep finds nothing left to do (the periodic sweeps of the killed
  and restarted workers caught up) and no sweep action was issued twice.

Used by tests/reliability/test_crash_safety.py (small load) and bench/crash_safety.sh
(large load): `python -m tests.reliability.harness run --calls 5000 ...`. The `seed`,
`drain` and `check` sub-commands run inside the cluster's Django environment (they are
started by `run`, not by hand).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LOCK_FILE = Path(tempfile.gettempdir()) / "xianghu-crash-safety.lock"
# collectstatic's output (production settings serve a manifest), kept between runs and
# collected again when a static file is newer than it.
STATIC_CACHE = Path(tempfile.gettempdir()) / "xianghu-crash-safety-static"

# The workflow steps the clients take, in order: (action, key of the API key, data, the
# state the action leads to).
WALK: list[tuple[str, str, dict[str, Any], str]] = [
    ("submit", "reporter", {}, "submitted"),
    ("approve", "leader", {}, "approved"),
    ("accept", "operator", {}, "accepted"),
    ("dispatch", "operator", {"lead": "$dept"}, "dispatched"),
    ("sign", "handler", {}, "signed"),
    ("respond", "handler", {"mode": "contact"}, "in_progress"),
    # A step that does not change the state: only its idempotency key stops a retry from
    # adding it twice.
    ("note", "handler", {"text": "已联系企业负责人，督促整改"}, "in_progress"),
    ("complete", "handler", {"result": "已督促整改完毕"}, "awaiting_evaluation"),
    ("evaluate", "reporter", {"evaluation": "satisfied", "resolved": "yes"}, "closed"),
]
WALK_ACTIONS = {step[0] for step in WALK}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_binaries() -> str | None:
    """The folder of initdb/pg_ctl, or None when this machine has none."""
    found = shutil.which("initdb")
    if found:
        return str(Path(found).resolve().parent)
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        return str(candidate.parent)
    return None


# ---- the throw-away PostgreSQL cluster -------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster in a temporary folder on a free port. As root, the server runs
    as the `postgres` user (initdb refuses root)."""

    def __init__(self, workdir: Path, bindir: str) -> None:
        self.dir = workdir / "pg"
        self.data = self.dir / "data"
        self.bindir = bindir
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(Path(self.bindir) / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(
            cmd, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> None:
        self.dir.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
            # The temporary parent must be traversable by postgres.
            os.chmod(self.dir.parent, 0o755)  # noqa: S103  (a private temporary folder)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")  # fmt: skip
        self.start_server()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "xianghu")

    def start_server(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                  "-o", self._options(), "start")  # fmt: skip

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=60 -c shared_buffers=32MB -c fsync=off -c full_page_writes=off"
        )

    def restart(self) -> float:
        """Crash-restart the server (no shutdown checkpoint, recovery from the WAL); returns
        the seconds it took."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-o",
                  self._options(), "restart")  # fmt: skip
        return time.monotonic() - started

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/xianghu"


# ---- processes -----------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        fields = text[text.rfind(")") + 2 :].split()
        if fields and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass
class Figures:
    calls_planned: int = 0
    requests: int = 0
    retried_requests: int = 0
    acknowledged: int = 0
    calls_acknowledged: int = 0
    actions_acknowledged: int = 0
    actions_applied_unacknowledged: int = 0
    client_errors: int = 0
    web_kills: int = 0
    worker_kills: int = 0
    worker_exits: int = 0  # task workers that stopped by themselves (restarted)
    web_master_alive: bool = True
    pg_restarts: int = 0
    seconds: float = 0.0
    # From the check:
    calls_in_database: int = 0
    events_in_database: int = 0
    lost_calls: int = 0
    duplicated_calls: int = 0
    wrong_call_ids: int = 0
    lost_actions: int = 0
    duplicated_events: int = 0
    state_mismatches: int = 0
    sequence_gaps: int = 0
    tasks_total: int = 0
    tasks_unfinished: int = 0
    tasks_failed: int = 0
    notifications_missing: int = 0
    outbox_left: int = 0
    channel_deliveries_missing: int = 0
    sweep_runs: int = 0
    sweep_duplicates: int = 0
    sweep_left: int = 0
    overdue_calls: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """Everything that must be 0."""
        return (
            self.lost_calls
            + self.duplicated_calls
            + self.wrong_call_ids
            + self.lost_actions
            + self.duplicated_events
            + self.state_mismatches
            + self.sequence_gaps
            + self.tasks_unfinished
            + self.tasks_failed
            + self.sweep_duplicates
            + self.sweep_left
            + self.notifications_missing
            + self.outbox_left
            + self.channel_deliveries_missing
            + self.client_errors
            + (0 if self.web_master_alive else 1)
        )

    def lines(self) -> list[str]:
        data = asdict(self)
        errors = data.pop("errors")
        out = [f"{name:32} {value}" for name, value in data.items()]
        out += [f"error: {e}" for e in errors[:20]]
        return out


@dataclass
class Load:
    calls: int = 150
    clients: int = 4
    web_workers: int = 3
    task_workers: int = 2
    chaos_interval: float = 2.5  # seconds between two kills, at least
    chaos_progress: int = 10  # answers the clients got since the last kill, at least
    pg_restarts: int = 1
    overdue_calls: int = 10
    request_deadline: float = 120.0  # give up retrying one request after this long
    chaos: bool = True  # kill web and task workers (PostgreSQL restarts: `pg_restarts`)
    tasks_backend: str = "db"  # or "rq": RQ on Redis (`redis_url`, a database it may empty)
    redis_url: str = ""
    run_timeout: float = 1800.0  # give up the whole run after this long


class Stack:
    """The cluster, gunicorn and the task workers of one run."""

    def __init__(self, load: Load, workdir: Path, bindir: str) -> None:
        self.load = load
        self.workdir = workdir
        self.cluster = Cluster(workdir, bindir)
        self.web_port = free_port()
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "XH_"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "DJANGO_SECRET_KEY": "crash-safety-" + "k" * 50,
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "XH_SECURE_SSL_REDIRECT": "false",
                "DATABASE_URL": self.cluster.url,
                "XH_MEDIA_ROOT": str(self.workdir / "media"),
                "XH_STATIC_ROOT": str(STATIC_CACHE),
                "XH_LOG_FORMAT": "text",
                "XH_LOG_LEVEL": "WARNING",
                # Evidence photos are checked elsewhere; this run is about crashes.
                "XH_EVIDENCE_REQUIRED": "",
                "XH_WORKER_HEARTBEAT_SECONDS": "3",
                "XH_SUPERVISION_SWEEP_SECONDS": "2",
                "XH_WEBHOOK_RETRY_SWEEP_SECONDS": "5",
                "XH_OUTBOX_RELAY_SECONDS": "2",
                "XH_OUTBOX_GRACE_SECONDS": "5",
                "XH_TASKS_BACKEND": self.load.tasks_backend,
                "PYTHONPATH": str(ROOT),
            }
        )
        if self.load.redis_url:
            env["XH_REDIS_URL"] = self.load.redis_url
        return env

    def manage(self, *args: str, timeout: float = 300, settings: str | None = None) -> str:
        env = self.env
        if settings is not None:
            env["DJANGO_SETTINGS_MODULE"] = settings
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def harness(self, *args: str, timeout: float = 300) -> dict[str, Any]:
        done = subprocess.run(
            [PYTHON, "-m", "tests.reliability.harness", *args],
            cwd=ROOT,
            env=self.env,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"harness {args[0]} failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def start(self) -> dict[str, Any]:
        if self.load.tasks_backend == "rq":
            import redis

            redis.Redis.from_url(self.load.redis_url).flushdb()
        self.cluster.start()
        begun = time.monotonic()
        # The schema from the models, as the suite makes it (`--no-migrations`): applying
        # every migration takes minutes on a busy machine; the triggers of the append-only
        # logs are installed after migrate either way.
        self.manage("migrate", "--no-input", "--run-syncdb", "-v0",
                    settings="tests.reliability.settings", timeout=600)  # fmt: skip
        migrated = time.monotonic()
        self._collect_static()
        seed = self.harness("seed", "--overdue", str(self.load.overdue_calls))
        seed["timing"] = f"migrate {migrated - begun:.0f}s, seed {time.monotonic() - migrated:.0f}s"
        log = open(self.logs / "gunicorn.log", "ab")  # noqa: SIM115  (kept for the process)
        # --preload: the master imports the app once, so a killed worker is replaced at
        # once (without it a busy machine may boot workers slower than they are killed).
        self.gunicorn = subprocess.Popen(
            [
                GUNICORN,
                "config.wsgi:application",
                "--workers",
                str(self.load.web_workers),
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--preload",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        for _n in range(self.load.task_workers):
            self.workers.append(self._worker())
        self._wait_healthy()
        return seed

    def _collect_static(self) -> None:
        manifest = STATIC_CACHE / "staticfiles.json"
        newest = max(
            (p.stat().st_mtime for p in (ROOT / "xianghu" / "static").rglob("*") if p.is_file()),
            default=0.0,
        )
        if not manifest.exists() or manifest.stat().st_mtime < newest:
            self.manage("collectstatic", "--no-input", "-v0", timeout=600)

    def restart_exited_workers(self) -> int:
        """Start again the task workers that exited by themselves (systemd would)."""
        restarted = 0
        for index, proc in enumerate(self.workers):
            if proc.poll() is not None:
                self.workers[index] = self._worker()
                restarted += 1
        return restarted

    def _worker(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / "workers.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            [PYTHON, "manage.py", "worker", "--interval", "0.2", "--no-startup-delay"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def _wait_healthy(self, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with (
                contextlib.suppress(Exception),
                urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as r,  # noqa: S310
            ):
                if r.status == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer /healthz")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def kill_web_worker(self, rng: random.Random) -> bool:
        assert self.gunicorn is not None
        pids = children_of(self.gunicorn.pid)
        if not pids:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(rng.choice(pids), signal.SIGKILL)
            return True
        return False

    def kill_task_worker(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.workers))
        victim = self.workers[index]
        victim.kill()
        victim.wait()
        self.workers[index] = self._worker()

    def stop(self) -> None:
        for proc in [*self.workers, self.gunicorn]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.gunicorn]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.cluster.stop()


# ---- the clients ------------------------------------------------------------------------


class Client:
    """One client process: HTTP with retries of lost answers, records what was acknowledged."""

    def __init__(self, base: str, keys: dict[str, str], deadline: float) -> None:
        self.base = base
        self.keys = keys
        self.deadline = deadline
        self.requests = 0
        self.retried = 0

    def send(
        self, path: str, body: dict[str, Any], who: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST until an answer that is not a lost one (connection error, timeout, 5xx)."""
        data = json.dumps(body).encode()
        end = time.monotonic() + self.deadline
        pause = 0.05
        first = True
        while True:
            if not first:
                self.retried += 1
            first = False
            self.requests += 1
            request = urllib.request.Request(  # noqa: S310  (our own server)
                f"{self.base}/api/v1/calls{path}",
                data=data,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-Api-Key": self.keys[who],
                    **(headers or {}),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
                    return response.status, json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    try:
                        return error.code, json.loads(error.read() or b"{}")
                    except (ValueError, OSError, http.client.HTTPException):
                        pass  # the answer was cut short: ask again (keys make it safe)
            except (OSError, ValueError, http.client.HTTPException):
                pass  # connection refused or reset, timeout, a half-read answer
            if time.monotonic() > end:
                return 0, {"code": "client.gave_up"}
            time.sleep(pause + random.random() * pause)
            pause = min(pause * 2, 1.0)


def run_client(args: tuple[Any, ...]) -> dict[str, Any]:
    """Create calls `numbers` and walk each through some of `WALK` (forked process)."""
    index, base, seed, numbers, deadline, progress, created = args
    rng = random.Random(index * 7919 + len(numbers))
    client = Client(base, seed["keys"], deadline)
    calls: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    unacked: list[dict[str, Any]] = []
    errors: list[str] = []
    for number in numbers:
        key = f"{seed['run']}-{number}"
        body = {
            "caller_id": seed["caller_id"],
            "title": f"压力测试呼叫 {number}",
            "description": "企业厂房堆放易燃物品，存在安全隐患。",
            "location_code": seed["location_code"],
            "item_id": seed["item_id"],
        }
        status, out = client.send("/", body, "reporter", {"Idempotency-Key": key})
        with progress.get_lock():
            progress.value += 1
        with created.get_lock():
            created.value += 1
        if status not in (200, 201):
            errors.append(f"create {key}: {status} {out.get('code')}")
            continue
        call_id = out["id"]
        calls.append({"key": key, "id": call_id, "status": status})
        # Most calls go the whole way; some stop on the way, so states vary.
        steps = WALK if rng.random() < 0.7 else WALK[: rng.randrange(len(WALK))]
        state = "draft"
        for step, (action, who, data, target) in enumerate(steps):
            data = {k: (seed["dept_id"] if v == "$dept" else v) for k, v in data.items()}
            status, out = client.send(
                f"/{call_id}/actions/{action}",
                {"data": data, "expected_state": state},
                who,
                {"Idempotency-Key": f"{key}-{step}"},
            )
            with progress.get_lock():
                progress.value += 1
            if status == 200:
                event = out["event"]
                actions.append(
                    {"call": call_id, "action": action, "seq": event["seq"], "to": target}
                )
                state = target
                continue
            detail = out.get("detail") or {}
            if (
                status == 409
                and out.get("code") == "call.state_changed"
                and isinstance(detail, dict)
                and detail.get("state") == target
            ):
                # Applied by an earlier attempt whose answer was lost: not applied twice.
                unacked.append({"call": call_id, "action": action})
                state = target
                continue
            errors.append(f"{action} on call {call_id}: {status} {out.get('code')}")
            break
    return {
        "calls": calls,
        "actions": actions,
        "unacked": unacked,
        "errors": errors,
        "requests": client.requests,
        "retried": client.retried,
    }


def _client_main(job: tuple[Any, ...], queue: Any) -> None:
    try:
        result = run_client(job)
    except BaseException:  # reported as a client error, with its traceback
        import traceback

        result = {
            "calls": [],
            "actions": [],
            "unacked": [],
            "errors": [f"client {job[0]} crashed: {traceback.format_exc()}"],
            "requests": 0,
            "retried": 0,
        }
    queue.put(result)


# ---- the run --------------------------------------------------------------------------------


def run(load: Load, *, workdir: Path | None = None, log: Any = print) -> Figures:
    bindir = postgres_binaries()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="xh-crash-")) if workdir is None else workdir
    figures = Figures(calls_planned=load.calls)
    stack = Stack(load, workdir, bindir)
    rng = random.Random(load.calls)
    started = time.monotonic()
    try:
        log(f"cluster on port {stack.cluster.port}, gunicorn on {stack.web_port}, in {workdir}")
        seed = stack.start()
        seed["run"] = secrets.token_hex(4)
        log(
            f"ready in {time.monotonic() - started:.1f}s ({seed['timing']}); running {load.calls} calls"
        )
        ctx = multiprocessing.get_context("fork")
        # Answers received (to pace the chaos) and calls created (to place the restarts).
        progress = ctx.Value("i", 0)
        created = ctx.Value("i", 0)
        numbers = list(range(load.calls))
        jobs = [
            (
                i,
                stack.base,
                seed,
                numbers[i :: load.clients],
                load.request_deadline,
                progress,
                created,
            )
            for i in range(load.clients)
        ]
        run_started = time.monotonic()
        queue = ctx.Queue()
        procs = [ctx.Process(target=_client_main, args=(job, queue)) for job in jobs]
        for proc in procs:
            proc.start()
        restart_marks = [
            load.calls * (n + 1) // (load.pg_restarts + 1) for n in range(load.pg_restarts)
        ]
        results: list[dict[str, Any]] = []
        turn = 0
        # Each kill waits until the clients got `chaos_progress` answers since the last
        # one, so that a slow machine recovers between kills instead of never serving.
        last_progress = 0
        while len(results) < len(procs):
            try:
                results.append(queue.get(timeout=load.chaos_interval * (0.5 + rng.random())))
                continue
            except Empty:
                pass
            if not any(proc.is_alive() for proc in procs):
                # All exited: what they sent is in the pipe (or one really died).
                try:
                    while len(results) < len(procs):
                        results.append(queue.get(timeout=10))
                except Empty:
                    codes = [proc.exitcode for proc in procs]
                    raise RuntimeError(
                        f"a client died without a result (exit codes {codes})"
                    ) from None
                break
            if time.monotonic() - run_started > load.run_timeout:
                for proc in procs:
                    proc.kill()
                raise RuntimeError(f"the clients did not finish within {load.run_timeout} s")
            if not load.chaos or progress.value - last_progress < load.chaos_progress:
                continue
            last_progress = progress.value
            if restart_marks and created.value >= restart_marks[0]:
                restart_marks.pop(0)
                took = stack.cluster.restart()
                figures.pg_restarts += 1
                log(f"PostgreSQL restarted (-m immediate) in {took:.1f}s")
                continue
            figures.worker_exits += stack.restart_exited_workers()
            turn += 1
            if turn % 3 == 0:
                stack.kill_task_worker(rng)
                figures.worker_kills += 1
            elif stack.kill_web_worker(rng):
                figures.web_kills += 1
        for proc in procs:
            proc.join()
        assert stack.gunicorn is not None
        figures.web_master_alive = stack.gunicorn.poll() is None
        figures.seconds = round(time.monotonic() - run_started, 1)
        log(
            f"clients done in {figures.seconds}s: {figures.web_kills} web kills, "
            f"{figures.worker_kills} worker kills, {figures.pg_restarts} PostgreSQL restarts"
        )
        # The restarts missed by a restart mark (a fast run) still happen, before the checks.
        while figures.pg_restarts < load.pg_restarts:
            stack.cluster.restart()
            figures.pg_restarts += 1
        acks = {"calls": [], "actions": [], "unacked": [], "run": seed["run"]}
        for result in results:
            acks["calls"] += result["calls"]
            acks["actions"] += result["actions"]
            acks["unacked"] += result["unacked"]
            figures.errors += result["errors"]
            figures.requests += result["requests"]
            figures.retried_requests += result["retried"]
        figures.client_errors = len(figures.errors)
        figures.calls_acknowledged = len(acks["calls"])
        figures.actions_acknowledged = len(acks["actions"])
        figures.actions_applied_unacknowledged = len(acks["unacked"])
        figures.acknowledged = figures.calls_acknowledged + figures.actions_acknowledged
        # The workers work off what is queued and run the sweep once more after the chaos.
        figures.worker_exits += stack.restart_exited_workers()
        drained = stack.harness("drain", "--timeout", "120", timeout=200)
        if not drained["drained"]:
            figures.errors.append("the workers did not drain the queue within 120 s")
        stack.stop()
        # The check runs on the cluster alone, with no process left to catch up for it.
        stack.cluster.start_server()
        acks_file = workdir / "acks.json"
        acks_file.write_text(json.dumps(acks))
        since = ("--drained-at", drained["at"]) if drained.get("at") else ()
        checked = stack.harness("check", "--acks", str(acks_file), *since, timeout=600)
        for name, value in checked.items():
            if name == "errors":
                figures.errors += value
            else:
                setattr(figures, name, value)
        return figures
    finally:
        stack.stop()
        if own and not os.environ.get("XH_KEEP_CRASH_DIR"):
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One run at a time on this machine (the test and the benchmark, two CI runs)."""
    import fcntl

    with open(LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---- inside the cluster's Django (sub-commands) ------------------------------------------


def _django() -> None:
    import django

    django.setup()


def seed(overdue: int) -> dict[str, Any]:
    """A county with one township, the platform and a department, the list in force, a
    user per role (notification recipients) and an API key per role; `overdue` calls
    dispatched three weeks ago and never signed for, for the sweep to card."""
    _django()
    from datetime import timedelta

    from django.utils import timezone

    from tests import factories as f
    from tests.catalog.conftest import GUIDANCE_SPECS
    from xianghu.accounts.services import apikey_create
    from xianghu.calls import services as call_services
    from xianghu.catalog import services as catalog
    from xianghu.catalog.models import ScopeLevel
    from xianghu.core.models import CalendarYear, Holiday
    from xianghu.core.workdays import PACKAGE_YEARS, seed_from_chinesecalendar
    from xianghu.regions.roles import OrgKind, Role
    from xianghu.regions.selectors import actor_for_user

    # What the data migration core/0003 does (the schema was made without migrations).
    seed_from_chinesecalendar(PACKAGE_YEARS, holiday_model=Holiday, year_model=CalendarYear)
    county = f.county()
    t1 = f.township(county, 1, "王庄镇")
    orgs = {
        "t1": f.township_gov(t1),
        "dept": f.department(county, "应急管理局"),
        "police": f.department(county, "公安局"),
        "platform": f.county_org(county, OrgKind.PLATFORM_CENTRE, "清河县乡呼县应指挥中心"),
    }
    roles = {
        "reporter": ("t1", Role.TOWNSHIP_REPORTER),
        "leader": ("t1", Role.TOWNSHIP_LEADER),
        "operator": ("platform", Role.PLATFORM_OPERATOR),
        "handler": ("dept", Role.DEPARTMENT_HANDLER),
    }
    users = {}
    keys = {}
    for name, (org, role) in roles.items():
        users[name] = f.UserFactory(username=name)
        f.MembershipFactory(user=users[name], organisation=orgs[org], role=role)
        _key, keys[name] = apikey_create(
            actor=None, organisation=orgs[org], role=role, name=f"crash-{name}"
        )
    guidance_catalogue = catalog.catalogue_get_or_create(
        level=ScopeLevel.PROVINCE, region=f.province(), name="指导目录"
    )
    guidance = catalog.version_create_draft(
        catalogue=guidance_catalogue, specs=GUIDANCE_SPECS, title="指导目录（第1版）"
    )
    catalog.version_publish(version=guidance)
    county_catalogue = catalog.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=county, name="清单", guidance=guidance_catalogue
    )
    version = catalog.version_derive(
        catalogue=county_catalogue, guidance=guidance, title="清单（第1版）"
    )
    catalog.version_publish(version=version)
    item = version.items.get(code="D1-01")
    at = timezone.now() - timedelta(days=21)
    actor = {name: actor_for_user(user=user) for name, user in users.items()}
    for n in range(overdue):
        call, _created = call_services.call_create(
            actor=actor["reporter"],
            caller=orgs["t1"],
            draft=call_services.CallDraft(
                title=f"逾期呼叫 {n}",
                description="三周前派发，至今未签收。",
                location=t1,
                item=item,
            ),
            at=at,
        )
        for action, who, data in [
            ("submit", "reporter", {}),
            ("approve", "leader", {}),
            ("accept", "operator", {}),
            ("dispatch", "operator", {"lead": orgs["dept"].pk}),
        ]:
            call_services.call_transition(
                actor=actor[who], call=call, action=action, data=data, at=at
            )
    return {
        "keys": keys,
        "caller_id": orgs["t1"].pk,
        "location_code": t1.code,
        "item_id": item.pk,
        "dept_id": orgs["dept"].pk,
    }


def drain(timeout: float) -> dict[str, Any]:
    """Wait until the queue is empty (nothing READY, nothing RUNNING on a live worker), a
    supervision sweep enqueued after this moment has finished and the event outbox is
    empty (the relay did what the killed processes left)."""
    _django()
    from django.db import connection
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from xianghu.calls.models import EventOutbox

    begun = timezone.now()
    end = time.monotonic() + timeout
    if _on_rq():
        return _drain_rq(end)
    while time.monotonic() < end:
        try:
            ready = DBTaskResult.objects.filter(status="READY").count()
            swept = DBTaskResult.objects.filter(
                task_path="xianghu.calls.tasks.supervision_sweep",
                enqueued_at__gt=begun,
                status="SUCCESSFUL",
            ).exists()
            if not ready and swept and not EventOutbox.objects.exists():
                return {"drained": True, "at": timezone.now().isoformat()}
        except Exception:  # the database may still be recovering
            connection.close()
        time.sleep(0.5)
    return {"drained": False}


def _on_rq() -> bool:
    from django_tasks import task_backends
    from django_tasks_rq import RQBackend

    return isinstance(task_backends["default"], RQBackend)


def _rq_registries() -> dict[str, Any]:
    import django_rq
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    queue = django_rq.get_queue("default")
    return {
        "queue": queue,
        "started": StartedJobRegistry(queue=queue),
        "finished": FinishedJobRegistry(queue=queue),
        "failed": FailedJobRegistry(queue=queue),
    }


def _rq_sweeps_finished(r: dict[str, Any]) -> int:
    """Supervision sweeps in RQ's finished registry."""
    return sum(
        1
        for job_id in r["finished"].get_job_ids()
        if (job := r["queue"].fetch_job(job_id)) is not None
        and job.func_name == "xianghu.calls.tasks.supervision_sweep"
    )


def _drain_rq(end: float) -> dict[str, Any]:
    """On RQ: the queue and the started jobs empty, the outbox empty, and two sweeps
    finished since (the sweep runs every 2 s in the harness)."""
    from xianghu.calls.models import EventOutbox

    r = _rq_registries()

    seen = None
    while time.monotonic() < end:
        idle = not r["queue"].count and not r["started"].count
        if idle and not EventOutbox.objects.exists():
            if seen is None:
                seen = _rq_sweeps_finished(r)
            elif _rq_sweeps_finished(r) >= seen + 2:
                return {"drained": True}
        time.sleep(0.5)
    return {"drained": False}


def _check_db_tasks(out: dict[str, Any], errors: list[str], drained_at: str | None) -> None:
    from django.conf import settings
    from django.utils.dateparse import parse_datetime
    from django_tasks_db.models import DBTaskResult

    tasks = Counter(DBTaskResult.objects.values_list("status", flat=True))
    out["tasks_total"] = sum(tasks.values())
    # The workers keep enqueueing the periodic tasks until they stop, so a copy enqueued
    # after the drain found the queue empty may wait for the next start: it is not left
    # over by the chaos. Anything else READY or RUNNING is.
    waiting = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
    if drained_at:
        periodic = [path for path, _every in settings.XH_PERIODIC_TASKS]
        waiting = waiting.exclude(
            status="READY", task_path__in=periodic, enqueued_at__gt=parse_datetime(drained_at)
        )
    out["tasks_unfinished"] = waiting.count()
    out["tasks_failed"] = tasks.get("FAILED", 0)
    if out["tasks_unfinished"] or out["tasks_failed"]:
        left = waiting.union(DBTaskResult.objects.filter(status="FAILED"))
        for path, status, exc in left.values_list("task_path", "status", "exception_class_path")[
            :10
        ]:
            errors.append(f"task {path} left {status} {exc}")
    out["sweep_runs"] = DBTaskResult.objects.filter(
        task_path="xianghu.calls.tasks.supervision_sweep", status="SUCCESSFUL"
    ).count()


def _check_rq_tasks(out: dict[str, Any], errors: list[str]) -> None:
    r = _rq_registries()
    out["tasks_total"] = r["finished"].count + r["failed"].count
    # The periodic tasks keep being enqueued until the workers stop, so copies enqueued
    # after the drain may wait for the next start: only other tasks count as unfinished.
    from django.conf import settings

    periodic = {path for path, _every in settings.XH_PERIODIC_TASKS}
    waiting = [job.func_name for job in r["queue"].jobs]
    waiting += [
        job.func_name
        for job_id in r["started"].get_job_ids()
        if (job := r["queue"].fetch_job(job_id)) is not None
    ]
    out["tasks_unfinished"] = sum(1 for name in waiting if name not in periodic)
    out["tasks_failed"] = r["failed"].count
    for job_id in r["failed"].get_job_ids()[:10]:
        job = r["queue"].fetch_job(job_id)
        errors.append(f"task {job.func_name if job else job_id} left FAILED")
    out["sweep_runs"] = _rq_sweeps_finished(r)


def check(acks_path: str, drained_at: str | None = None) -> dict[str, Any]:
    """Compare the database with what the clients were told (see the module docstring)."""
    _django()
    from django.db.models import Count

    from xianghu.calls.models import Call, CallEvent, EventOutbox
    from xianghu.calls.notifying import recipients
    from xianghu.calls.supervision import run_sweep
    from xianghu.calls.workflow import ReplayError, replay
    from xianghu.notify.models import Notification

    acks = json.loads(Path(acks_path).read_text())
    out: dict[str, Any] = {"errors": []}
    errors: list[str] = out["errors"]

    keyed = {
        row["idempotency_key"]: row
        for row in Call.objects.filter(idempotency_key__startswith=f"{acks['run']}-")
        .values("idempotency_key")
        .annotate(n=Count("id"))
    }
    by_key = dict(
        Call.objects.filter(idempotency_key__startswith=f"{acks['run']}-").values_list(
            "idempotency_key", "id"
        )
    )
    lost = duplicated = wrong = 0
    for call in acks["calls"]:
        row = keyed.get(call["key"])
        if row is None:
            lost += 1
            errors.append(f"acknowledged call {call['key']} is missing")
        elif row["n"] > 1:
            duplicated += row["n"] - 1
        elif by_key[call["key"]] != call["id"]:
            wrong += 1
            errors.append(f"call {call['key']}: client got {call['id']}")
    out.update(lost_calls=lost, duplicated_calls=duplicated, wrong_call_ids=wrong)

    events: dict[int, list[tuple[int, int, str, dict[str, Any]]]] = {}
    for pk, call_id, seq, action, data in CallEvent.objects.order_by("call_id", "seq").values_list(
        "pk", "call_id", "seq", "action", "data"
    ):
        events.setdefault(call_id, []).append((pk, seq, action, data))
    by_seq = {
        (call_id, seq): action for call_id, rows in events.items() for _pk, seq, action, _d in rows
    }
    lost_actions = 0
    for ack in acks["actions"]:
        if by_seq.get((ack["call"], ack["seq"])) != ack["action"]:
            lost_actions += 1
            errors.append(f"acknowledged {ack['action']} of call {ack['call']} is missing")
    duplicated_events = gaps = mismatches = sweep_dups = 0
    states = dict(Call.objects.values_list("id", "state"))
    for call_id, rows in events.items():
        walk = Counter(action for _pk, _s, action, _d in rows if action in WALK_ACTIONS)
        for action, n in walk.items():
            if n > 1:
                duplicated_events += n - 1
                errors.append(f"call {call_id}: {n} events {action}")
        sweep = Counter(
            (action, json.dumps(data, sort_keys=True))
            for _pk, _s, action, data in rows
            if action in ("remind", "yellow_card", "red_card", "supervise", "auto_close")
        )
        sweep_dups += sum(n - 1 for n in sweep.values())
        if [seq for _pk, seq, _a, _d in rows] != list(range(1, len(rows) + 1)):
            gaps += 1
            errors.append(f"call {call_id}: events not numbered 1..n")
        try:
            replayed = replay((action, data) for _pk, _s, action, data in rows)
        except ReplayError as error:
            replayed = f"replay error: {error}"
        if replayed != states.get(call_id):
            mismatches += 1
            errors.append(f"call {call_id}: state {states.get(call_id)}, replay {replayed}")
    out.update(
        calls_in_database=len(states),
        events_in_database=sum(len(rows) for rows in events.values()),
        lost_actions=lost_actions,
        duplicated_events=duplicated_events,
        sequence_gaps=gaps,
        state_mismatches=mismatches,
        sweep_duplicates=sweep_dups,
    )

    if _on_rq():
        _check_rq_tasks(out, errors)
    else:
        _check_db_tasks(out, errors, drained_at)

    made = set(Notification.objects.values_list("user_id", "source_key"))

    missing = 0
    for event in CallEvent.objects.select_related("call"):
        for user_id in recipients(event):
            if (user_id, f"call-event:{event.pk}") not in made:
                missing += 1
                if missing <= 10:
                    errors.append(f"no notification of event {event.pk} ({event.action})")
    out["notifications_missing"] = missing
    # Every notification went through each external channel's task once (a row per
    # notification and channel, unique: handled once, whichever worker ran it).
    from xianghu.notify.channels import EXTERNAL
    from xianghu.notify.models import ChannelDelivery

    handled = Counter(ChannelDelivery.objects.values_list("notification_id", flat=True))
    out["channel_deliveries_missing"] = sum(
        len(EXTERNAL) - handled.get(pk, 0)
        for pk in Notification.objects.values_list("pk", flat=True)
    )
    if out["channel_deliveries_missing"]:
        errors.append(f"{out['channel_deliveries_missing']} channel deliveries never made")
    out["outbox_left"] = EventOutbox.objects.count()
    if out["outbox_left"]:
        errors.append(f"{out['outbox_left']} events left in the outbox")

    report = run_sweep()
    out["sweep_left"] = report.total
    out["overdue_calls"] = (
        CallEvent.objects.filter(action="red_card").values("call_id").distinct().count()
    )
    if report.total:
        errors.append(f"the last sweep still found work: {report}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.harness")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="one crash-safety run; prints the figures")
    for name, value in asdict(Load()).items():
        r.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    r.add_argument("--json", action="store_true", help="print the figures as JSON")
    s = sub.add_parser("seed")
    s.add_argument("--overdue", type=int, default=10)
    d = sub.add_parser("drain")
    d.add_argument("--timeout", type=float, default=120)
    c = sub.add_parser("check")
    c.add_argument("--acks", required=True)
    c.add_argument("--drained-at", help="when drain found the queue empty (ISO 8601)")
    args = parser.parse_args(argv)
    if args.command == "seed":
        print(json.dumps(seed(args.overdue)))
    elif args.command == "drain":
        print(json.dumps(drain(args.timeout)))
    elif args.command == "check":
        print(json.dumps(check(args.acks, args.drained_at)))
    else:
        load = Load(**{k: getattr(args, k) for k in asdict(Load())})
        with exclusive():
            figures = run(load, log=lambda m: print(m, file=sys.stderr, flush=True))
        print(json.dumps(asdict(figures)) if args.json else "\n".join(figures.lines()))
        return 1 if figures.problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
