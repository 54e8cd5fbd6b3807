"""`manage.py worker`: the task worker — the Tasks database worker, or an RQ worker when
`XH_TASKS_BACKEND=rq` — with a heartbeat for /healthz and a small scheduler that
enqueues the periodic tasks of `XH_PERIODIC_TASKS`."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task_backends
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from xianghu.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def _beat(worker_id: str, started_at: Any) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


# A task that failed with one of these lost its database connection (a restart, a
# failover), not its own logic: it is run again, up to `RETRY_ATTEMPTS` runs in all.
CONNECTION_ERRORS = frozenset(
    {
        "django.db.utils.OperationalError",
        "django.db.utils.InterfaceError",
        "psycopg.OperationalError",
        "psycopg.InterfaceError",
    }
)
RETRY_ATTEMPTS = 5


def requeue_orphaned_tasks(*, now: datetime | None = None) -> int:
    """Put back in the queue the task results a dead worker left RUNNING, and those that
    failed because the database connection broke; returns how many.

    A worker killed in the middle of a task (SIGKILL, a lost machine, a database restart
    that broke its run) leaves the result RUNNING for ever: nothing would run the task
    again. A result is orphaned when its last worker has no fresh heartbeat (3 missed
    beats) and it started before that. A task whose connection broke under it (a database
    restart) is recorded FAILED with a connection error; it is run again too, up to
    `RETRY_ATTEMPTS` runs. Every task of the platform may run again — each claims its work
    or is idempotent (notification copies are claimed per channel, webhook attempts per
    due moment, sweeps re-read the log) — so a lost worker or connection delays a task
    instead of dropping it. Workers that write no heartbeat (plain `db_worker`) are not
    supported: their long tasks would look orphaned."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    stale = now - timedelta(seconds=3 * settings.XH_WORKER_HEARTBEAT_SECONDS)
    live = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=stale).values_list("worker_id", flat=True)
    )
    requeued = 0
    rows = DBTaskResult.objects.filter(
        Q(status=TaskResultStatus.RUNNING, started_at__lt=stale)
        | Q(status=TaskResultStatus.FAILED, exception_class_path__in=CONNECTION_ERRORS)
    ).values_list("id", "status", "worker_ids", "started_at", "task_path")
    for pk, status, worker_ids, started, path in rows:
        if status == TaskResultStatus.RUNNING and worker_ids and worker_ids[-1] in live:
            continue
        if status == TaskResultStatus.FAILED and len(worker_ids) >= RETRY_ATTEMPTS:
            continue
        # Conditional on the row we saw: a worker that claims it meanwhile wins.
        done = DBTaskResult.objects.filter(pk=pk, status=status, started_at=started).update(
            status=TaskResultStatus.READY,
            started_at=None,
            finished_at=None,
            exception_class_path="",
            traceback="",
        )
        if done:
            logger.warning(
                "requeued task %s (%s): %s",
                pk,
                path,
                "left running by a dead worker"
                if status == TaskResultStatus.RUNNING
                else "its database connection broke",
            )
        requeued += done
    return requeued


# --------------------------------------------------------------------------- periodic tasks


@dataclass(frozen=True)
class Periodic:
    """One entry of `XH_PERIODIC_TASKS`: a task (taking no arguments) and its interval."""

    path: str
    every: timedelta
    task: Task[Any, Any]


def resolve_periodic(entries: Iterable[tuple[str, float]]) -> list[Periodic]:
    """Import the tasks of `XH_PERIODIC_TASKS` by dotted path (core imports no app);
    a wrong entry stops the worker at start rather than failing quietly later."""
    resolved = []
    for entry in entries:
        try:
            path, seconds = entry
        except (TypeError, ValueError):
            raise ImproperlyConfigured(
                f"XH_PERIODIC_TASKS entries are (dotted path, seconds), got {entry!r}"
            ) from None
        if not isinstance(seconds, int | float) or seconds <= 0:
            raise ImproperlyConfigured(f"XH_PERIODIC_TASKS: {path} needs a positive interval")
        try:
            task = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"XH_PERIODIC_TASKS: cannot import {path}: {exc}") from exc
        if not isinstance(task, Task):
            raise ImproperlyConfigured(f"XH_PERIODIC_TASKS: {path} is not a task (use @task())")
        resolved.append(Periodic(path, timedelta(seconds=seconds), task))
    return resolved


