"""Background tasks of the call loop (django-tasks; run by `manage.py worker`)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from .supervision import run_sweep


@task()
def supervision_sweep() -> dict[str, Any]:
    """One supervision sweep at the current time (cards, supervision orders, automatic
    closes); the worker enqueues it every minute (`XH_PERIODIC_TASKS`)."""
    return run_sweep().as_dict()


@task()
def attachments_cleanup() -> dict[str, Any]:
    """Delete orphaned photo files older than a day (`attachments.attachments_cleanup`);
    the worker enqueues it daily (`XH_PERIODIC_TASKS`)."""
    from .attachments import attachments_cleanup as cleanup

    return cleanup().as_dict()


@task()
def outbox_relay() -> dict[str, int]:
    """Run the after-commit effects (notifications, webhooks) of events whose process
    died between their commit and those effects (`outbox.outbox_relay`); the worker
    enqueues it every `XH_OUTBOX_RELAY_SECONDS`."""
    from .outbox import outbox_relay as relay

    return relay().as_dict()
