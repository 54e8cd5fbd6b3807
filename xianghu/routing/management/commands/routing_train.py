"""`manage.py routing_train [--county CODE]`: train the routing model of a county (or of
every county with a list in force) and store it as the county's newest model."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.errors import DomainError
from xianghu.routing import services
from xianghu.routing.commands import counties_with_list, county_for


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


class Command(BaseCommand):
    help = (
        "Train the routing model of a county (all counties with a list in force when no "
        "--county is given) from its list, the seed examples, imported tickets and its history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", default=None, help="county code (default: all)")
        parser.add_argument(
            "--no-eval",
            action="store_true",
            help="skip the cross-validated figures (and keep the default threshold)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        counties = [county_for(opts["county"])] if opts["county"] else counties_with_list()
        if not counties:
            raise CommandError(_("No county has a responsibility list in force."))
        for county in counties:
            try:
                row = services.routing_train(county=county, evaluate=not opts["no_eval"])
            except DomainError as exc:
                raise CommandError(f"{county.name}: {exc.message}") from exc
            m = row.metrics
            cv = m.get("cv") or {}
            sources = ", ".join(f"{k} {v}" for k, v in m["sources"].items())
            self.stdout.write(
                _(
                    "%(county)s: model v%(version)s on list version %(list)s — %(n)s examples "
                    "(%(sources)s), %(labels)s labels, %(features)s features, %(kb)s kB, "
                    "%(s)s s; cross-validated on %(cv_n)s real texts: top-1 %(top1)s, "
                    "top-3 %(top3)s, outside detected %(out)s, threshold %(t)s"
                )
                % {
                    "county": county.name,
                    "version": row.version,
                    "list": row.list_version_id,
                    "n": m["examples"],
                    "sources": sources,
                    "labels": m["labels"],
                    "features": m["features"],
                    "kb": m["bytes"] // 1024,
                    "s": m["train_seconds"],
                    "cv_n": cv.get("n", 0),
                    "top1": _pct(cv.get("top1")),
                    "top3": _pct(cv.get("top3")),
                    "out": _pct(cv.get("outside_detected")),
                    "t": m["threshold"],
                }
            )
