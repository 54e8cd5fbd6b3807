"""Retire practice sandboxes older than a number of days (docs/training.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xianghu.training.services import sandbox_purge


class Command(BaseCommand):
    help = "Retire training sandboxes built more than --older-than DAYS ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days < 0:
            raise CommandError("--older-than must be 0 or more days")
        count = sandbox_purge(older_than=timedelta(days=days))
        self.stdout.write(f"retired {count} training sandbox(es)")
