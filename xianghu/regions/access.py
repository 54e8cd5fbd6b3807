"""Who may see and manage regions, organisations and memberships."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.core.sandbox import outside_sandbox

from .models import Membership, Organisation, Region
from .roles import COUNTY_WIDE_ROLES, GOVERNMENT_KINDS, SOCIETY_KINDS, OrgKind, Role


def is_system_admin(actor: Actor) -> bool:
    return actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN)


@register(Region)
class RegionPolicy(QueryPolicy):
    """Administrative divisions are public information."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return ALL
        return ALL if is_system_admin(actor) else NOTHING


def _org_member_rule(actor: Actor, action: str) -> Q:
    """Organisations whose members the actor may see ("view_members") or manage."""
    if is_system_admin(actor):
        return ALL
    q = NOTHING
    if action == "view_members":
        q |= Q(pk__in=actor.organisation_ids())
        county_ids = actor.county_ids(*COUNTY_WIDE_ROLES)
        if county_ids:
            q |= Q(county_id__in=county_ids, kind__in=GOVERNMENT_KINDS)
    # Leaders see and manage their own organisation and what hangs below it.
    for grant in actor.grants_for(Role.TOWNSHIP_LEADER):
        q |= Q(pk=grant.organisation_id)
        q |= Q(kind=OrgKind.VILLAGE, township_id=grant.township_id)
        if action == "view_members":
            q |= Q(kind=OrgKind.STATIONED_AGENCY, township_id=grant.township_id)
    for grant in actor.grants_for(Role.DEPARTMENT_LEADER):
        q |= Q(pk=grant.organisation_id)
        if grant.organisation_kind == OrgKind.DEPARTMENT:
            q |= Q(kind=OrgKind.STATIONED_AGENCY, parent_id=grant.organisation_id)
    return q


@register(Organisation)
class OrganisationPolicy(QueryPolicy):
    """Government bodies of one's own county and all co-governance partners are visible;
    members only to the organisation itself, its leaders' remit and county-wide roles."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            if is_system_admin(actor):
                return ALL
            if actor.is_anonymous:
                return NOTHING
            q = Q(kind__in=SOCIETY_KINDS, is_active=True) | Q(pk__in=actor.organisation_ids())
            county_ids = actor.county_ids()
            if county_ids:
                q |= Q(county_id__in=county_ids)
            if actor.is_public or actor.has_role(Role.PUBLIC_USER):
                # The public directory: every active government body (not the training
                # sandbox's practice ones).
                q |= Q(kind__in=GOVERNMENT_KINDS, is_active=True) & outside_sandbox("region__")
            return q
        if action in {"view_members", "manage_members"}:
            return _org_member_rule(actor, action)
        if action == "change":
            return ALL if is_system_admin(actor) else NOTHING
        return NOTHING


@register(Membership)
class MembershipPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        if action == "view":
            own = Q(user_id=actor.user_id) if actor.user_id is not None else NOTHING
            return own | _prefixed(_org_member_rule(actor, "view_members"))
        if action in {"change", "deactivate"}:
            return _prefixed(_org_member_rule(actor, "manage_members"))
        return NOTHING


def _prefixed(q: Q) -> Q:
    """Re-root an Organisation rule at Membership.organisation."""
    if q is ALL or q is NOTHING:
        return q
    out = Q()
    out.connector = q.connector
    out.negated = q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(_prefixed(child))
        else:
            key, value = child  # type: ignore[misc]
            out.children.append((f"organisation__{key}", value))
    return out
