"""Reads of public reports."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from xianghu.core.actor import Actor
from xianghu.regions.roles import OrgKind, Role

from .models import PublicReport
from .services import TRIAGE_ROLES


def triage_queue(*, actor: Actor, status: str | None = None) -> QuerySet[PublicReport]:
    """The reports `actor` triages: its township's; for platform operators, the county's
    reports no township could be found for. Nothing for anyone else."""
    rule = Q(pk__in=[])
    for grant in actor.grants_for(*TRIAGE_ROLES):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id is not None:
            rule |= Q(township_id=grant.township_id)
    for grant in actor.grants_for(Role.PLATFORM_OPERATOR):
        if grant.county_id is not None:
            rule |= Q(county_id=grant.county_id, township__isnull=True)
    qs = PublicReport.objects.filter(rule).select_related("item", "township", "location", "call")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


def publicreport_by_token(*, token: str) -> PublicReport | None:
    return PublicReport.objects.select_related("call").filter(token=token).first()
