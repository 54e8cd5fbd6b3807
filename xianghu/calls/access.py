"""Who sees a call: the calling organisation (and, for a township, its villages' staff),
the organisations it was dispatched to (and their stationed agencies), the county's
platform operators, assessors and leaders' remit, and system administrators."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.models import Membership
from xianghu.regions.roles import OrgKind, Role

from .models import Attachment, Call, CallEvent, Dispatch

# The roles whose organisations work the overdue board: the platform (every call of its
# county) and department leaders (their departments' calls).
OVERDUE_BOARD_ROLES = frozenset({Role.PLATFORM_OPERATOR, Role.DEPARTMENT_LEADER})


def may_see_overdue_board(membership: Membership | None) -> bool:
    """Whether the membership acting now opens the overdue board; what it lists is
    still limited to the calls the actor sees (`call_rule`)."""
    return membership is not None and membership.role in OVERDUE_BOARD_ROLES


def call_rule(actor: Actor, prefix: str = "") -> Q:
    if is_system_admin(actor):
        return ALL
    if actor.is_anonymous:
        return NOTHING
    p = prefix
    own = actor.organisation_ids()
    q = Q(**{f"{p}caller_id__in": own}) | Q(**{f"{p}dispatches__organisation_id__in": own})
    townships = {g.township_id for g in actor.grants if g.organisation_kind == OrgKind.VILLAGE}
    if townships:
        q |= Q(**{f"{p}caller__township_id__in": townships})
    departments = {
        g.parent_organisation_id
        for g in actor.grants
        if g.organisation_kind == OrgKind.STATIONED_AGENCY and g.parent_organisation_id
    }
    if departments:
        q |= Q(**{f"{p}dispatches__organisation_id__in": departments})
    leader_of = actor.organisation_ids(Role.DEPARTMENT_LEADER)
    if leader_of:
        q |= Q(**{f"{p}dispatches__organisation__parent_id__in": leader_of})
    county_wide = actor.county_ids(Role.PLATFORM_OPERATOR, Role.ASSESSOR)
    if county_wide:
        q |= Q(**{f"{p}county_id__in": county_wide})
    return q


@register(Call)
class CallPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor) if action == "view" else NOTHING


@register(CallEvent)
class CallEventPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor, "call__") if action == "view" else NOTHING


@register(Dispatch)
class DispatchPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor, "call__") if action == "view" else NOTHING


@register(Attachment)
class AttachmentPolicy(QueryPolicy):
    """A photo is seen by whoever sees its call."""

    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor, "call__") if action == "view" else NOTHING
