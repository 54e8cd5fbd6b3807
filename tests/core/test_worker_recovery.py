"""The worker after crashes (found by tests/reliability/test_crash_safety.py): a task left
RUNNING by a dead worker is put back in the queue, and a worker whose database went away
polls again instead of exiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.models import DBTaskResult

from xianghu.core.management.commands.worker import requeue_orphaned_tasks
from xianghu.core.models import WorkerHeartbeat
from xianghu.core.tasks import prune_worker_heartbeats

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _running(worker_id: str | None, started_ago: float) -> DBTaskResult:
    result = prune_worker_heartbeats.enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    row.status = "RUNNING"
    row.worker_ids = [worker_id] if worker_id else []
    row.started_at = timezone.now() - timedelta(seconds=started_ago)
    row.save()
    return row


def _beat(worker_id: str, ago: float) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="h",
        pid=1,
        started_at=now - timedelta(hours=1),
        seen_at=now - timedelta(seconds=ago),
    )


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db
def test_a_task_left_running_by_a_dead_worker_is_requeued_once():
    beat = settings.XH_WORKER_HEARTBEAT_SECONDS
    _beat("w-live", ago=0)
    _beat("w-dead", ago=3 * beat + 5)  # SIGKILLed: its row stays, no longer beating
    live = _running("w-live", started_ago=10 * beat)
    dead = _running("w-dead", started_ago=10 * beat)
    gone = _running("w-gone", started_ago=10 * beat)  # crashed and said goodbye
    fresh = _running("w-new", started_ago=0)  # just claimed by a worker starting up

    assert requeue_orphaned_tasks() == 2
    states = dict(DBTaskResult.objects.values_list("id", "status"))
    assert states == {
        live.pk: "RUNNING",
        dead.pk: "READY",
        gone.pk: "READY",
        fresh.pk: "RUNNING",
    }
    assert DBTaskResult.objects.get(pk=dead.pk).started_at is None
    # Already back in the queue: nothing more to do.
    assert requeue_orphaned_tasks() == 0


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_a_requeued_task_runs_again():
    dead = _running("w-dead", started_ago=10 * settings.XH_WORKER_HEARTBEAT_SECONDS)
    assert requeue_orphaned_tasks() == 1
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w-next", verbosity=0)
    row = DBTaskResult.objects.get(pk=dead.pk)
    assert (row.status, row.worker_ids) == ("SUCCESSFUL", ["w-dead", "w-next"])


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_the_worker_polls_again_after_a_database_error(monkeypatch):
    runs: list[str] = []

    def handle(self, *args, **options):
        runs.append(options["worker_id"])
        if len(runs) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(DbWorkerCommand, "handle", handle)
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w-db", verbosity=0)
    # Once more, under a new id: what the first run left RUNNING is requeued later.
    assert len(runs) == 2
    assert runs[0] == "w-db"
    assert runs[1] != "w-db"
    assert not WorkerHeartbeat.objects.filter(worker_id=runs[1]).exists()  # said goodbye


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db
def test_a_task_that_lost_its_database_connection_runs_again_a_few_times():
    def failed(exception: str, runs: int) -> DBTaskResult:
        row = _running(None, started_ago=60)
        row.status = "FAILED"
        row.worker_ids = [f"w{n}" for n in range(runs)]
        row.exception_class_path = exception
        row.finished_at = timezone.now()
        row.save()
        return row

    broken = failed("django.db.utils.OperationalError", runs=1)
    worn = failed("django.db.utils.OperationalError", runs=5)  # tried enough
    own = failed("builtins.ValueError", runs=1)  # the task's own failure stays
    assert requeue_orphaned_tasks() == 1
    states = dict(DBTaskResult.objects.values_list("id", "status"))
    assert states == {broken.pk: "READY", worn.pk: "FAILED", own.pk: "FAILED"}
    row = DBTaskResult.objects.get(pk=broken.pk)
    assert (row.exception_class_path, row.finished_at) == ("", None)
