"""Stationed agencies (派驻机构): reads and writes of their pages (docs/agencies.md).

Selectors: `agency_list`, `agency_filters`, `agency_get`, `agency_consultations`,
`agency_funds`. Services (typed, keyword-only, in a transaction, refusing with coded
errors): `consultation_propose` (the parent department's leader), `consultation_opine`
(the host township's leader, once), `consultation_decide` (the parent department's
leader, once, after the opinion), `agency_funds_set` (the county's 两办).

Codes: `regions.consultation_invalid` (400, with the fields in `detail`),
`regions.reason_required` (400), `regions.propose_forbidden`, `regions.opinion_forbidden`,
`regions.decision_forbidden`, `regions.funds_forbidden` (403), `regions.agency_inactive`,
`regions.consultation_open`, `regions.opinion_given`, `regions.opinion_missing`,
`regions.consultation_decided` (409), `regions.funds_invalid` (400: the note too long),
`regions.not_an_agency` (400, trusted callers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.core.policies import NOTHING
from xianghu.core.text import clean_text

from .agency_access import (
    agency_rule,
    may_propose,
    may_see_agency,
    may_set_funds,
    opining_townships,
)
from .models import (
    AgencyFunds,
    ConsultationDecision,
    ConsultationKind,
    HeadConsultation,
    Organisation,
    Region,
    TownshipOpinion,
)
from .roles import OrgKind

MAX_NAME = 64
MAX_TEXT = 2000
MAX_NOTE = 500


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _invalid(problems: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput(
        _("The consultation record is incomplete or invalid."),
        code="regions.consultation_invalid",
        detail=problems,
    )


# ---- reads ----------------------------------------------------------------------------------


def _visible_agencies(actor: Actor) -> QuerySet[Organisation]:
    rule = agency_rule(actor)
    if rule is NOTHING:
        return Organisation.objects.none()
    return Organisation.objects.filter(rule, kind=OrgKind.STATIONED_AGENCY)


def agency_list(
    *,
    actor: Actor,
    township_id: int | None = None,
    department_id: int | None = None,
) -> QuerySet[Organisation]:
    """The stationed agencies the actor may see (of a host township, of a department),
    with their department, host township, funds arrangement and the number of open
    consultations (`open_consultations`); by department, then name."""
    qs = _visible_agencies(actor)
    if township_id is not None:
        qs = qs.filter(township_id=township_id)
    if department_id is not None:
        qs = qs.filter(parent_id=department_id)
    return (
        qs.select_related("parent", "township", "county", "funds_arrangement")
        .annotate(
            open_consultations=Count(
                "head_consultations", filter=Q(head_consultations__decision="")
            )
        )
        .order_by("parent__name", "name", "pk")
    )


def agency_filters(*, actor: Actor) -> tuple[list[Region], list[Organisation]]:
    """The host townships and the parent departments of the agencies the actor sees, for
    the list's filters."""
    visible = _visible_agencies(actor)
    townships = list(Region.objects.filter(pk__in=visible.values("township_id")).order_by("code"))
    departments = list(
        Organisation.objects.filter(pk__in=visible.values("parent_id")).order_by("name")
    )
    return townships, departments


