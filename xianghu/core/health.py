"""Health of the running platform: database reachable, worker alive, queue moving."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import WorkerHeartbeat


def health_report() -> dict[str, Any]:
    report: dict[str, Any] = {"status": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        report["database"] = {"status": "ok", "vendor": connection.vendor}
    except DatabaseError as exc:
        report["status"] = "error"
        report["database"] = {"status": "error", "error": exc.__class__.__name__}
        report["worker"] = {"status": "unknown"}
        return report

    stale_after = 3 * settings.XH_WORKER_HEARTBEAT_SECONDS
    latest = WorkerHeartbeat.objects.order_by("-seen_at").first()
    now = timezone.now()
    if latest is None:
        report["worker"] = {"status": "missing", "heartbeat_age_seconds": None}
    else:
        age = (now - latest.seen_at).total_seconds()
        alive = WorkerHeartbeat.objects.filter(
            seen_at__gte=now - timedelta(seconds=stale_after)
        ).count()
        report["worker"] = {
            "status": "ok" if age <= stale_after else "stale",
            "heartbeat_age_seconds": round(age, 1),
            "alive_workers": alive,
        }
    report["queue"] = _queue_report(now)
    if report["worker"]["status"] != "ok":
        report["status"] = "degraded"
    return report


def _queue_report(now: Any) -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.ready()
    oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    return {
        "ready": ready.count(),
        "oldest_ready_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
    }
