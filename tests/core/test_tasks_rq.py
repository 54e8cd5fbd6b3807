"""The distributed task engine on RQ and Redis (`XH_TASKS_BACKEND=rq`): a task enqueued
in a transaction reaches Redis when it commits and never if it rolls back; `manage.py
worker --batch` runs the queue with the platform's tasks unchanged; two workers'
schedulers enqueue a periodic task once per interval between them. Needs a Redis server
(`XH_TEST_REDIS_URL`, default database 12 of the local one, emptied by these tests);
CI starts one (scripts/ensure-services)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from xianghu.calls.tasks import outbox_relay
from xianghu.core.management.commands.worker import PeriodicScheduler, resolve_periodic

RQ_TASKS = {"default": {"BACKEND": "xianghu.core.tasks_rq.RQBackend"}}
RELAY = "xianghu.calls.tasks.outbox_relay"


@pytest.fixture
def rq_queue():
    import django_rq
    import redis

    queue = django_rq.get_queue("default")
    try:
        queue.connection.ping()
    except redis.RedisError:
        if os.environ.get("XH_REQUIRE_POSTGRES") == "1":  # CI: the services are required
            pytest.fail(f"Redis is required at {settings.RQ_QUEUES['default']['URL']}")
        pytest.skip("no Redis server")
    queue.connection.flushdb()
    yield queue
    queue.connection.flushdb()


@override_settings(TASKS=RQ_TASKS)
@pytest.mark.django_db(transaction=True)
def test_tasks_reach_redis_when_their_transaction_commits(rq_queue):
    outbox_relay.enqueue()  # outside a transaction: at once
    assert rq_queue.count == 1
    with transaction.atomic():
        pending = outbox_relay.enqueue()
        assert pending.status == "READY"
        assert rq_queue.count == 1  # not before the commit
    assert rq_queue.count == 2

    def enqueue_and_fail() -> None:
        with transaction.atomic():
            outbox_relay.enqueue()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        enqueue_and_fail()
    assert rq_queue.count == 2  # a rolled-back transaction's task never reaches Redis

    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    assert rq_queue.count == 0
    finished = FinishedJobRegistry(queue=rq_queue).get_job_ids()
    assert len(finished) == 2
    assert FailedJobRegistry(queue=rq_queue).count == 0
    result = outbox_relay.get_result(finished[0])
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"done": 0, "failed": 0, "given_up": 0}


@override_settings(TASKS=RQ_TASKS)
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_enqueue_a_periodic_task_once_per_interval(rq_queue, monkeypatch):
    now = [timezone.now()]
    clock = lambda: now[0]  # noqa: E731
    first, second = (
        PeriodicScheduler(resolve_periodic([(RELAY, 60)]), clock=clock) for _ in range(2)
    )
    assert first.tick() == [RELAY]
    assert second.tick() == []  # the other worker holds this interval
    assert rq_queue.count == 1
    # The lease lives in Redis for the interval (less a tick of slack), whatever the clock.
    ttl = rq_queue.connection.pttl(f"xh:periodic:{RELAY}")
    assert 50_000 < ttl <= 60_000
    rq_queue.connection.delete(f"xh:periodic:{RELAY}")  # the interval has passed
    now[0] += timedelta(seconds=61)
    assert [*second.tick(), *first.tick()] == [RELAY]
    assert rq_queue.count == 2