def agency_get(*, actor: Actor, pk: Any) -> Organisation:
    """A stationed agency whose page the actor may see; 404 otherwise (absent, another
    county's, not an agency, or not the actor's to see)."""
    try:
        return (
            _visible_agencies(actor)
            .select_related("parent", "township", "county", "region")
            .get(pk=pk)
        )
    except (Organisation.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def agency_consultations(*, actor: Actor, agency: Organisation) -> QuerySet[HeadConsultation]:
    """The agency's head consultations, newest first."""
    return access.visible(
        actor,
        HeadConsultation.objects.filter(agency=agency).select_related(
            "proposed_by_organisation",
            "proposed_by",
            "opinion_organisation",
            "opinion_by",
            "decided_by",
        ),
    ).order_by("-proposed_at", "-pk")


def consultation_get(*, actor: Actor, pk: Any) -> HeadConsultation:
    qs = HeadConsultation.objects.select_related("agency", "agency__parent", "agency__township")
    return access.get_visible(actor, qs, pk=pk)


def agency_funds(*, actor: Actor, agency: Organisation) -> AgencyFunds | None:
    """The agency's funds arrangement (None: never set, i.e. not managed by the township)."""
    return (
        access.visible(actor, AgencyFunds.objects.filter(agency=agency))
        .select_related("updated_by")
        .first()
    )


# ---- writes: the head consultation ------------------------------------------------------------


@transaction.atomic
def consultation_propose(
    *,
    actor: Actor,
    agency: Organisation,
    kind: str,
    person_name: str,
    proposal: str,
    position: str = "",
    at: datetime | None = None,
) -> HeadConsultation:
    """The parent department proposes appointing or removing the agency's head; the host
    township is then asked for its opinion. One open consultation per agency and kind."""
    if agency.kind != OrgKind.STATIONED_AGENCY or not may_see_agency(actor, agency):
        raise NotFound()
    if not may_propose(actor, agency):
        raise PermissionDenied(
            _("Only the leader of the agency's parent department can make this proposal."),
            code="regions.propose_forbidden",
        )
    person_name, position, proposal = (
        clean_text(person_name),
        clean_text(position),
        clean_text(proposal),
    )
    problems = []
    if kind not in ConsultationKind.values:
        problems.append(_problem("kind", _("Choose an appointment or a removal.")))
    if not person_name:
        problems.append(_problem("person_name", _("Name the person.")))
    elif len(person_name) > MAX_NAME:
        problems.append(
            _problem("person_name", _("At most %(max)s characters.") % {"max": MAX_NAME})
        )
    if len(position) > MAX_NAME:
        problems.append(_problem("position", _("At most %(max)s characters.") % {"max": MAX_NAME}))
    if not proposal:
        problems.append(_problem("proposal", _("Give the reasons for the proposal.")))
    elif len(proposal) > MAX_TEXT:
        problems.append(_problem("proposal", _("At most %(max)s characters.") % {"max": MAX_TEXT}))
    if problems:
        raise _invalid(problems)
    if not agency.is_active:
        raise Conflict(_("This agency is no longer active."), code="regions.agency_inactive")
    # Lock the agency so that two proposals of the same kind cannot both pass the check.
    Organisation.objects.select_for_update().filter(pk=agency.pk).first()
    if HeadConsultation.objects.filter(agency=agency, kind=kind, decision="").exists():
        raise _open_conflict()
    assert agency.parent_id is not None  # a stationed agency always has its department
    try:
        with transaction.atomic():
            return HeadConsultation.objects.create(
                agency=agency,
                kind=kind,
                person_name=person_name,
                position=position,
                proposal=proposal,
                proposed_by_organisation_id=agency.parent_id,
                proposed_by_id=actor.user_id,
                proposed_at=at or timezone.now(),
            )
    except IntegrityError as exc:  # the open-per-kind constraint, in a race
        raise _open_conflict() from exc


def _open_conflict() -> Conflict:
    return Conflict(
        _("A consultation of this kind is already open for this agency; decide on it first."),
        code="regions.consultation_open",
    )


def _locked(consultation: HeadConsultation) -> HeadConsultation:
    return HeadConsultation.objects.select_for_update().get(pk=consultation.pk)


@transaction.atomic
def consultation_opine(
    *,
    actor: Actor,
    consultation: HeadConsultation,
    opinion: str,
    text: str = "",
    at: datetime | None = None,
) -> HeadConsultation:
    """The host township's leader records the township's opinion, once. Reservations and
    disagreement need their reasons."""
    access.require(actor, "view", consultation)
    if not access.can(actor, "opine", consultation):
        raise PermissionDenied(
            _("Only the leader of the host township can give the township's opinion."),
            code="regions.opinion_forbidden",
        )
    text = clean_text(text)
    if opinion not in TownshipOpinion.values:
        raise _invalid(
            [_problem("opinion", _("Choose agree, agree with reservations or disagree."))]
        )
    if len(text) > MAX_TEXT:
        raise _invalid(
            [_problem("opinion_text", _("At most %(max)s characters.") % {"max": MAX_TEXT})]
        )
    if opinion != TownshipOpinion.AGREE and not text:
        message = _("Give the township's reasons.")
        raise InvalidInput(
            message, code="regions.reason_required", detail=[_problem("opinion_text", message)]
        )
    locked = _locked(consultation)
    if locked.opinion:
        raise Conflict(
            _("The township has already given its opinion on this proposal."),
            code="regions.opinion_given",
        )
    township_org = opining_townships(actor).get(locked.agency.township_id or 0)
    locked.opinion = opinion
    locked.opinion_text = text
    locked.opinion_organisation_id = township_org
    locked.opinion_by_id = actor.user_id
    locked.opinion_at = at or timezone.now()
    locked.save(
        update_fields=[
            "opinion",
            "opinion_text",
            "opinion_organisation",
            "opinion_by",
            "opinion_at",
        ]
    )
    return locked


@transaction.atomic
def consultation_decide(
    *,
    actor: Actor,
    consultation: HeadConsultation,
    decision: str,
    text: str = "",
    at: datetime | None = None,
) -> HeadConsultation:
    """The parent department's leader decides, once, and only after the township's
    opinion. A rejection, a withdrawal, and an approval over the township's reservations
    or disagreement need their reasons."""
    access.require(actor, "view", consultation)
    if not access.can(actor, "decide", consultation):
        raise PermissionDenied(
            _("Only the leader of the agency's parent department can decide."),
            code="regions.decision_forbidden",
        )
    text = clean_text(text)
    if decision not in ConsultationDecision.values:
        raise _invalid([_problem("decision", _("Choose approve, reject or withdraw."))])
    if len(text) > MAX_TEXT:
        raise _invalid(
            [_problem("decision_text", _("At most %(max)s characters.") % {"max": MAX_TEXT})]
        )
    locked = _locked(consultation)
    if locked.decision:
        raise Conflict(
            _("This consultation has already been decided."), code="regions.consultation_decided"
        )
    if not locked.opinion:
        raise Conflict(
            _("The host township has not given its opinion yet: decide after it has."),
            code="regions.opinion_missing",
        )
    needs_reason = (
        decision != ConsultationDecision.APPROVED or locked.opinion != TownshipOpinion.AGREE
    )
    if needs_reason and not text:
        message = (
            _("Approving over the township's reservations or disagreement needs your reasons.")
            if decision == ConsultationDecision.APPROVED
            else _("Give the reasons for the decision.")
        )
        raise InvalidInput(
            message, code="regions.reason_required", detail=[_problem("decision_text", message)]
        )
    locked.decision = decision
    locked.decision_text = text
    locked.decided_by_id = actor.user_id
    locked.decided_at = at or timezone.now()
    locked.save(update_fields=["decision", "decision_text", "decided_by", "decided_at"])
    return locked


# ---- writes: the funds arrangement ------------------------------------------------------------


@transaction.atomic
def agency_funds_set(
    *,
    actor: Actor | None,
    agency: Organisation,
    managed_by_township: bool,
    note: str = "",
    at: datetime | None = None,
) -> AgencyFunds:
    """Record whether the agency's daily funds are managed by its host township, with a
    note. The county's 两办; `actor=None` for trusted callers (the demo command)."""
    if actor is not None:
        if agency.kind != OrgKind.STATIONED_AGENCY or not may_see_agency(actor, agency):
            raise NotFound()
        if not may_set_funds(actor, agency):
            raise PermissionDenied(
                _("Only the county's Party and government offices (两办) can set this."),
                code="regions.funds_forbidden",
            )
    elif agency.kind != OrgKind.STATIONED_AGENCY:
        raise InvalidInput(
            _("This organisation is not a stationed agency."), code="regions.not_an_agency"
        )
    note = clean_text(note)
    if len(note) > MAX_NOTE:
        raise InvalidInput(
            _("The note is too long."),
            code="regions.funds_invalid",
            detail=[_problem("note", _("At most %(max)s characters.") % {"max": MAX_NOTE})],
        )
    funds, _created = AgencyFunds.objects.update_or_create(
        agency=agency,
        defaults={
            "managed_by_township": bool(managed_by_township),
            "note": note,
            "updated_by_id": actor.user_id if actor is not None else None,
            "updated_at": at or timezone.now(),
        },
    )
    return funds
