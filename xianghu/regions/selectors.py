"""Reads of regions, organisations and memberships, always through the access policies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import ANONYMOUS, Actor, Grant
from xianghu.core.errors import NotFound

from .models import Membership, Organisation, Region
from .roles import OrgKind, RegionLevel


def actor_for_user(*, user: Any, memberships: Iterable[Membership] | None = None) -> Actor:
    """Build the actor for a logged-in user from their active memberships (one query,
    none when the caller already holds them: `memberships_of`'s)."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    if memberships is None:
        memberships = memberships_of(user=user)
    grants = [grant_for(organisation=m.organisation, role=m.role) for m in memberships]
    return Actor.build(
        user_id=user.pk,
        grants=grants,
        is_public=getattr(user, "is_public", False),
        is_superuser=user.is_superuser,
        display_name=getattr(user, "name", "") or user.get_username(),
    )


def grant_for(*, organisation: Organisation, role: str) -> Grant:
    return Grant(
        organisation_id=organisation.pk,
        organisation_kind=organisation.kind,
        role=role,
        county_id=organisation.county_id,
        township_id=organisation.township_id,
        parent_organisation_id=organisation.parent_id,
    )


def region_children(*, parent: Region | None) -> QuerySet[Region]:
    qs = Region.objects.filter(parent=parent) if parent else Region.objects.filter(parent=None)
    return qs.order_by("code")


def region_subtree(*, region: Region) -> QuerySet[Region]:
    return Region.objects.filter(path__startswith=region.path)


def region_get(*, code: str) -> Region:
    return access.get_visible(ANONYMOUS, Region.objects.all(), code=code)


def counties_of(*, actor: Actor) -> QuerySet[Region]:
    return Region.objects.filter(pk__in=actor.county_ids(), level=RegionLevel.COUNTY)


def organisation_list(
    *,
    actor: Actor,
    kind: str | None = None,
    county: Region | None = None,
    township_id: int | None = None,
    search: str | None = None,
) -> QuerySet[Organisation]:
    qs = access.visible(actor, Organisation.objects.all()).select_related(
        "region", "county", "township", "parent"
    )
    if kind:
        qs = qs.filter(kind=kind)
    if county is not None:
        qs = qs.filter(county=county)
    if township_id is not None:
        qs = qs.filter(township_id=township_id)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(short_name__icontains=search))
    return qs.order_by("kind", "name")


def organisation_get(*, actor: Actor, pk: Any) -> Organisation:
    qs = Organisation.objects.select_related("region", "county", "township", "parent")
    return access.get_visible(actor, qs, pk=pk)


def organisation_members(*, actor: Actor, organisation: Organisation) -> QuerySet[Membership]:
    """Active members of an organisation; `NotFound` if the actor may not see them."""
    access.require(actor, "view_members", organisation)
    return (
        Membership.objects.filter(organisation=organisation, is_active=True)
        .select_related("user")
        .order_by("role", "user__name")
    )


def organisation_stats(*, county: Region) -> dict[str, int]:
    """Counts per organisation kind in a county, for dashboards."""
    rows = (
        Organisation.objects.filter(county=county, is_active=True)
        .values("kind")
        .annotate(n=Count("id"))
    )
    return {row["kind"]: row["n"] for row in rows}


def memberships_of(*, user: Any) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True, organisation__is_active=True)
        .select_related("organisation", "organisation__county", "organisation__township")
        .order_by("id")
    )


def townships_of_county(*, county: Region) -> QuerySet[Organisation]:
    return Organisation.objects.filter(county=county, kind=OrgKind.TOWNSHIP, is_active=True)


def user_by_username(*, username: str) -> Any:
    """An active user by username, for adding members; absent looks like not found."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(_("No active user has this username."), code="user.not_found")
    return user
