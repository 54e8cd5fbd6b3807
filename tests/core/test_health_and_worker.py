"""/healthz, the worker heartbeat and the task queue on the database backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from xianghu.core.models import WorkerHeartbeat
from xianghu.core.tasks import prune_worker_heartbeats

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def beat(age_seconds: float, worker_id: str = "w1") -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="host",
        pid=1,
        started_at=now - timedelta(hours=1),
        seen_at=now - timedelta(seconds=age_seconds),
    )


def test_health_without_worker_is_degraded_but_up(db, client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["worker"]["status"] == "missing"
    assert client.get("/healthz?strict=1").status_code == 503


def test_health_with_a_fresh_heartbeat_is_ok(db, client):
    beat(2)
    body = client.get("/healthz?strict=1").json()
    assert body["status"] == "ok"
    assert body["worker"]["alive_workers"] == 1
    assert body["worker"]["heartbeat_age_seconds"] < 5


def test_stale_heartbeat_is_reported(db, client):
    beat(3600)
    body = client.get("/healthz").json()
    assert body["worker"]["status"] == "stale"
    assert body["worker"]["heartbeat_age_seconds"] >= 3600


class _UnreachableDatabase:
    """Stands in for `django.db.connection` when the database server is gone."""

    vendor = "postgresql"

    def cursor(self):
        raise OperationalError("could not connect to server: Connection refused (10.0.0.5)")


def test_unreachable_database_answers_503(db, client, monkeypatch):
    from xianghu.core import health

    monkeypatch.setattr(health, "connection", _UnreachableDatabase())
    for path in ("/healthz", "/healthz?strict=1"):
        r = client.get(path)
        assert r.status_code == 503
        assert r.json() == {
            "status": "error",
            "database": {"status": "error", "error": "OperationalError"},
            "worker": {"status": "unknown"},
        }
    # The driver's message (hosts, addresses) is not shown to whoever asks.
    assert "10.0.0.5" not in r.content.decode()


def test_health_needs_no_login_and_sets_no_cookie(db, client):
    r = client.get("/healthz")
    assert "sessionid" not in r.cookies
    assert "no-cache" in r["Cache-Control"]


@override_settings(TASKS=DB_TASKS)
@pytest.mark.django_db(transaction=True)
def test_worker_runs_queued_tasks_and_beats(client):
    from django_tasks_db.models import DBTaskResult

    beat(2 * 24 * 3600, worker_id="dead-worker")
    result = prune_worker_heartbeats.enqueue(older_than_hours=24)
    assert DBTaskResult.objects.ready().count() == 1
    assert client.get("/healthz").json()["queue"]["ready"] == 1

    call_command(
        "worker", "--batch", "--no-startup-delay", "--worker-id", "test-worker", verbosity=0
    )

    result.refresh()
    assert result.return_value == 1
    assert not WorkerHeartbeat.objects.filter(worker_id="dead-worker").exists()
    # The worker said goodbye: its own heartbeat is removed on a clean exit.
    assert not WorkerHeartbeat.objects.filter(worker_id="test-worker").exists()
    assert DBTaskResult.objects.ready().count() == 0


@pytest.mark.django_db(transaction=True)
def test_worker_heartbeat_is_written_while_running():
    from xianghu.core.management.commands.worker import _beat

    started = timezone.now()
    _beat("w-live", started)
    _beat("w-live", started)
    row = WorkerHeartbeat.objects.get(worker_id="w-live")
    assert row.started_at == started
    assert row.seen_at >= started
