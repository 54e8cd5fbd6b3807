"""Background work of the hotline (django-tasks; run by `manage.py worker`)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def hotline_import(run_id: int) -> dict[str, Any]:
    """Import the file of a queued run (the web import page queues it)."""
    from .importer import run_import
    from .models import ImportRun, RunStatus

    run = ImportRun.objects.select_related("source", "source__county").get(pk=run_id)
    if run.status != RunStatus.QUEUED:
        return {"run": run_id, "status": run.status}
    run = run_import(run=run)
    return {
        "run": run_id,
        "status": run.status,
        "total": run.total,
        "inserted": run.inserted,
        "updated": run.updated,
        "failed": run.failed,
    }
