"""Who sees, issues and answers notices (通报), docs/notices.md "Who".

- Assessors, platform operators and system administrators of the county (the issuing
  side) generate, edit, issue and discard notices and accept or return the replies; they
  see every notice of their county, drafts included.
- Every government member of the county (county departments and their stationed
  agencies, townships, the 两办, the 编办, the platform centre — not villages, not the
  public) reads the issued notices of the county: a notice is circulated county-wide.
- A named organisation answers its own entries: only its leaders (a department leader of
  the department or stationed agency, a township leader of the township; for a stationed
  agency also the leaders of its department) file the rectification reply. Its staff
  (and the department's, for an agency) read the replies; others read the notice only.
- Everyone else: as if the notice did not exist (404).
"""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.roles import OrgKind, Role

from .models import Notice, NoticeEntry, NoticeStatus, RectificationReply

#: The issuing side, in the county where they hold the role.
MANAGER_ROLES = (Role.ASSESSOR, Role.PLATFORM_OPERATOR, Role.SYSTEM_ADMIN)
#: The roles that file a rectification reply for their organisation.
REPLY_ROLES = (Role.DEPARTMENT_LEADER, Role.TOWNSHIP_LEADER)
#: Every role but the public's.
STAFF_ROLES = tuple(r for r in Role.values if r != Role.PUBLIC_USER)
#: The organisations whose members read the county's issued notices.
READER_KINDS = frozenset(
    {
        OrgKind.COUNTY_OFFICE,
        OrgKind.PLATFORM_CENTRE,
        OrgKind.DEPARTMENT,
        OrgKind.STATIONED_AGENCY,
        OrgKind.TOWNSHIP,
        OrgKind.BIANBAN,
    }
)


def manager_counties(actor: Actor) -> frozenset[int]:
    return actor.county_ids(*MANAGER_ROLES)


def may_manage(actor: Actor, county_id: int | None) -> bool:
    """Whether the actor is on the issuing side of the county."""
    if actor.is_superuser:
        return True
    return county_id is not None and county_id in manager_counties(actor)


def reader_counties(actor: Actor) -> frozenset[int]:
    """The counties whose issued notices the actor reads."""
    return frozenset(
        g.county_id
        for g in actor.grants
        if g.county_id is not None
        and g.role != Role.PUBLIC_USER
        and g.organisation_kind in READER_KINDS
    )


def own_organisations(actor: Actor, *roles: str) -> frozenset[int]:
    """The organisations where the actor holds one of `roles` (default: any staff role)."""
    return frozenset(g.organisation_id for g in actor.grants_for(*roles or STAFF_ROLES))


def _department_ids(actor: Actor, *roles: str) -> frozenset[int]:
    return frozenset(
        g.organisation_id
        for g in actor.grants_for(*roles or STAFF_ROLES)
        if g.organisation_kind == OrgKind.DEPARTMENT
    )


def answers_for(actor: Actor, entry: NoticeEntry, *roles: str) -> bool:
    """Whether the actor belongs (in `roles`) to the organisation named by the entry,
    or to the department of the stationed agency it names."""
    org = entry.organisation
    if org.pk in own_organisations(actor, *roles):
        return True
    return (
        org.kind == OrgKind.STATIONED_AGENCY
        and org.parent_id is not None
        and org.parent_id in _department_ids(actor, *roles)
    )


def may_reply(actor: Actor, entry: NoticeEntry) -> bool:
    return answers_for(actor, entry, *REPLY_ROLES)


def may_see_replies(actor: Actor, entry: NoticeEntry) -> bool:
    """The issuing side and the named organisation (with its department) read replies."""
    if may_manage(actor, entry.notice.county_id):
        return True
    return answers_for(actor, entry, *STAFF_ROLES)


def _notice_rule(actor: Actor, p: str = "") -> Q:
    if actor.is_superuser:
        return ALL
    if actor.is_anonymous:
        return NOTHING
    q = NOTHING
    managed = manager_counties(actor)
    if managed:
        q = Q(**{f"{p}county_id__in": managed})
    readers = reader_counties(actor) - managed
    if readers:
        issued = Q(**{f"{p}county_id__in": readers, f"{p}status": NoticeStatus.ISSUED})
        q = issued if q is NOTHING else q | issued
    return q


def _manage_rule(actor: Actor, p: str = "") -> Q:
    if actor.is_superuser:
        return ALL
    managed = manager_counties(actor)
    return Q(**{f"{p}county_id__in": managed}) if managed else NOTHING


@register(Notice)
class NoticePolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return _notice_rule(actor)
        if action == "manage":
            return _manage_rule(actor)
        return NOTHING


@register(NoticeEntry)
class NoticeEntryPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return _notice_rule(actor, "notice__")
        if action == "decide":
            return _manage_rule(actor, "notice__")
        return NOTHING


@register(RectificationReply)
class RectificationReplyPolicy(QueryPolicy):
    """Replies are read by the issuing side and by the organisation that replied (and
    the department of a replying stationed agency)."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action != "view":
            return NOTHING
        if actor.is_superuser:
            return ALL
        if actor.is_anonymous:
            return NOTHING
        q = _manage_rule(actor, "entry__notice__")
        own = own_organisations(actor)
        if own:
            mine = Q(entry__organisation_id__in=own, entry__notice__status=NoticeStatus.ISSUED)
            mine |= Q(
                entry__organisation__parent_id__in=own,
                entry__organisation__kind=OrgKind.STATIONED_AGENCY,
                entry__notice__status=NoticeStatus.ISSUED,
            )
            q = mine if q is NOTHING else q | mine
        return q
