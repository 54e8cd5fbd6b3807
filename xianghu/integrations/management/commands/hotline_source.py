"""Create (or show) a county's 12345 source and print its webhook URL and secret.

manage.py hotline_source --county 371221 --name 12345
manage.py hotline_source --county 371221 --name 12345 --secret "the shared secret"
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xianghu.integrations.hotline import services
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel


class Command(BaseCommand):
    help = "Create or show a 12345 hotline source: its id, webhook path and secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", required=True, help="the county's region code")
        parser.add_argument("--name", default="12345")
        parser.add_argument("--secret", default=None, help="set this webhook secret")

    def handle(self, *args: Any, **options: Any) -> None:
        county = Region.objects.filter(code=options["county"], level=RegionLevel.COUNTY).first()
        if county is None:
            raise CommandError(f"No county with the code {options['county']}")
        source = services.source_ensure(
            actor=None, county=county, name=options["name"], secret=options["secret"]
        )
        self.stdout.write(f"source {source.pk}: {source.name} ({county.name})")
        self.stdout.write(f"webhook: /integrations/hotline/webhook/{source.pk}/")
        self.stdout.write(f"secret: {source.webhook_secret}")
