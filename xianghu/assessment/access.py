"""Who sees which assessment figures (docs/scoring.md, "Who sees what").

- Assessors, platform operators and system administrators: every subject of their county
  (system administrators: of every county).
- Department leaders and handlers: their own department and its stationed agencies; staff
  of a stationed agency: that agency.
- Township leaders: their township (its figures as a subject: valid calls, cooperation);
  they fill the periodic evaluation forms of their township.
- Everybody else: nothing (403 `assessment.forbidden`).

The rule is one `Q` over `Organisation` (`subject_rule`), re-rooted for the facts and the
forms, as in `calls/access.py`; a ranking is computed over every subject of the county and
shows the rows the actor may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.errors import InvalidInput, PermissionDenied
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind, Role

from .models import AssessmentPolicy, DispatchFact, EventFact, PeriodicEvaluation, SubmissionFact

#: The kinds of organisation that are assessed.
SUBJECT_KINDS = (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY, OrgKind.TOWNSHIP)

#: Roles that see every subject of their county.
COUNTY_ROLES = (Role.ASSESSOR, Role.PLATFORM_OPERATOR, Role.SYSTEM_ADMIN)
#: Roles that change a county's assessment policy.
POLICY_ROLES = (Role.ASSESSOR, Role.SYSTEM_ADMIN)


def subject_rule(actor: Actor, prefix: str = "") -> Q:
    """The organisations whose assessment figures the actor may see, as a filter on
    `Organisation` (`prefix`: the path to it, e.g. `subject__`)."""
    if actor.is_superuser:
        return ALL
    if actor.is_anonymous:
        return NOTHING
    p = prefix
    q = NOTHING
    county_wide = actor.county_ids(*COUNTY_ROLES)
    if county_wide:
        q |= Q(**{f"{p}county_id__in": county_wide, f"{p}kind__in": SUBJECT_KINDS})
    for grant in actor.grants_for(Role.DEPARTMENT_LEADER, Role.DEPARTMENT_HANDLER):
        q |= Q(**{f"{p}pk": grant.organisation_id})
        if grant.organisation_kind == OrgKind.DEPARTMENT:
            q |= Q(**{f"{p}parent_id": grant.organisation_id, f"{p}kind": OrgKind.STATIONED_AGENCY})
    for grant in actor.grants_for(Role.TOWNSHIP_LEADER):
        q |= Q(**{f"{p}pk": grant.organisation_id})
    return q


def forbidden() -> PermissionDenied:
    return PermissionDenied(_("You may not see assessment figures."), code="assessment.forbidden")


@dataclass(frozen=True)
class Scope:
    """What an actor sees of one county's assessment: everything, or some subjects."""

    county_id: int
    everything: bool
    subject_ids: frozenset[int]

    def allows(self, subject_id: int) -> bool:
        return self.everything or subject_id in self.subject_ids


def assessment_counties(actor: Actor) -> frozenset[int]:
    """The counties in which the actor sees some assessment figures."""
    roles = (*COUNTY_ROLES, Role.DEPARTMENT_LEADER, Role.DEPARTMENT_HANDLER, Role.TOWNSHIP_LEADER)
    return actor.county_ids(*roles)


def scope_for(actor: Actor, county_id: int | None = None) -> Scope:
    """The actor's view of a county (`county_id`; by default the one county where the
    actor has an assessment role). 403 `assessment.forbidden` when it sees nothing there;
    400 `assessment.county_required` when the county is ambiguous."""
    if county_id is None:
        counties = assessment_counties(actor)
        if len(counties) != 1:
            if not counties and not actor.is_superuser:
                raise forbidden()
            raise InvalidInput(
                _("Choose a county."),
                code="assessment.county_required",
                detail=[{"field": "county", "message": _("This field is required.")}],
            )
        county_id = next(iter(counties))
    if actor.is_superuser or county_id in actor.county_ids(*COUNTY_ROLES):
        return Scope(county_id=county_id, everything=True, subject_ids=frozenset())
    rule = subject_rule(actor)
    if rule is NOTHING:
        raise forbidden()
    ids = frozenset(
        Organisation.objects.filter(rule, county_id=county_id).values_list("pk", flat=True)
    )
    if not ids:
        raise forbidden()
    return Scope(county_id=county_id, everything=False, subject_ids=ids)


def can_change_policy(actor: Actor, county_id: int) -> bool:
    return actor.is_superuser or county_id in actor.county_ids(*POLICY_ROLES)


@register(DispatchFact)
class DispatchFactPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return subject_rule(actor, "subject__") if action == "view" else NOTHING


@register(EventFact)
class EventFactPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return subject_rule(actor, "subject__") if action == "view" else NOTHING


@register(SubmissionFact)
class SubmissionFactPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return subject_rule(actor, "caller__") if action == "view" else NOTHING


@register(PeriodicEvaluation)
class PeriodicEvaluationPolicy(QueryPolicy):
    """A form is seen by whoever sees its subject, and by the township that filled it."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action != "view":
            return NOTHING
        own = actor.organisation_ids(Role.TOWNSHIP_LEADER)
        q = subject_rule(actor, "subject__")
        if own and q is not ALL:
            q |= Q(township_id__in=own)
        return q


@register(AssessmentPolicy)
class AssessmentPolicyPolicy(QueryPolicy):
    """The rules are read by everyone assessed or assessing in the county; changed by its
    assessors and administrators."""

    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_superuser:
            return ALL
        if action == "view":
            counties = assessment_counties(actor)
        elif action == "change":
            counties = actor.county_ids(*POLICY_ROLES)
        else:
            return NOTHING
        return Q(county_id__in=counties) if counties else NOTHING
