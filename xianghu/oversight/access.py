"""Who sees which regions in the oversight pages (docs/oversight.md).

- a province or city user (`catalog.access.oversight_paths`: a membership in a
  government organisation at province or city level) sees every region under it;
- a superuser, or a system administrator outside every county, sees every region;
- anybody else with a county membership (a system administrator of a county too) sees
  that county and its townships.
A region outside the remit is "not found" (404), whether it exists or not.
"""

from __future__ import annotations

from xianghu.catalog.access import oversight_paths
from xianghu.core.actor import Actor
from xianghu.core.errors import NotFound, PermissionDenied
from xianghu.core.sandbox import outside_sandbox
from xianghu.regions.access import is_system_admin
from xianghu.regions.models import Membership, Region
from xianghu.regions.roles import RegionLevel, Role

#: The levels the oversight pages are about (a village has no page).
PAGE_LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP)


def _sees_everything(actor: Actor) -> bool:
    if actor.is_superuser:
        return True
    return is_system_admin(actor) and any(
        g.county_id is None for g in actor.grants_for(Role.SYSTEM_ADMIN)
    )


def remit_paths(actor: Actor) -> tuple[str, ...]:
    """The region paths the actor oversees; `("",)` for everything, `()` for nothing.
    One query at most."""
    if actor.is_anonymous:
        return ()
    if _sees_everything(actor):
        return ("",)
    paths = set(oversight_paths(actor))
    counties = actor.county_ids()
    if counties:
        paths |= set(Region.objects.filter(pk__in=counties).values_list("path", flat=True))
    # A path inside another one adds nothing.
    kept = sorted(paths, key=len)
    out: list[str] = []
    for p in kept:
        if not any(p.startswith(o) for o in out):
            out.append(p)
    return tuple(sorted(out))


def may_oversee(actor: Actor) -> bool:
    return bool(remit_paths(actor))


def within(paths: tuple[str, ...], region: Region) -> bool:
    return any(region.path.startswith(p) for p in paths)


def region_get(*, actor: Actor, code: str) -> Region:
    """The region with `code` if the actor oversees it and it has a page, else
    `NotFound` (the same answer for a region that does not exist)."""
    paths = remit_paths(actor)
    if not paths:
        raise PermissionDenied(code="oversight.not_allowed")
    region = (
        Region.objects.filter(code=code[:12], level__in=PAGE_LEVELS)
        .select_related("parent")
        .first()
    )
    if region is None or not within(paths, region):
        raise NotFound()
    return region


def home_regions(*, actor: Actor) -> list[Region]:
    """The regions at the top of the actor's remit (the provinces, for everything)."""
    paths = remit_paths(actor)
    if not paths:
        raise PermissionDenied(code="oversight.not_allowed")
    if paths == ("",):
        # The training sandbox's practice root is no province anyone oversees.
        return list(
            Region.objects.filter(outside_sandbox(), level=RegionLevel.PROVINCE).order_by("code")
        )
    return list(Region.objects.filter(path__in=paths).order_by("code"))


def works_above_counties(membership: Membership | None) -> bool:
    """Whether the membership is one of a province or city organisation (no query: the
    organisation's county is on the row); such users open `/oversight/` from the menu.
    County users reach their own county's page from there too, but the menu leaves it
    to those above."""
    return membership is not None and membership.organisation.county_id is None