class PeriodicScheduler:
    """Enqueues each periodic task every `every`, once across all workers.

    On the database backend a task is enqueued only when
    - no result of it is unfinished: READY, or RUNNING on a worker whose heartbeat is
      fresh (a RUNNING row left by a killed worker does not block the schedule forever);
    - and none was enqueued within the last `every` (less one tick of slack), by this
      worker or another one.
    So two workers, or a slow one, never pile up copies; a run that takes longer than the
    interval is followed by the next one as soon as it has finished. On other backends
    (the immediate backend of the tests) only the local schedule applies.

    `tick()` does the work and is what the tests call, with a fake `clock`; the worker
    calls it from a thread every `tick_seconds`. A tick before a task's next check makes
    no query.
    """

    def __init__(
        self,
        entries: Iterable[Periodic],
        *,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.entries = list(entries)
        self.clock = clock
        self.next_check: dict[str, datetime] = {}
        shortest = min((e.every.total_seconds() for e in self.entries), default=5.0)
        self.tick_seconds = max(0.5, min(5.0, shortest / 2))
        self.slack = timedelta(seconds=self.tick_seconds)

    @classmethod
    def from_settings(cls, **kwargs: Any) -> PeriodicScheduler:
        return cls(resolve_periodic(getattr(settings, "XH_PERIODIC_TASKS", ()) or ()), **kwargs)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def tick(self) -> list[str]:
        """Enqueue what is due now; returns the paths enqueued."""
        now = self.clock()
        enqueued = []
        for entry in self.entries:
            if now < self.next_check.get(entry.path, now):
                continue
            wait_until = self._blocked_until(entry, now)
            if wait_until is not None:
                self.next_check[entry.path] = wait_until
                continue
            entry.task.enqueue()
            enqueued.append(entry.path)
            self.next_check[entry.path] = now + entry.every
            logger.debug("enqueued periodic task %s", entry.path)
        return enqueued

    def _blocked_until(self, entry: Periodic, now: datetime) -> datetime | None:
        """None if `entry` may be enqueued now; otherwise when to look again."""
        backend = entry.task.get_backend()
        if _is_rq(backend):
            return self._rq_lease(entry, now)
        if not isinstance(backend, DatabaseBackend):
            return None
        from django_tasks_db.models import DBTaskResult

        recent = now - entry.every + self.slack
        rows = list(
            DBTaskResult.objects.filter(
                task_path=entry.task.module_path, backend_name=backend.alias
            )
            .filter(
                Q(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
                | Q(enqueued_at__gt=recent)
            )
            .values_list("status", "worker_ids", "enqueued_at")
        )
        if not rows:
            return None
        retry = now + timedelta(seconds=self.tick_seconds)
        if any(status == TaskResultStatus.READY for status, _ids, _at in rows):
            return retry
        running = [ids[-1] for status, ids, _at in rows if status == "RUNNING" and ids]
        if running and self._alive(running, now):
            return retry
        latest = max((at for _s, _ids, at in rows if at > recent), default=None)
        return None if latest is None else latest + entry.every - self.slack

    def _rq_lease(self, entry: Periodic, now: datetime) -> datetime | None:
        """On RQ, one enqueue per interval across all workers: the first worker to set
        the task's key in Redis (SET NX with the interval as its lifetime) enqueues it."""
        import django_rq

        redis = django_rq.get_connection("default")
        key = f"xh:periodic:{entry.path}"
        lifetime = max(1, int((entry.every - self.slack).total_seconds() * 1000))
        if redis.set(key, socket.gethostname(), nx=True, px=lifetime):
            return None
        left = redis.pttl(key)
        return now + timedelta(milliseconds=max(int(left), 0) + 1)

    def _alive(self, worker_ids: list[str], now: datetime) -> bool:
        stale_after = timedelta(seconds=3 * settings.XH_WORKER_HEARTBEAT_SECONDS)
        return WorkerHeartbeat.objects.filter(
            worker_id__in=worker_ids, seen_at__gte=now - stale_after
        ).exists()


def _is_rq(backend: Any) -> bool:
    from django_tasks_rq import RQBackend

    return isinstance(backend, RQBackend)


def run_periodic(scheduler: PeriodicScheduler, stop: threading.Event) -> None:
    """The scheduler thread: tick until `stop` is set; errors are logged, not fatal."""
    while True:
        try:
            scheduler.tick()
        except DatabaseError as exc:  # the database may be restarting or busy
            logger.warning("periodic task scheduling failed (%s); retrying", exc)
        except Exception:
            logger.exception("periodic task scheduling failed; retrying")
        finally:
            connection.close()
        if stop.wait(scheduler.tick_seconds):
            return


# --------------------------------------------------------------------------- the command


def _run_rq_worker(options: dict[str, Any]) -> None:
    """An RQ worker on the queue (`--queue-name`, default "default"), with RQ's scheduler
    for deferred tasks (webhook retries); `--batch` works off the queue and exits. Each
    task runs in a forked work horse, so the database connections are closed first."""
    import django_rq
    from django.db import connections

    connections.close_all()
    queue = options.get("queue_name") or "default"
    worker = django_rq.get_worker(
        "default" if queue == "*" else queue, job_class="django_tasks_rq.Job"
    )
    worker.work(with_scheduler=True, burst=bool(options.get("batch")), logging_level="WARNING")


class Command(DbWorkerCommand):
    help = (
        "Run the background task worker (django-tasks database backend) with a heartbeat "
        "and the periodic tasks of XH_PERIODIC_TASKS."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        # django-tasks-db accepts only a database backend here; on RQ the option names
        # the (RQ) backend the worker serves.
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = str

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options.get("worker_id") or get_random_string(32)
        options["worker_id"] = worker_id
        on_rq = _is_rq(task_backends["default"])
        started_at = timezone.now()
        stop = threading.Event()
        # A batch run works off the queue and exits: it schedules nothing.
        scheduler = (
            PeriodicScheduler(()) if options.get("batch") else PeriodicScheduler.from_settings()
        )

        def heartbeat() -> None:
            while not stop.wait(settings.XH_WORKER_HEARTBEAT_SECONDS):
                try:
                    _beat(worker_id, started_at)
                    if not on_rq:
                        requeue_orphaned_tasks()
                except DatabaseError:
                    pass  # the database may be restarting; the next beat retries
                finally:
                    connection.close()

        # The first beat is written before the worker starts polling, so /healthz sees
        # the worker at once; later beats come from the thread.
        _beat(worker_id, started_at)
        threads = [threading.Thread(target=heartbeat, name="xh-heartbeat", daemon=True)]
        if scheduler:
            threads.append(
                threading.Thread(
                    target=run_periodic, args=(scheduler, stop), name="xh-periodic", daemon=True
                )
            )
        for thread in threads:
            thread.start()
        try:
            if on_rq:
                _run_rq_worker(options)
                return
            pause = 0.5
            while True:
                try:
                    super().handle(*args, **options)
                    break
                except DatabaseError as exc:
                    # The database went away (a restart, a failover): poll again once it
                    # is back rather than exit. Under a new worker id, so that a task
                    # this run was in the middle of (left RUNNING) counts as orphaned
                    # and is requeued (`requeue_orphaned_tasks`).
                    logger.warning("worker: database error (%s); polling again", exc)
                    connection.close()
                    worker_id = get_random_string(32)
                    options["worker_id"] = worker_id
                    if stop.wait(pause):
                        break
                    pause = min(pause * 2, 5.0)
        finally:
            stop.set()
            # Wait for a beat in flight, or it could land after the goodbye below.
            for thread in threads:
                thread.join(timeout=30)
            WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
