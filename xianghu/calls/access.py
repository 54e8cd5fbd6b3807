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
    """The calls the actor sees, as a filter on `Call` (or, with `prefix`, on a model
    with a foreign key to it). It follows foreign keys only, never a to-many relation
    (dispatches are matched by subquery), so it multiplies no row: the lists need no
    DISTINCT."""
    if is_system_admin(actor):
        return ALL
    if actor.is_anonymous:
        return NOTHING
    p = prefix
    county_wide = actor.county_ids(Role.PLATFORM_OPERATOR, Role.ASSESSOR)
    # Every party of a call is an organisation of the call's county (the caller, the
    # township called, every dispatch: `services._org`), so a grant in a county the actor
    # sees whole adds nothing. Leaving those grants out keeps a platform operator's rule a
    # plain `county_id IN (…)`, which the `(county, created_at)` index serves at any size;
    # an OR with the other conditions would make the database read the whole table.
    grants = [g for g in actor.grants if g.county_id is None or g.county_id not in county_wide]
    q = Q(**{f"{p}county_id__in": county_wide}) if county_wide else NOTHING
    if not grants:
        return q
    own = {g.organisation_id for g in grants}
    handled = set(own)
    others = Q(**{f"{p}caller_id__in": own})
    townships = {g.township_id for g in grants if g.organisation_kind == OrgKind.VILLAGE}
    if townships:
        others |= Q(**{f"{p}caller__township_id__in": townships})
    handled |= {
        g.parent_organisation_id
        for g in grants
        if g.organisation_kind == OrgKind.STATIONED_AGENCY and g.parent_organisation_id
    }
    dispatched = Dispatch.objects.filter(organisation_id__in=handled)
    leader_of = {g.organisation_id for g in grants if g.role == Role.DEPARTMENT_LEADER}
    if leader_of:
        dispatched = Dispatch.objects.filter(
            Q(organisation_id__in=handled) | Q(organisation__parent_id__in=leader_of)
        )
    others |= Q(**{f"{p}pk__in": dispatched.values("call_id")})
    # The same county as a grant's (see above): lets the database walk the county's
    # calls by index instead of testing every call of the province.
    counties = {g.county_id for g in grants if g.county_id is not None}
    if len(counties) == len({g.county_id for g in grants}):
        others &= Q(**{f"{p}county_id__in": counties})
    return others if q is NOTHING else q | others


@register(Call)
class CallPolicy(QueryPolicy):
    distinct = False  # call_rule follows foreign keys only

    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor) if action == "view" else NOTHING


@register(CallEvent)
class CallEventPolicy(QueryPolicy):
    distinct = False  # call_rule follows foreign keys only

    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor, "call__") if action == "view" else NOTHING


@register(Dispatch)
class DispatchPolicy(QueryPolicy):
    distinct = False  # call_rule follows foreign keys only

    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor, "call__") if action == "view" else NOTHING


@register(Attachment)
class AttachmentPolicy(QueryPolicy):
    """A photo is seen by whoever sees its call."""

    distinct = False  # call_rule follows foreign keys only

    def rule(self, actor: Actor, action: str) -> Q:
        return call_rule(actor, "call__") if action == "view" else NOTHING
