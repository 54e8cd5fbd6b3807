"""`manage.py routing_import --county CODE --input TICKETS.csv [--text-col text]
[--label-col label]`: store labelled tickets (an item code of the county's list in force,
or empty / 清单外 for "outside the list") for the next training. Every row is checked
first; a bad row stops the import with the rows listed, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput
from xianghu.routing import services
from xianghu.routing.commands import county_for
from xianghu.routing.csvio import CsvProblem, read_table


class Command(BaseCommand):
    help = "Import labelled tickets (text, item code) as routing examples of a county."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", required=True, help="county code")
        parser.add_argument("--input", required=True, type=Path, help="CSV of tickets")
        parser.add_argument("--text-col", default="text")
        parser.add_argument("--label-col", default="label")

    def handle(self, *args: Any, **opts: Any) -> None:
        county = county_for(opts["county"])
        try:
            table = read_table(opts["input"], required=(opts["text_col"], opts["label_col"]))
        except CsvProblem as exc:
            raise CommandError(str(exc)) from exc
        try:
            n = services.examples_import(
                county=county,
                rows=table.rows,
                text_col=opts["text_col"],
                label_col=opts["label_col"],
                batch=opts["input"].name,
            )
        except InvalidInput as exc:
            for problem in exc.detail or []:
                self.stderr.write(
                    _("row %(row)s, %(field)s: %(message)s")
                    % {
                        "row": problem.get("row", "-"),
                        "field": problem.get("field", problem.get("column", "")),
                        "message": problem.get("message", ""),
                    }
                )
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            _("%(n)s examples imported for %(county)s; run routing_train to learn from them.")
            % {"n": n, "county": county.name}
        )
