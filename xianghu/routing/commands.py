"""Helpers shared by the routing management commands."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Catalogue, ScopeLevel
from xianghu.regions.models import Region

# The fictional demo county (xianghu.demo.county.COUNTY_CODE; routing sits below the
# demo app and cannot import it).
DEMO_COUNTY_CODE = "371221"


def counties_with_list() -> list[Region]:
    return [
        c.region
        for c in Catalogue.objects.filter(level=ScopeLevel.COUNTY)
        .select_related("region")
        .order_by("region__code")
        if catalog_selectors.version_in_force(catalogue=c) is not None
    ]


def county_for(code: str | None) -> Region:
    """The county a command works on: the one named, else the only county with a list
    in force, else the demo county."""
    if code:
        county = Region.objects.filter(code=code, level="county").first()
        if county is None:
            raise CommandError(_("There is no county with the code %(code)s.") % {"code": code})
        if catalog_selectors.county_version_in_force(county=county) is None:
            raise CommandError(
                _("%(county)s has no responsibility list in force.") % {"county": county.name}
            )
        return county
    counties = counties_with_list()
    if len(counties) == 1:
        return counties[0]
    demo = next((c for c in counties if c.code == DEMO_COUNTY_CODE), None)
    if demo is not None:
        return demo
    if not counties:
        raise CommandError(
            _(
                "No county has a responsibility list in force (for the demo county run "
                "`manage.py demo_county` first)."
            )
        )
    raise CommandError(
        _("Several counties have a list; name one with --county (%(codes)s).")
        % {"codes": ", ".join(c.code for c in counties)}
    )
