"""Who sees a call: the calling organisation (and, for a township, its villages' staff),
the organisations it was dispatched to (and their stationed agencies), the county's
platform operators, assessors and leaders' remit, and system administrators."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.roles import OrgKind, Role

from .models import Attachment, Call, CallEvent, Dispatch


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
