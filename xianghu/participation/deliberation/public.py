"""The public outcome of deliberation (/open/consultations/): consultations once decided.

What is public: the topic, agenda and decision (masked), the township, place and list
item, the dates, the participating organisations by name, named residents masked
(张*明), the number of comments (not their text: comments are the participants'), and the
follow-up tasks with their calls' numbers and states. Nothing else about a person.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse

from xianghu.calls.workflow import State
from xianghu.core.masking import mask_name, mask_personal_text
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Region

from ..models_open import (
    Consultation,
    ConsultationParticipant,
    ConsultationState,
    ConsultationTask,
    ParticipantKind,
)

PUBLIC_STATES = (ConsultationState.DECIDED, ConsultationState.CLOSED)
LIST_COLUMNS = (
    "id",
    "topic",
    "township",
    "place",
    "item_code",
    "item",
    "state",
    "opened_at",
    "decided_at",
    "closed_at",
    "participants",
    "comments",
    "decision",
    "tasks",
    "url",
)


def public_consultations(*, county: Region) -> QuerySet[Consultation]:
    """The county's decided and closed consultations, latest decision first (three
    queries with the count)."""
    return (
        Consultation.objects.filter(county=county, state__in=PUBLIC_STATES)
        .select_related("township", "place", "item", "county")
        .annotate(comment_count=Count("comments", distinct=True))
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=ConsultationParticipant.objects.select_related("organisation").order_by(
                    "kind", "pk"
                ),
            ),
            Prefetch(
                "tasks", queryset=ConsultationTask.objects.select_related("call").order_by("pk")
            ),
        )
        .order_by("-decided_at", "-pk")
    )


def public_consultation_get(*, county: Region, pk: int) -> Consultation | None:
    return public_consultations(county=county).filter(pk=pk).first()


def _date(value: Any) -> str | None:
    return value.astimezone(CHINA_TZ).date().isoformat() if value else None


def participant_label(p: ConsultationParticipant) -> str:
    """How a participant is named in public: an organisation by its name, a resident
    masked."""
    if p.organisation is not None:
        return p.organisation.name
    if p.kind == ParticipantKind.RESIDENT:
        return mask_name(p.name)
    return mask_name(p.name)


def consultation_row(c: Consultation, *, detail: bool = False) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    for task in c.tasks.all():
        call = task.call
        tasks.append(
            {
                "title": mask_personal_text(task.title),
                "call": call.number,
                "call_state": call.state,
                "call_state_label": str(State(call.state).label)
                if call.state in State.values
                else call.state,
                "case_url": reverse("open:case_detail", args=[call.number])
                if call.state == State.CLOSED
                else "",
            }
        )
    task_field: list[Any] = tasks if detail else [t["call"] for t in tasks]
    row: dict[str, Any] = {
        "id": c.pk,
        "topic": mask_personal_text(c.topic),
        "township": c.township.name,
        "place": c.place.name if c.place else "",
        "item_code": c.item.code if c.item else "",
        "item": c.item.name if c.item else "",
        "state": c.state,
        "state_label": c.get_state_display(),
        "source": c.source,
        "opened_at": _date(c.opened_at),
        "decided_at": _date(c.decided_at),
        "closed_at": _date(c.closed_at),
        "participants": [participant_label(p) for p in c.participants.all()],
        "comments": getattr(c, "comment_count", 0),
        "decision": mask_personal_text(c.decision),
        "tasks": task_field,
        "url": reverse("open:consultation_detail", args=[c.pk]) + f"?county={c.county.code}",
    }
    if detail:
        row["agenda"] = mask_personal_text(c.agenda)
    return row
