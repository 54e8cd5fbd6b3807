"""Reads of API keys for their page (`/accounts/api-keys/`)."""

from __future__ import annotations

from django.db.models import QuerySet

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Organisation

from .models import ApiKey

#: The most organisations offered by the page's organisation switcher.
MAX_ORGANISATION_CHOICES = 300


def apikey_list(*, actor: Actor, organisation: Organisation) -> QuerySet[ApiKey]:
    """The keys of an organisation whose members the actor manages, newest first."""
    access.require(actor, "manage_members", organisation)
    return access.visible(
        actor, ApiKey.objects.filter(organisation=organisation).select_related("created_by")
    ).order_by("-created_at", "-pk")


def apikey_get(*, actor: Actor, pk: int) -> ApiKey:
    """One key the actor manages (404 for any other)."""
    return access.get_visible(actor, ApiKey.objects.select_related("organisation"), pk=pk)


def apikey_organisations(*, actor: Actor) -> QuerySet[Organisation]:
    """Active organisations whose keys the actor manages, of the actor's counties (all of
    them for a superuser without one), for the page's switcher."""
    qs = access.visible(actor, Organisation.objects.filter(is_active=True), "manage_members")
    counties = actor.county_ids()
    if counties:
        qs = qs.filter(county_id__in=counties)
    return qs.order_by("kind", "name")[:MAX_ORGANISATION_CHOICES]
