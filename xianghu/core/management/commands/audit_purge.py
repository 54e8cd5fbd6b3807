"""`manage.py audit_purge`: delete security audit events older than the retention.

    manage.py audit_purge               # older than XH_AUDIT_RETENTION_DAYS (default 180)
    manage.py audit_purge --days 365    # older than 365 days
    manage.py audit_purge --dry-run     # only count them

The retention is never shorter than 180 days (the Cybersecurity Law keeps network logs at
least six months): a smaller setting or `--days` is refused. This is the only way rows
leave the append-only log; the PostgreSQL trigger lets the purge delete only rows older
than 180 days (docs/security.md, "Security audit log"; docs/operations.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from xianghu.core.audit import audit_record
from xianghu.core.audit_db import MINIMUM_RETENTION_DAYS, audit_purge
from xianghu.core.models import AuditEvent, AuditKind


class Command(BaseCommand):
    help = (
        "Delete security audit events older than the retention (XH_AUDIT_RETENTION_DAYS, "
        f"at least {MINIMUM_RETENTION_DAYS} days)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Retention in days (default: XH_AUDIT_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the events that would be deleted."
        )

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        if days is None:
            days = int(getattr(settings, "XH_AUDIT_RETENTION_DAYS", MINIMUM_RETENTION_DAYS))
        if days < MINIMUM_RETENTION_DAYS:
            raise CommandError(
                f"The audit log is kept at least {MINIMUM_RETENTION_DAYS} days; "
                f"a retention of {days} days is refused."
            )
        before = timezone.now() - timedelta(days=days)
        if dry_run:
            count = AuditEvent.objects.filter(at__lt=before).count()
            self.stdout.write(f"{count} audit events older than {before:%Y-%m-%d %H:%M} UTC.")
            return
        deleted = audit_purge(before=before)
        audit_record(
            kind=AuditKind.OTHER,
            message="audit_purge",
            detail={"deleted": deleted, "before": before.isoformat(), "days": days},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted} audit events older than {before:%Y-%m-%d %H:%M} UTC."
            )
        )
