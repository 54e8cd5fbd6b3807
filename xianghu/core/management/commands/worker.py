"""`manage.py worker`: the Tasks database worker plus a heartbeat for /healthz."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from xianghu.core.models import WorkerHeartbeat


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


class Command(DbWorkerCommand):
    help = "Run the background task worker (django-tasks database backend) with a heartbeat."

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options.get("worker_id") or get_random_string(32)
        options["worker_id"] = worker_id
        started_at = timezone.now()
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(settings.XH_WORKER_HEARTBEAT_SECONDS):
                try:
                    _beat(worker_id, started_at)
                except DatabaseError:
                    pass  # the database may be restarting; the next beat retries
                finally:
                    connection.close()

        # The first beat is written before the worker starts polling, so /healthz sees
        # the worker at once; later beats come from the thread.
        _beat(worker_id, started_at)
        thread = threading.Thread(target=heartbeat, name="xh-heartbeat", daemon=True)
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            # Wait for a beat in flight, or it could land after the goodbye below.
            thread.join(timeout=30)
            WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
