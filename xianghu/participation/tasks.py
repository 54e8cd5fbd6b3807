"""Background tasks of public participation (django-tasks; run by `manage.py worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def reporter_message(update_id: int) -> None:
    """Tell a reporter without an account about one timeline entry of their report, by
    SMS or e-mail to the contact they left (`public_reports.reporter_notify`). Enqueued
    in the entry's transaction: on the database backend it commits with the entry, so a
    crash after the commit does not lose the message."""
    from .public_reports import reporter_notify

    reporter_notify(update_id=update_id)
