"""Writes of deliberation (议事协商): a township's consultation goes draft → open →
decided → closed.

- The township's staff (reporters and leaders of the township government) open a
  consultation (by hand or from a hotspot), add participants, open it for comments and
  add follow-up tasks; its leaders record the decision and close it.
- Participants comment while it is open: members of a participating organisation
  (society organisations, enterprises, volunteer teams, village committees) and named
  residents with a public account.
- A follow-up task is a call of the township: a new draft call made through
  `calls.services.call_create` as the township, or a call the township already made.

Errors are coded `consultation.*`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.accounts.models import User
from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor, Grant
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import SOCIETY_KINDS, OrgKind, RegionLevel, Role

from ..models_open import (
    Consultation,
    ConsultationComment,
    ConsultationParticipant,
    ConsultationSource,
    ConsultationState,
    ConsultationTask,
    ParticipantKind,
)

#: The township staff who prepare a consultation; its leaders decide and close it.
MANAGE_ROLES = (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER)
DECIDE_ROLES = (Role.TOWNSHIP_LEADER,)

MAX_TOPIC = 200
MAX_TEXT = 4000
MAX_COMMENT = 2000
MAX_TASK = 120  # a task becomes a call's title


def township_grant(actor: Actor, township_id: int | None, roles: tuple[str, ...]) -> Grant | None:
    """The actor's grant in the government of `township_id` with one of `roles`."""
    for grant in actor.grants_for(*roles):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id == township_id:
            return grant
    return None


def may_manage(actor: Actor, consultation: Consultation) -> bool:
    return (
        actor.is_superuser
        or township_grant(actor, consultation.township_id, MANAGE_ROLES) is not None
    )


def may_decide(actor: Actor, consultation: Consultation) -> bool:
    return (
        actor.is_superuser
        or township_grant(actor, consultation.township_id, DECIDE_ROLES) is not None
    )


def participant_for(actor: Actor, consultation: Consultation) -> ConsultationParticipant | None:
    """The participant the actor speaks for: itself as a named resident, else one of its
    organisations."""
    if actor.user_id is None:
        return None
    own = actor.organisation_ids()
    found = None
    for p in consultation.participants.all():
        if p.user_id is not None and p.user_id == actor.user_id:
            return p
        if p.organisation_id is not None and p.organisation_id in own and found is None:
            found = p
    return found


def may_comment(actor: Actor, consultation: Consultation) -> bool:
    if consultation.state != ConsultationState.OPEN:
        return False
    return may_manage(actor, consultation) or participant_for(actor, consultation) is not None


def _not_yours() -> PermissionDenied:
    return PermissionDenied(
        _("Only the township's staff prepare its consultations."), code="consultation.not_yours"
    )


def _require_manage(actor: Actor, consultation: Consultation) -> None:
    if not may_manage(actor, consultation):
        raise _not_yours()


def _require_decide(actor: Actor, consultation: Consultation) -> None:
    if not may_decide(actor, consultation):
        raise PermissionDenied(
            _("Only a leader of the township decides and closes a consultation."),
            code="consultation.not_leader",
        )


def _require_state(consultation: Consultation, *states: str) -> None:
    if consultation.state not in states:
        raise Conflict(
            _("This cannot be done while the consultation is “%(state)s”.")
            % {"state": consultation.get_state_display()},
            code="consultation.wrong_state",
        )


def _locked(consultation: Consultation) -> Consultation:
    return Consultation.objects.select_for_update(of=("self",)).get(pk=consultation.pk)


