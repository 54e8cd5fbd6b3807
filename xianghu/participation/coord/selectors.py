"""Reads of the stakeholder registry and of resource coordination, scoped by the access
policies. Needs and offers come annotated with their committed, delivered and confirmed
quantities (one query for a list)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from ..models_coord import (
    ACTIVE_COMMITMENT,
    Commitment,
    CommitmentStatus,
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
    Stakeholder,
    Urgency,
)
from .access import staff_county_ids

_AMOUNT: Any = DecimalField(max_digits=14, decimal_places=2)
# Needs met or closed within this many days still show on the public board.
BOARD_RECENT_DAYS = 30


def _sum(field: str, statuses: tuple[str, ...]) -> Coalesce:
    prefix = field.rsplit("__", 1)[0]
    return Coalesce(
        Sum(field, filter=Q(**{f"{prefix}__status__in": statuses})),
        Value(Decimal(0)),
        output_field=_AMOUNT,
    )


def with_progress(qs: QuerySet[Need]) -> QuerySet[Need]:
    """Needs with `committed`, `delivered` (incl. confirmed), `confirmed` and `remaining`."""
    return qs.annotate(
        committed=_sum("commitments__quantity", ACTIVE_COMMITMENT),
        delivered=_sum(
            "commitments__quantity", (CommitmentStatus.DELIVERED, CommitmentStatus.CONFIRMED)
        ),
        confirmed=_sum("commitments__quantity", (CommitmentStatus.CONFIRMED,)),
    ).annotate(remaining=ExpressionWrapper(F("quantity") - F("committed"), output_field=_AMOUNT))


def with_left(qs: QuerySet[Offer]) -> QuerySet[Offer]:
    """Offers with `used` (committed from them) and `left`."""
    return qs.annotate(used=_sum("commitments__quantity", ACTIVE_COMMITMENT)).annotate(
        left=ExpressionWrapper(F("quantity") - F("used"), output_field=_AMOUNT)
    )


# ---- the registry -----------------------------------------------------------------------------


def registry_counties(*, actor: Actor) -> QuerySet[Region]:
    """The counties whose registry the actor searches (as government staff)."""
    if actor.is_superuser:
        return Region.objects.filter(level=RegionLevel.COUNTY)
    return Region.objects.filter(pk__in=staff_county_ids(actor), level=RegionLevel.COUNTY)


def stakeholder_search(
    *,
    actor: Actor,
    township: Region | None = None,
    kind: str | None = None,
    capacity: str | None = None,
    search: str | None = None,
) -> QuerySet[Stakeholder]:
    """Profiles the actor may see; `township` keeps those based in it or serving it (or
    one of its villages), `capacity` those offering a kind of resource."""
    qs = access.visible(actor, Stakeholder.objects.filter(is_active=True))
    if kind:
        qs = qs.filter(kind=kind)
    if township is not None:
        served = Stakeholder.areas.through.objects.filter(
            Q(region=township) | Q(region__parent=township)
        ).values("stakeholder_id")
        qs = qs.filter(Q(township=township) | Q(pk__in=served))
    if capacity:
        qs = qs.filter(capacities__kind=capacity)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(skills__icontains=search)
            | Q(description__icontains=search)
        )
    return (
        qs.select_related("township", "village", "organisation")
        .prefetch_related("capacities", "areas")
        .order_by("kind", "name")
        .distinct()
    )


def stakeholder_get(*, actor: Actor, pk: Any) -> Stakeholder:
    qs = Stakeholder.objects.select_related(
        "county", "township", "village", "organisation", "user"
    ).prefetch_related("capacities", "areas")
    return access.get_visible(actor, qs, pk=pk)


def stakeholders_kept(*, actor: Actor) -> QuerySet[Stakeholder]:
    """Profiles the actor acts for (offers, commitments, deliveries)."""
    return (
        access.visible(actor, Stakeholder.objects.filter(is_active=True), "act")
        .select_related("county")
        .order_by("kind", "name")
    )


# ---- needs ------------------------------------------------------------------------------------


def need_list(
    *,
    actor: Actor,
    counties: QuerySet[Region] | None = None,
    status: str | None = None,
    kind: str | None = None,
    township: Region | None = None,
) -> QuerySet[Need]:
    qs = access.visible(actor, Need.objects.all())
    if counties is not None:
        qs = qs.filter(county__in=counties)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if township is not None:
        qs = qs.filter(township=township)
    return with_progress(qs.select_related("place", "township", "poster")).order_by(
        "status", "needed_by", "-id"
    )


def need_get(*, actor: Actor, pk: Any) -> Need:
    qs = with_progress(Need.objects.select_related("county", "place", "township", "poster"))
    return access.get_visible(actor, qs, pk=pk)


def need_commitments(*, need: Need) -> QuerySet[Commitment]:
    return (
        Commitment.objects.filter(need=need)
        .select_related("stakeholder", "stakeholder__organisation", "offer")
        .order_by("created_at", "id")
    )


def resource_board(
    *, county: Region | None = None, kind: str | None = None, township: Region | None = None
) -> QuerySet[Need]:
    """The public board: open needs (most urgent and soonest first), then needs met or
    closed in the last 30 days; each with its non-cancelled contributions."""
    since = timezone.now() - timedelta(days=BOARD_RECENT_DAYS)
    qs = Need.objects.filter(
        Q(status=NeedStatus.OPEN) | Q(status=NeedStatus.FULFILLED, closed_at__gte=since)
    )
    if county is not None:
        qs = qs.filter(county=county)
    if kind:
        qs = qs.filter(kind=kind)
    if township is not None:
        qs = qs.filter(township=township)
    contributions = (
        Commitment.objects.filter(status__in=ACTIVE_COMMITMENT)
        .select_related("stakeholder")
        .order_by("created_at", "id")
    )
    return (
        with_progress(qs.select_related("county", "place", "township", "poster"))
        .prefetch_related(Prefetch("commitments", queryset=contributions, to_attr="contributions"))
        .annotate(
            open_rank=Case(When(status=NeedStatus.OPEN, then=Value(0)), default=Value(1)),
            urgency_rank=Case(
                When(urgency=Urgency.CRITICAL, then=Value(0)),
                When(urgency=Urgency.URGENT, then=Value(1)),
                default=Value(2),
            ),
        )
        .order_by("open_rank", "urgency_rank", "needed_by", "id")
    )


# ---- offers -----------------------------------------------------------------------------------


def offer_list(
    *,
    actor: Actor,
    status: str | None = OfferStatus.OPEN,
    kind: str | None = None,
    stakeholder: Stakeholder | None = None,
) -> QuerySet[Offer]:
    qs = access.visible(actor, Offer.objects.all())
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if stakeholder is not None:
        qs = qs.filter(stakeholder=stakeholder)
    return with_left(qs.select_related("stakeholder", "area")).order_by("-created_at", "-id")


def offer_get(*, actor: Actor, pk: Any) -> Offer:
    qs = with_left(Offer.objects.select_related("county", "stakeholder", "area"))
    return access.get_visible(actor, qs, pk=pk)
