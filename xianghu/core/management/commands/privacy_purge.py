"""`manage.py privacy_purge [--dry-run] [--kind KEY] [--batch-size N]`: anonymise the
personal values whose retention ran out (docs/privacy.md).

Each registered kind (`core.privacy`) says which rows expired (e.g. a public report's
contact 365 days after the report closed, `XH_RETENTION_REPORT_CONTACT_DAYS`); their
personal fields become "已匿名". The rows — the report, the ticket, the call and its
events — stay. Running it again changes nothing; the worker runs it daily."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.privacy.registry import kinds
from xianghu.core.privacy.services import DEFAULT_BATCH, personal_data_purge


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentTypeError(_("--batch-size must be a whole number of 1 or more."))
    return number


class Command(BaseCommand):
    help = (
        "Replace personal data whose retention ran out with an anonymised marker; the "
        "records themselves are kept. --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count per kind, change nothing")
        parser.add_argument("--kind", help="only this kind (e.g. integrations.hotline_caller)")
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=DEFAULT_BATCH,
            help=f"rows per transaction (default: {DEFAULT_BATCH})",
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        only = options.get("kind")
        known = [k.key for k in kinds()]
        if only is not None and only not in known:
            raise CommandError(
                _("Unknown kind %(kind)s; known kinds: %(known)s.")
                % {"kind": only, "known": ", ".join(known)}
            )
        report = personal_data_purge(dry_run=dry_run, only=only, batch_size=options["batch_size"])
        for count in report.counts:
            if count.days is None:
                line = _("%(kind)s: kept (no retention)") % {"kind": count.key}
            elif dry_run:
                line = _("%(kind)s: %(due)s rows due (retention %(days)s days)") % {
                    "kind": count.key,
                    "due": count.due,
                    "days": count.days,
                }
            else:
                line = _("%(kind)s: %(purged)s rows anonymised (retention %(days)s days)") % {
                    "kind": count.key,
                    "purged": count.purged,
                    "days": count.days,
                }
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(
                _("%(due)s rows due; nothing changed (dry run).") % {"due": report.due}
            )
        else:
            self.stdout.write(_("%(n)s rows anonymised.") % {"n": report.purged})
