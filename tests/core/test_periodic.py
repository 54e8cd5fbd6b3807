"""The worker's scheduler of periodic tasks (`XH_PERIODIC_TASKS`), on the database backend
and with a fake clock (the database's timestamps follow the same clock)."""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from xianghu.calls.tasks import attachments_cleanup, supervision_sweep
from xianghu.core.management.commands.worker import (
    PeriodicScheduler,
    resolve_periodic,
    run_periodic,
)
from xianghu.core.models import WorkerHeartbeat
from xianghu.notify.tasks import retry_due_webhooks
from xianghu.routing.tasks import routing_retrain_due

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PRUNE = "xianghu.core.tasks.prune_worker_heartbeats"


class FakeClock:
    def __init__(self) -> None:
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> FakeClock:
        self.now = self.start + timedelta(seconds=seconds)
        return self


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    # auto_now_add (enqueued_at), the worker's heartbeats and the queue use it too.
    monkeypatch.setattr(timezone, "now", fake)
    return fake


def scheduler(clock: FakeClock, every: float = 60) -> PeriodicScheduler:
    return PeriodicScheduler(resolve_periodic([(PRUNE, every)]), clock=clock)


def results():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=PRUNE)


def run_worker() -> None:
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w-test", verbosity=0)


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_a_due_task_is_enqueued_once_then_again_after_the_interval(
    clock, django_assert_num_queries
):
    worker = scheduler(clock)
    assert worker.tick() == [PRUNE]
    assert results().filter(status="READY").count() == 1
    with django_assert_num_queries(0):  # not due yet: no query at all
        assert worker.tick() == []
        clock.at(30)
        assert worker.tick() == []
    # Due again, but the first is still queued: no second copy.
    clock.at(61)
    assert worker.tick() == []
    assert results().count() == 1
    run_worker()
    assert results().get().status == "SUCCESSFUL"
    clock.at(66)
    assert worker.tick() == [PRUNE]
    assert results().count() == 2
    assert results().filter(status="READY").count() == 1


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_two_workers_enqueue_once_per_interval(clock):
    first, second = scheduler(clock), scheduler(clock)
    assert first.tick() == [PRUNE]
    clock.at(5)
    assert second.tick() == []  # queued by the other worker
    run_worker()
    clock.at(10)
    assert second.tick() == []  # finished, but enqueued within the interval
    clock.at(61)
    assert first.tick() + second.tick() == [PRUNE]
    assert results().count() == 2


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_a_task_running_on_a_live_worker_blocks_one_on_a_dead_worker_does_not(clock):
    worker = scheduler(clock)
    assert worker.tick() == [PRUNE]
    results().update(status="RUNNING", worker_ids=["w-live"], started_at=clock.now)
    WorkerHeartbeat.objects.create(
        worker_id="w-live", hostname="h", pid=1, started_at=clock.now, seen_at=clock.now
    )
    clock.at(65)
    WorkerHeartbeat.objects.update(seen_at=clock.now)  # still beating: the run goes on
    assert worker.tick() == []
    # The worker died with the task: no beat for more than 3 beats.
    clock.at(65 + 3 * settings.XH_WORKER_HEARTBEAT_SECONDS + 1)
    assert worker.tick() == [PRUNE]
    assert results().count() == 2


@override_settings(XH_PERIODIC_TASKS=[])
def test_an_empty_setting_schedules_nothing():
    # No database mark: a query would fail the test.
    worker = PeriodicScheduler.from_settings()
    assert not worker
    assert worker.tick() == []


def test_the_default_setting_schedules_the_sweep_the_webhook_retries_and_the_cleanup():
    # Later entries (the privacy purge, …) are checked by their own apps' tests.
    sweep, retries, cleanup, retrain, *_later = resolve_periodic(settings.XH_PERIODIC_TASKS)
    assert sweep.task is supervision_sweep
    assert sweep.every == timedelta(seconds=60)
    assert retries.task is retry_due_webhooks
    assert retries.every == timedelta(seconds=60)
    assert cleanup.task is attachments_cleanup
    assert cleanup.every == timedelta(days=1)
    assert retrain.task is routing_retrain_due
    assert retrain.every == timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_the_default_schedule_enqueues_each_task_once(clock, settings, tmp_path):
    # Both through the `settings` fixture: mixed with an `override_settings` decorator, the
    # fixture's teardown would put the decorator's settings back (TASKS for every later
    # test of the process).
    settings.TASKS = DB_TASKS
    settings.MEDIA_ROOT = str(tmp_path)  # the cleanup runs: never on a real media folder
    worker = PeriodicScheduler.from_settings(clock=clock)
    paths = [entry.path for entry in worker.entries]
    assert worker.tick() == paths
    clock.at(61)
    # The two one-minute tasks are still queued (no worker ran them): no second copy;
    # the daily cleanup is not due.
    assert worker.tick() == []
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w-test", verbosity=0)
    from django_tasks_db.models import DBTaskResult

    done = DBTaskResult.objects.filter(status="SUCCESSFUL").values_list("task_path", flat=True)
    assert sorted(done) == sorted(paths)
    clock.at(125)
    # The one-minute tasks: the sweep, the webhook retries and the outbox relay.
    assert worker.tick() == [*paths[:2], paths[-1]]
    assert paths[-1] == "xianghu.calls.tasks.outbox_relay"


@pytest.mark.parametrize(
    "entries",
    [
        [("xianghu.calls.tasks.no_such_task", 60)],
        [("xianghu.core.tasks.timedelta", 60)],  # importable, but not a task
        [(PRUNE, 0)],
        [(PRUNE,)],
    ],
)
def test_wrong_entries_stop_the_worker_at_start(entries):
    with pytest.raises(ImproperlyConfigured):
        resolve_periodic(entries)


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_the_thread_ticks_until_stopped_and_survives_errors(clock, caplog):
    stop = threading.Event()
    stop.set()  # one tick, then stop
    run_periodic(scheduler(clock), stop)
    assert results().count() == 1

    class Broken(PeriodicScheduler):
        def tick(self) -> list[str]:
            raise RuntimeError("database gone")

    run_periodic(Broken(()), stop)  # logged, not raised
    assert "periodic task scheduling failed" in caplog.text


@override_settings(TASKS=DB_TASKS, XH_PERIODIC_TASKS=[(PRUNE, 1)])
@pytest.mark.django_db(transaction=True)
def test_the_worker_enqueues_and_runs_its_periodic_tasks():
    # The worker stops after one task; should the task never come, SIGTERM stops it.
    guard = threading.Timer(30, os.kill, (os.getpid(), signal.SIGTERM))
    guard.start()
    try:
        call_command(
            "worker",
            "--max-tasks",
            "1",
            "--interval",
            "0.05",
            "--no-startup-delay",
            "--no-reload",
            "--worker-id",
            "w-periodic",
            verbosity=0,
        )
    finally:
        guard.cancel()
    assert results().filter(status="SUCCESSFUL").count() == 1


@override_settings(TASKS=DB_TASKS, XH_PERIODIC_TASKS=[(PRUNE, 3600)])
@pytest.mark.django_db(transaction=True)
def test_a_batch_worker_schedules_nothing():
    run_worker()
    assert results().count() == 0
