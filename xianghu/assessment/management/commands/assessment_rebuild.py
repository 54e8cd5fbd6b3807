"""`manage.py assessment_rebuild [--county CODE] [--batch N]`: fold every call's events
again and replace the assessment roll-up (docs/scoring.md, "The roll-up").

The roll-up is kept in step with every event as it is written; rebuild it after loading
calls by other means (an import, a restored backup) or after the rules of the fold
change. Calls are processed in batches, each in its own transaction with its calls
locked, so the platform keeps working meanwhile.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.assessment.rollup import rebuild
from xianghu.regions.models import Region


class Command(BaseCommand):
    help = "Rebuild the assessment roll-up (handling episodes, evaluations, cards) from the call events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", help="the code of one county (default: every county)")
        parser.add_argument(
            "--batch", type=int, default=500, help="calls per transaction (default 500)"
        )

    def handle(
        self, *args: Any, county: str | None = None, batch: int = 500, **options: Any
    ) -> None:
        if batch < 1:
            raise CommandError(_("--batch must be at least 1."))
        county_id = None
        if county:
            region = Region.objects.filter(code=county, level="county").first()
            if region is None:
                raise CommandError(
                    _("There is no county with the code %(code)s.") % {"code": county}
                )
            county_id = region.pk
        report = rebuild(county_id=county_id, batch_size=batch)
        self.stdout.write(str(report))
