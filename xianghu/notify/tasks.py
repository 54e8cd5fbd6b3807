"""Background delivery of notifications and webhooks (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Send copies of inbox notifications through the external channels."""
    from .services import notification_deliver

    counts: dict[str, int] = {}
    for pk in notification_ids:
        for status in notification_deliver(notification_id=pk).values():
            counts[status] = counts.get(status, 0) + 1
    return counts


@task()
def deliver_webhook(delivery_id: int) -> str:
    """One attempt of one webhook delivery (a failure schedules the next attempt)."""
    from .services import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id).status


@task()
def retry_due_webhooks() -> int:
    """Attempt every pending delivery whose next attempt is due (for backends that cannot
    defer a task, or after a lost worker)."""
    from .services import webhook_retry_due

    return webhook_retry_due()