def _invalid(problems: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput(
        _("The consultation is not complete."), code="consultation.invalid", detail=problems
    )


def _check_text(
    problems: list[dict[str, str]], field: str, value: str, limit: int, required: bool = True
) -> str:
    value = clean_text(value)
    if required and not value:
        problems.append({"field": field, "message": _("This field is required.")})
    elif len(value) > limit:
        problems.append({"field": field, "message": _("At most %(n)s characters.") % {"n": limit}})
    return value


# ---- creating -------------------------------------------------------------------------


def consultation_create(
    *,
    actor: Actor,
    township: Region,
    topic: str,
    agenda: str,
    place: Region | None = None,
    item: Item | None = None,
    meeting_at: datetime | None = None,
    source: str = ConsultationSource.MANUAL,
) -> Consultation:
    """A draft consultation of the actor's township."""
    grant = township_grant(actor, township.pk, MANAGE_ROLES)
    if grant is None and not actor.is_superuser:
        raise _not_yours()
    problems: list[dict[str, str]] = []
    topic = _check_text(problems, "topic", topic, MAX_TOPIC)
    agenda = _check_text(problems, "agenda", agenda, MAX_TEXT)
    county = township.parent
    if township.level != RegionLevel.TOWNSHIP or county is None:
        problems.append({"field": "township", "message": _("Choose a township.")})
    if place is not None and not place.path.startswith(township.path):
        problems.append({"field": "place", "message": _("The place must be in your township.")})
    if item is not None and county is not None:
        version = catalog_selectors.county_version_in_force(county=county)
        if version is None or item.version_id != version.pk:
            problems.append({"field": "item", "message": _("Choose an item of the list in force.")})
    if source not in ConsultationSource.values:
        source = ConsultationSource.MANUAL
    if problems:
        raise _invalid(problems)
    assert county is not None
    if grant is not None:
        organiser = Organisation.objects.get(pk=grant.organisation_id)
    else:
        organiser = Organisation.objects.get(kind=OrgKind.TOWNSHIP, township=township)
    return Consultation.objects.create(
        county=county,
        township=township,
        organiser=organiser,
        place=place,
        item=item,
        source=source,
        topic=topic,
        agenda=agenda,
        meeting_at=meeting_at,
        created_by_id=actor.user_id,
    )


# ---- participants ---------------------------------------------------------------------


def participant_organisations(consultation: Consultation) -> list[Organisation]:
    """The organisations that may take part: the county's society organisations and the
    township's village committees (one query)."""
    from django.db.models import Q

    return list(
        Organisation.objects.filter(county_id=consultation.county_id, is_active=True)
        .filter(
            Q(kind__in=SOCIETY_KINDS)
            | Q(kind=OrgKind.VILLAGE, township_id=consultation.township_id)
        )
        .order_by("kind", "name")
    )


@transaction.atomic
def participant_add(
    *,
    actor: Actor,
    consultation: Consultation,
    organisation: Organisation | None = None,
    name: str = "",
    phone: str = "",
) -> ConsultationParticipant:
    """Add an organisation, or a named resident (linked to their public account when
    the phone number given is that of one, so that they may comment)."""
    consultation = _locked(consultation)
    _require_manage(actor, consultation)
    _require_state(consultation, ConsultationState.DRAFT, ConsultationState.OPEN)
    if organisation is not None:
        allowed = {o.pk for o in participant_organisations(consultation)}
        if organisation.pk not in allowed:
            raise InvalidInput(
                _(
                    "Only social organisations, enterprises, volunteer teams of the county "
                    "and the township's village committees take part."
                ),
                code="consultation.bad_participant",
                detail=[{"field": "organisation", "message": _("Choose another organisation.")}],
            )
        if consultation.participants.filter(organisation=organisation).exists():
            raise Conflict(
                _("%(name)s already takes part.") % {"name": organisation.name},
                code="consultation.participant_exists",
            )
        kind = (
            ParticipantKind.VILLAGE
            if organisation.kind == OrgKind.VILLAGE
            else ParticipantKind.ORGANISATION
        )
        return ConsultationParticipant.objects.create(
            consultation=consultation, kind=kind, organisation=organisation
        )
    problems: list[dict[str, str]] = []
    name = _check_text(problems, "name", name, 64)
    phone = clean_text(phone).replace(" ", "").replace("-", "")
    user = None
    if phone:
        user = User.objects.filter(is_public=True, phone=phone, is_active=True).first()
        if user is None:
            problems.append(
                {
                    "field": "phone",
                    "message": _(
                        "No public account has this phone number: add the resident by name "
                        "only, or ask them to register first."
                    ),
                }
            )
    if problems:
        raise InvalidInput(
            _("The participant is not complete."),
            code="consultation.bad_participant",
            detail=problems,
        )
    if user is not None and consultation.participants.filter(user=user).exists():
        raise Conflict(
            _("This resident already takes part."), code="consultation.participant_exists"
        )
    return ConsultationParticipant.objects.create(
        consultation=consultation, kind=ParticipantKind.RESIDENT, name=name, user=user
    )


@transaction.atomic
def participant_remove(
    *, actor: Actor, consultation: Consultation, participant: ConsultationParticipant
) -> None:
    consultation = _locked(consultation)
    _require_manage(actor, consultation)
    _require_state(consultation, ConsultationState.DRAFT, ConsultationState.OPEN)
    if participant.consultation_id != consultation.pk:
        raise InvalidInput(code="consultation.invalid")
    if participant.comments.exists():
        raise Conflict(
            _("This participant has commented and stays on the record."),
            code="consultation.participant_commented",
        )
    participant.delete()


# ---- the steps --------------------------------------------------------------------------


@transaction.atomic
def consultation_open(*, actor: Actor, consultation: Consultation) -> Consultation:
    """Open a draft for comments (it needs at least one participant)."""
    consultation = _locked(consultation)
    _require_manage(actor, consultation)
    _require_state(consultation, ConsultationState.DRAFT)
    if not consultation.participants.exists():
        raise InvalidInput(
            _("Add at least one participant before opening the consultation."),
            code="consultation.no_participants",
        )
    consultation.state = ConsultationState.OPEN
    consultation.opened_at = timezone.now()
    consultation.save(update_fields=["state", "opened_at"])
    return consultation


@transaction.atomic
def comment_add(*, actor: Actor, consultation: Consultation, text: str) -> ConsultationComment:
    consultation = _locked(consultation)
    _require_state(consultation, ConsultationState.OPEN)
    participant = participant_for(actor, consultation)
    if participant is None and not may_manage(actor, consultation):
        raise PermissionDenied(
            _("Only the participants and the township comment on a consultation."),
            code="consultation.not_participant",
        )
    problems: list[dict[str, str]] = []
    text = _check_text(problems, "text", text, MAX_COMMENT)
    if problems:
        raise InvalidInput(
            _("Write a comment of at most %(n)s characters.") % {"n": MAX_COMMENT},
            code="consultation.bad_comment",
            detail=problems,
        )
    return ConsultationComment.objects.create(
        consultation=consultation, participant=participant, author_id=actor.user_id, text=text
    )


@transaction.atomic
def consultation_decide(*, actor: Actor, consultation: Consultation, decision: str) -> Consultation:
    consultation = _locked(consultation)
    _require_decide(actor, consultation)
    _require_state(consultation, ConsultationState.OPEN)
    problems: list[dict[str, str]] = []
    decision = _check_text(problems, "decision", decision, MAX_TEXT)
    if problems:
        raise InvalidInput(
            _("Write down the decision."), code="consultation.no_decision", detail=problems
        )
    consultation.state = ConsultationState.DECIDED
    consultation.decision = decision
    consultation.decided_at = timezone.now()
    consultation.save(update_fields=["state", "decision", "decided_at"])
    return consultation


@transaction.atomic
def consultation_close(*, actor: Actor, consultation: Consultation) -> Consultation:
    consultation = _locked(consultation)
    _require_decide(actor, consultation)
    _require_state(consultation, ConsultationState.DECIDED)
    consultation.state = ConsultationState.CLOSED
    consultation.closed_at = timezone.now()
    consultation.save(update_fields=["state", "closed_at"])
    return consultation


# ---- follow-up tasks ------------------------------------------------------------------


def _call_by_number(actor: Actor, consultation: Consultation, number: str) -> Call:
    call = (
        access.visible(actor, Call.objects.all())
        .filter(number=number, caller_id=consultation.organiser_id)
        .first()
    )
    if call is None:
        raise InvalidInput(
            _("Your township made no call numbered “%(number)s”.") % {"number": number[:32]},
            code="consultation.unknown_call",
            detail=[{"field": "call", "message": _("Unknown call number.")}],
        )
    return call


@transaction.atomic
def task_add(
    *,
    actor: Actor,
    consultation: Consultation,
    title: str,
    call_number: str = "",
    description: str = "",
) -> ConsultationTask:
    """A follow-up task: a call the township already made (`call_number`), or a new
    draft call of the township on the consultation's place and item."""
    consultation = _locked(consultation)
    _require_manage(actor, consultation)
    _require_state(consultation, ConsultationState.OPEN, ConsultationState.DECIDED)
    problems: list[dict[str, str]] = []
    title = _check_text(problems, "title", title, MAX_TASK)
    if problems:
        raise InvalidInput(
            _("Give the task a title of at most %(n)s characters.") % {"n": MAX_TASK},
            code="consultation.bad_task",
            detail=problems,
        )
    number = clean_text(call_number)
    if number:
        call = _call_by_number(actor, consultation, number)
        if consultation.tasks.filter(call=call).exists():
            raise Conflict(
                _("Call %(number)s is already a task of this consultation.")
                % {"number": call.number},
                code="consultation.task_exists",
            )
    else:
        source = _("Follow-up task of the consultation “%(topic)s”.") % {
            "topic": consultation.topic
        }
        body = clean_text(description) or consultation.decision or consultation.agenda
        draft = CallDraft(
            title=title,
            description=f"{body}\n\n{source}"[:4000],
            location=consultation.place or consultation.township,
            item=consultation.item,
        )
        call, _created = call_services.call_create(
            actor=actor, caller=consultation.organiser, draft=draft
        )
    return ConsultationTask.objects.create(
        consultation=consultation, title=title, call=call, created_by_id=actor.user_id
    )
