"""`manage.py attachments_cleanup [--dry-run] [--grace-hours N]`: delete the photo files
under MEDIA_ROOT/calls/ that no attachment references.

Such files are left when an action with photos was refused or rolled back after the file
was written. Only files older than the grace period (default 24 hours) are touched, so an
upload whose row is not committed yet is never removed. The worker runs the same cleanup
daily (`calls.tasks.attachments_cleanup` in `XH_PERIODIC_TASKS`).
"""

from __future__ import annotations

from argparse import ArgumentTypeError
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.calls.attachments import DEFAULT_GRACE, attachments_cleanup


def _hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not 0 <= hours < float("inf"):  # also refuses NaN
        raise ArgumentTypeError(_("--grace-hours must be a number of hours (0 or more)."))
    return hours


class Command(BaseCommand):
    help = (
        "Delete the photo files under MEDIA_ROOT/calls/ that no attachment references and "
        "that are older than the grace period; --dry-run only lists them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="list the orphaned files, delete nothing"
        )
        parser.add_argument(
            "--grace-hours",
            type=_hours,
            default=DEFAULT_GRACE.total_seconds() / 3600,
            help="leave files younger than this many hours (default: 24)",
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        grace = timedelta(hours=options["grace_hours"])
        report = attachments_cleanup(grace=grace, dry_run=dry_run)
        for orphan in report.orphans:
            self.stdout.write(f"{orphan.name}\t{orphan.size}\t{orphan.modified.isoformat()}")
        for error in report.errors:
            self.stderr.write(error)
        if dry_run:
            summary = _(
                "%(n)s orphaned files (%(bytes)s bytes) of %(examined)s examined; "
                "nothing deleted (dry run)."
            )
        else:
            summary = _(
                "%(deleted)s of %(n)s orphaned files deleted (%(bytes)s bytes); "
                "%(examined)s files examined."
            )
        self.stdout.write(
            summary
            % {
                "n": len(report.orphans),
                "deleted": report.deleted,
                "bytes": report.bytes,
                "examined": report.examined,
            }
        )
        if report.errors:
            raise CommandError(
                _("%(n)s files could not be handled (see above).") % {"n": len(report.errors)}
            )
