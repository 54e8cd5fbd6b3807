"""`manage.py routing_predict --input CALLS.csv --text-col text --output OUT.csv [--county CODE]`

Routes every row against the county's list in force (by default the demo county, or the
only county with a list) with the county's model — the list's own text, the seed examples
and whatever its history taught it — and writes the input's columns plus `item_code`
(empty when the text is outside the list or cannot be routed), `top3` (codes separated by
`|`) and `confidence` (of the best item). Without a current model it trains one first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.routing import engine, selectors, services
from xianghu.routing.commands import county_for
from xianghu.routing.csvio import CsvProblem, read_table, write_table

ADDED = ("item_code", "top3", "confidence")


class Command(BaseCommand):
    help = (
        "Route each row of a CSV against a county's list in force and write item_code, "
        "top3 and confidence next to the input's columns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="CSV of calls")
        parser.add_argument("--text-col", default="text", help="column of the call text")
        parser.add_argument("--output", required=True, type=Path, help="CSV to write")
        parser.add_argument(
            "--county",
            default=None,
            help="county code (default: the demo county, or the only county with a list)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        text_col = opts["text_col"]
        try:
            table = read_table(opts["input"], required=(text_col,))
        except CsvProblem as exc:
            raise CommandError(str(exc)) from exc
        clash = [c for c in ADDED if c in table.columns]
        if clash:
            raise CommandError(
                _("The input already has the column %(cols)s that the output adds.")
                % {"cols": ", ".join(clash)}
            )
        if not opts["output"].parent.exists():
            raise CommandError(
                _("The folder of %(path)s does not exist.") % {"path": opts["output"]}
            )
        county = county_for(opts["county"])
        latest = selectors.routing_model_latest(county=county)
        if latest is None or latest.schema != engine.SCHEMA_VERSION:
            self.stderr.write(
                _("%(county)s has no current routing model: training one now.")
                % {"county": county.name}
            )
            services.routing_train(county=county)

        out_rows: list[dict[str, object]] = []
        counts = {"outside": 0, "refused": 0, "truncated": 0}
        started = time.perf_counter()
        for row in table.rows:
            suggestion = selectors.route_suggest(
                county=county, text=row.get(text_col, ""), explain=False
            )
            counts["truncated"] += suggestion.truncated
            if not suggestion.ok:
                counts["refused"] += 1
            elif suggestion.outside_list:
                counts["outside"] += 1
            top = suggestion.top
            out_rows.append(
                {
                    **row,
                    "item_code": suggestion.item_code,
                    "top3": "|".join(c.code for c in suggestion.candidates[:3]),
                    "confidence": f"{top.confidence:.4f}" if top else "",
                }
            )
        elapsed = time.perf_counter() - started
        write_table(opts["output"], [*table.columns, *ADDED], out_rows)
        n = len(out_rows)
        self.stdout.write(
            _(
                "%(n)s rows routed against %(county)s: %(outside)s outside the list, "
                "%(refused)s without a suggestion (empty or not Chinese), %(truncated)s cut "
                "to %(max)s characters; %(ms).1f ms per row → %(out)s"
            )
            % {
                "n": n,
                "county": county.name,
                **counts,
                "max": engine.MAX_CHARS,
                "ms": 1000 * elapsed / n if n else 0.0,
                "out": opts["output"],
            }
        )
