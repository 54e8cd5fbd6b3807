"""Who sees a stationed agency's page and who acts on it (docs/agencies.md).

Each rule is one `Q` over `Organisation` (`prefix` re-roots it, e.g. at `agency__` for the
consultations and the funds arrangement), so the single-object checks and the lists
cannot disagree:

- see the agency page (`agency_rule`): the agency's own members; the leader of its parent
  department; the leader and the reporters of its host township (the township
  government, not its villages); every member of the platform centre and of the 两办
  of its county (operators, assessors, system administrators); superusers. Nobody else,
  in particular not another county, the 编办, the parent department's handlers, the
  public: for them the page does not exist (404);
- propose a head's appointment or removal, and decide on it (`parent_leader_rule`): the
  leader of the parent department, which keeps the power to appoint;
- give the township's opinion (`host_leader_rule`): the leader of the host township;
- set whether the daily funds are managed by the township (`office_rule`): the members of
  the county's 两办 (county Party and government offices).
"""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import NOTHING, QueryPolicy

from .models import AgencyFunds, HeadConsultation, Organisation
from .roles import OrgKind, Role

#: Kinds of organisation whose members see every agency of their county.
COUNTY_VIEW_KINDS = frozenset({OrgKind.PLATFORM_CENTRE, OrgKind.COUNTY_OFFICE})


def _q(prefix: str, **lookups: object) -> Q:
    return Q(**{f"{prefix}{key}": value for key, value in lookups.items()})


def _agencies(q: Q, prefix: str) -> Q:
    """Restrict a rule to stationed agencies; NOTHING stays NOTHING (the policies'
    shortcut for an empty scope)."""
    if q is NOTHING:
        return NOTHING
    return q & _q(prefix, kind=OrgKind.STATIONED_AGENCY)


def agency_rule(actor: Actor, prefix: str = "") -> Q:
    """The stationed agencies whose page the actor may see."""
    if actor.is_superuser:
        return _q(prefix, kind=OrgKind.STATIONED_AGENCY)
    if actor.is_anonymous:
        return NOTHING
    q = NOTHING
    for grant in actor.grants:
        if grant.organisation_kind == OrgKind.STATIONED_AGENCY:
            q |= _q(prefix, pk=grant.organisation_id)
        elif grant.organisation_kind in COUNTY_VIEW_KINDS and grant.county_id is not None:
            q |= _q(prefix, county_id=grant.county_id)
        elif grant.organisation_kind == OrgKind.DEPARTMENT and grant.role == Role.DEPARTMENT_LEADER:
            q |= _q(prefix, parent_id=grant.organisation_id)
        elif (
            grant.organisation_kind == OrgKind.TOWNSHIP
            and grant.role in (Role.TOWNSHIP_LEADER, Role.TOWNSHIP_REPORTER)
            and grant.township_id is not None
        ):
            q |= _q(prefix, township_id=grant.township_id)
    return _agencies(q, prefix)


def parent_leader_rule(actor: Actor, prefix: str = "") -> Q:
    """The agencies whose parent department the actor leads (propose, decide)."""
    q = NOTHING
    for grant in actor.grants_for(Role.DEPARTMENT_LEADER):
        if grant.organisation_kind == OrgKind.DEPARTMENT:
            q |= _q(prefix, parent_id=grant.organisation_id)
    return _agencies(q, prefix)


def host_leader_rule(actor: Actor, prefix: str = "") -> Q:
    """The agencies hosted by the township the actor leads (the township's opinion)."""
    q = NOTHING
    for grant in actor.grants_for(Role.TOWNSHIP_LEADER):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id is not None:
            q |= _q(prefix, township_id=grant.township_id)
    return _agencies(q, prefix)


def office_rule(actor: Actor, prefix: str = "") -> Q:
    """The agencies of the counties whose 两办 the actor belongs to (the funds flag)."""
    q = NOTHING
    for grant in actor.grants:
        if grant.organisation_kind == OrgKind.COUNTY_OFFICE and grant.county_id is not None:
            q |= _q(prefix, county_id=grant.county_id)
    return _agencies(q, prefix)


def _holds(rule: Q, agency: Organisation) -> bool:
    if rule is NOTHING or agency.pk is None:
        return False
    return Organisation.objects.filter(rule, pk=agency.pk).exists()


# ---- checks about an agency (no consultation yet) and the pages about no single object


def may_see_agencies(actor: Actor) -> bool:
    """Whether the actor has an agency list at all (else the list answers 404)."""
    return agency_rule(actor) is not NOTHING


def may_see_agency(actor: Actor, agency: Organisation) -> bool:
    return _holds(agency_rule(actor), agency)


def may_propose(actor: Actor, agency: Organisation) -> bool:
    return _holds(parent_leader_rule(actor), agency)


def may_set_funds(actor: Actor, agency: Organisation) -> bool:
    return _holds(office_rule(actor), agency)


def proposing_departments(actor: Actor) -> frozenset[int]:
    """The departments the actor leads (a proposal is made in the name of one)."""
    return frozenset(
        g.organisation_id
        for g in actor.grants_for(Role.DEPARTMENT_LEADER)
        if g.organisation_kind == OrgKind.DEPARTMENT
    )


def opining_townships(actor: Actor) -> dict[int, int]:
    """Township region id → the township government the actor leads there."""
    return {
        g.township_id: g.organisation_id
        for g in actor.grants_for(Role.TOWNSHIP_LEADER)
        if g.organisation_kind == OrgKind.TOWNSHIP and g.township_id is not None
    }


# ---- the policies of the two models


@register(HeadConsultation)
class HeadConsultationPolicy(QueryPolicy):
    """`view`: whoever sees the agency; `opine`: the host township's leader; `decide`:
    the parent department's leader."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return agency_rule(actor, "agency__")
        if action == "opine":
            return host_leader_rule(actor, "agency__")
        if action == "decide":
            return parent_leader_rule(actor, "agency__")
        return NOTHING


@register(AgencyFunds)
class AgencyFundsPolicy(QueryPolicy):
    """`view`: whoever sees the agency; `change`: the county's 两办."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return agency_rule(actor, "agency__")
        if action == "change":
            return office_rule(actor, "agency__")
        return NOTHING
