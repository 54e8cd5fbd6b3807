"""Who sees and who decides accountability cases (docs/accountability.md).

Assessors, platform operators and system administrators of the county open cases,
record incidents and record the final finding. The parties a case is about (the
township and the departments concerned, with the staff of their stationed agencies)
read it, and nothing more. Everyone else: as if the case did not exist (404).
"""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.roles import OrgKind, Role

from .models import AccountabilityCase, Incident

# The roles that open cases and record findings, in the county where they hold them.
CASE_ROLES = (Role.ASSESSOR, Role.PLATFORM_OPERATOR, Role.SYSTEM_ADMIN)


def case_counties(actor: Actor) -> frozenset[int]:
    """The counties where the actor may open cases and decide them."""
    return actor.county_ids(*CASE_ROLES)


def may_manage(actor: Actor, county_id: int | None) -> bool:
    if actor.is_superuser:
        return True
    return county_id is not None and county_id in case_counties(actor)


def _own_organisations(actor: Actor) -> set[int]:
    """The actor's organisations, and for stationed-agency staff their department."""
    ids = set(actor.organisation_ids())
    ids |= {
        g.parent_organisation_id
        for g in actor.grants
        if g.organisation_kind == OrgKind.STATIONED_AGENCY and g.parent_organisation_id
    }
    return ids


def _manage_rule(actor: Actor) -> Q:
    if actor.is_superuser:
        return ALL
    counties = case_counties(actor)
    return Q(county_id__in=counties) if counties else NOTHING


@register(AccountabilityCase)
class AccountabilityCasePolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        manage = _manage_rule(actor)
        if action == "view":
            if manage is ALL:
                return ALL
            own = _own_organisations(actor)
            parties = Q(parties__in=own) if own else NOTHING
            if manage is NOTHING:
                return parties
            return manage | parties if parties is not NOTHING else manage
        if action in ("decide", "refresh"):
            return manage
        return NOTHING


@register(Incident)
class IncidentPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        manage = _manage_rule(actor)
        if action == "view":
            if manage is ALL:
                return ALL
            own = _own_organisations(actor)
            parties = Q(township_id__in=own) | Q(department_id__in=own) if own else NOTHING
            if manage is NOTHING:
                return parties
            return manage | parties if parties is not NOTHING else manage
        if action == "open_case":
            return manage
        return NOTHING
