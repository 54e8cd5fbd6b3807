"""Who sees the lists, change requests and admissions.

Published and superseded versions are public (the open list of 多元共治): anyone, even
without a login, may read them. Drafts belong to the 编办 that keeps the list.
"""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.roles import OrgKind, Role

from .models import (
    Admission,
    Catalogue,
    ChangeRequest,
    DecisionStatus,
    Item,
    ListVersion,
    VersionStatus,
)

PUBLIC_STATUSES = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)


def _reviewer_counties(actor: Actor) -> frozenset[int]:
    return actor.county_ids(Role.BIANBAN_REVIEWER)


@register(Catalogue)
class CataloguePolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return ALL
        if is_system_admin(actor):
            return ALL
        if action in ("manage", "decide"):
            return Q(region_id__in=_reviewer_counties(actor))
        return NOTHING


@register(ListVersion)
class ListVersionPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        keeper = Q(catalogue__region_id__in=_reviewer_counties(actor))
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
