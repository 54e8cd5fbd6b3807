"""Housekeeping tasks of the platform kernel."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from .models import WorkerHeartbeat


@task()
def prune_worker_heartbeats(*, older_than_hours: int = 24) -> int:
    """Forget workers that died without saying goodbye (SIGKILL, lost machine)."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
