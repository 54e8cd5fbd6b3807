"""Reads of deliberation for the staff pages and the participants.

Who sees a consultation: the township's staff (reporters and leaders of the township
government), the county-wide roles of its county (platform operators, assessors, system
administrators) and, once it is open, its participants (a named resident's public
account, the members of a participating organisation). Everyone else: 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from xianghu.core.actor import Actor
from xianghu.core.errors import NotFound
from xianghu.regions.roles import OrgKind, Role

from ..models_open import (
    Consultation,
    ConsultationComment,
    ConsultationParticipant,
    ConsultationState,
    ConsultationTask,
)
from .services import MANAGE_ROLES

COUNTY_ROLES = (Role.PLATFORM_OPERATOR, Role.ASSESSOR, Role.SYSTEM_ADMIN)


def consultation_rule(actor: Actor) -> Q:
    if actor.is_superuser:
        return Q()
    if actor.user_id is None:
        return Q(pk__in=[])
    townships = {
        g.township_id
        for g in actor.grants_for(*MANAGE_ROLES)
        if g.organisation_kind == OrgKind.TOWNSHIP and g.township_id is not None
    }
    q = Q(township_id__in=townships) | Q(county_id__in=actor.county_ids(*COUNTY_ROLES))
    taking_part = Q(participants__user_id=actor.user_id)
    own = actor.organisation_ids()
    if own:
        taking_part |= Q(participants__organisation_id__in=own)
    return q | (taking_part & ~Q(state=ConsultationState.DRAFT))


def consultation_list(*, actor: Actor, state: str | None = None) -> QuerySet[Consultation]:
    """The consultations the actor sees, newest first, with their counts (one query)."""
    ids = Consultation.objects.filter(consultation_rule(actor)).values("pk")
    qs = Consultation.objects.filter(pk__in=ids)
    if state:
        qs = qs.filter(state=state)
    return (
        qs.select_related("township", "place", "item")
        .annotate(
            participant_count=Count("participants", distinct=True),
            comment_count=Count("comments", distinct=True),
            task_count=Count("tasks", distinct=True),
        )
        .order_by("-created_at", "-pk")
    )


def consultation_get(*, actor: Actor, pk: Any) -> Consultation:
    ids = Consultation.objects.filter(consultation_rule(actor)).values("pk")
    consultation = (
        Consultation.objects.filter(pk__in=ids, pk=pk)
        .select_related("township", "place", "item", "organiser", "county")
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=ConsultationParticipant.objects.select_related("organisation").order_by(
                    "kind", "pk"
                ),
            ),
            Prefetch(
                "comments",
                queryset=ConsultationComment.objects.select_related(
                    "participant", "participant__organisation", "author"
                ).order_by("created_at", "pk"),
            ),
            Prefetch(
                "tasks",
                queryset=ConsultationTask.objects.select_related("call").order_by("pk"),
            ),
        )
        .first()
    )
    if consultation is None:
        raise NotFound()
    return consultation
