"""Who sees the lists, change requests, admissions and guidance adoption.

Published and superseded versions are public (the open list of 多元共治): anyone, even
without a login, may read them. Drafts belong to the 编办 that keeps the list: a county's
编办 for the county list, the province's (a city's) 编办 for its guidance catalogue.

There is no province or city role: a *province user* (a *city user*) is anyone holding a
membership in a government organisation whose region is the province (the city) and
that belongs to no county, e.g. the province's 编办 (kind `bianban`, role
`bianban_reviewer`). They oversee the counties below their region (read only); they
never decide for a county.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.models import Organisation
from xianghu.regions.roles import GOVERNMENT_KINDS, OrgKind, RegionLevel, Role

from .models import (
    Admission,
    AdoptionTask,
    Catalogue,
    ChangeRequest,
    DecisionStatus,
    Item,
    ListVersion,
    ScopeLevel,
    VersionStatus,
)

PUBLIC_STATUSES = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)
OVERSIGHT_LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY)
# The county roles that follow their list's guidance adoption (the 编办 decides).
ADOPTION_WATCHERS = (Role.BIANBAN_REVIEWER, Role.PLATFORM_OPERATOR, Role.ASSESSOR)


def _reviewer_counties(actor: Actor) -> frozenset[int]:
    return actor.county_ids(Role.BIANBAN_REVIEWER)


def _above_county(actor: Actor, *roles: str) -> list[int]:
    """The actor's organisations (holding one of `roles`, or any) outside every county."""
    grants = actor.grants_for(*roles) if roles else actor.grants
    return [g.organisation_id for g in grants if g.county_id is None]


def guidance_keeper_regions(actor: Actor) -> frozenset[int]:
    """The province or city regions whose guidance catalogue the actor keeps: those of
    its 编办 (kind `bianban`, role `bianban_reviewer`) above county level."""
    ids = _above_county(actor, Role.BIANBAN_REVIEWER)
    if not ids:
        return frozenset()
    return frozenset(
        Organisation.objects.filter(
            pk__in=ids,
            kind=OrgKind.BIANBAN,
            is_active=True,
            region__level__in=OVERSIGHT_LEVELS,
        ).values_list("region_id", flat=True)
    )


def oversight_paths(actor: Actor) -> tuple[str, ...]:
    """The region paths (`Region.path`) of the provinces and cities the actor oversees:
    those of its government organisations at province or city level. Every county whose
    path starts with one of them is in its remit (read only)."""
    ids = _above_county(actor)
    if not ids:
        return ()
    return tuple(
        sorted(
            set(
                Organisation.objects.filter(
                    pk__in=ids,
                    kind__in=GOVERNMENT_KINDS,
                    is_active=True,
                    region__level__in=OVERSIGHT_LEVELS,
                ).values_list("region__path", flat=True)
            )
        )
    )


def is_overseer(actor: Actor) -> bool:
    """A province or city user (see the module's docstring)."""
    return bool(oversight_paths(actor))


def _under(paths: tuple[str, ...], field: str) -> Q:
    q = NOTHING
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


@register(Catalogue)
class CataloguePolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return ALL
        if is_system_admin(actor):
            return ALL
        if action == "manage":
            return Q(region_id__in=_reviewer_counties(actor) | guidance_keeper_regions(actor))
        if action == "decide":
            return Q(region_id__in=_reviewer_counties(actor))
        return NOTHING


@register(ListVersion)
class ListVersionPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        keeper = Q(
            catalogue__region_id__in=_reviewer_counties(actor) | guidance_keeper_regions(actor)
        )
        if action == "view":
            if is_system_admin(actor):
                return ALL
            return Q(status__in=PUBLIC_STATUSES) | keeper
        if action == "manage":
            return ALL if is_system_admin(actor) else keeper
        return NOTHING


