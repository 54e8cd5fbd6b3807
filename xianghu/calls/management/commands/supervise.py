"""`manage.py supervise [--at ISO]`: run one supervision sweep now and say what it did.

The worker runs the sweep every minute (`XH_PERIODIC_TASKS`); this command is for an
operator who wants it at once, and for trying the rules at a given moment. `--at` writes
the events with that time: use it on a copy of the data, not to rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.calls.supervision import run_sweep
from xianghu.core.workdays import CHINA_TZ


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("--at must be an ISO 8601 date and time, e.g. 2024-10-12T17:31+08:00.")
        ) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment


class Command(BaseCommand):
    help = (
        "Run one supervision sweep (yellow and red cards, supervision orders, automatic "
        "closes) and print what it did."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--at",
            help="sweep as if it were this moment (ISO 8601; without an offset: "
            "Asia/Shanghai). Default: now.",
        )

    def handle(self, *args: Any, at: str | None = None, **options: Any) -> None:
        report = run_sweep(now=_moment(at) if at else None)
        for line in report.lines():
            self.stdout.write(line)
        for warning in report.warnings:
            self.stderr.write(warning)
        self.stdout.write(str(report))