@register(Item)
class ItemPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action != "view":
            return NOTHING
        if is_system_admin(actor):
            return ALL
        return Q(version__status__in=PUBLIC_STATUSES) | Q(
            version__catalogue__region_id__in=_reviewer_counties(actor)
            | guidance_keeper_regions(actor)
        )


def _own_or_reviewer(actor: Actor, org_field: str) -> Q:
    if is_system_admin(actor):
        return ALL
    q = Q(catalogue__region_id__in=_reviewer_counties(actor))
    own = actor.organisation_ids()
    if own:
        q |= Q(**{f"{org_field}__in": own})
    # County-wide roles follow the list's changes in their county.
    watchers = actor.county_ids(Role.PLATFORM_OPERATOR, Role.ASSESSOR)
    if watchers:
        q |= Q(catalogue__region_id__in=watchers)
    return q


@register(ChangeRequest)
class ChangeRequestPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        if action == "view":
            return _own_or_reviewer(actor, "filed_by_org_id")
        if action == "decide":
            return (
                ALL
                if is_system_admin(actor)
                else Q(catalogue__region_id__in=_reviewer_counties(actor))
            )
        return NOTHING


@register(Admission)
class AdmissionPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        if action == "view":
            q = _own_or_reviewer(actor, "department_id")
            own = actor.organisation_ids()
            if q is not ALL and own:
                # Target townships see the admissions that reach them: approved ones
                # only (a pending or rejected request hands them nothing).
                q |= Q(townships__in=own, status=DecisionStatus.APPROVED)
                # A village committee works under its township's admitted tasks.
                villages = {
                    g.township_id
                    for g in actor.grants
                    if g.organisation_kind == OrgKind.VILLAGE and g.township_id is not None
                }
                if villages:
                    q |= Q(
                        townships__kind=OrgKind.TOWNSHIP,
                        townships__township_id__in=villages,
                        status=DecisionStatus.APPROVED,
                    )
            return q
        if action == "decide":
            return (
                ALL
                if is_system_admin(actor)
                else Q(catalogue__region_id__in=_reviewer_counties(actor))
            )
        return NOTHING


@register(AdoptionTask)
class AdoptionTaskPolicy(QueryPolicy):
    """The changes of a new guidance version a county list has to adopt or decline:
    seen by the county's 编办 and its county-wide roles, by system admins and by the
    province and city users above the county; decided by the county's 编办 only (and
    superusers), never by a province, city or other county's user."""

    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        if action == "view":
            if is_system_admin(actor):
                return ALL
            q = Q(catalogue__region_id__in=actor.county_ids(*ADOPTION_WATCHERS))
            paths = oversight_paths(actor)
            if paths:
                q |= _under(paths, "catalogue__region__path")
            return q
        if action == "decide":
            if actor.is_superuser:
                return ALL
            # A county's 编办 (a city list's: the city's 编办), as `services` checks.
            return Q(
                catalogue__region_id__in=_reviewer_counties(actor) | guidance_keeper_regions(actor)
            )
        return NOTHING


def adoption_catalogues(actor: Actor) -> QuerySet[Catalogue]:
    """The derived lists whose guidance adoption the actor may follow (the same remit as
    `AdoptionTaskPolicy`'s "view"), by region code."""
    qs = Catalogue.objects.filter(level=ScopeLevel.COUNTY).select_related("region")
    if actor.is_anonymous:
        return qs.none()
    if not is_system_admin(actor):
        q = Q(region_id__in=actor.county_ids(*ADOPTION_WATCHERS))
        paths = oversight_paths(actor)
        if paths:
            q |= _under(paths, "region__path")
        qs = qs.filter(q)
    return qs.order_by("region__code", "pk")


def may_decide_adoption(actor: Actor, catalogue: Catalogue) -> bool:
    """Whether the actor adopts and declines the guidance changes of `catalogue`."""
    return actor.is_superuser or catalogue.region_id in (
        _reviewer_counties(actor) | guidance_keeper_regions(actor)
    )
