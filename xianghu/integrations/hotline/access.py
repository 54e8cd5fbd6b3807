"""Who sees hotline tickets, sources and imports.

The county's platform operators and system administrators see and handle the county's
tickets, sources and imports; assessors read the tickets. A township's staff see the
tickets handed to their township (turned into its call or dispatched to it). Nobody else
— in particular no public user — sees any ticket."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.roles import OrgKind, Role

from .models import Disposition, ImportRun, ImportSource, Ticket, WebhookRefusal

MANAGERS = (Role.PLATFORM_OPERATOR, Role.SYSTEM_ADMIN)
READERS = (*MANAGERS, Role.ASSESSOR)
TOWNSHIP_ROLES = (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER)


def manager_counties(actor: Actor) -> frozenset[int]:
    return actor.county_ids(*MANAGERS)


def _county_rule(actor: Actor, roles: tuple[str, ...], prefix: str = "") -> Q:
    if actor.is_superuser:
        return ALL
    if actor.is_public or actor.is_anonymous:
        return NOTHING
    counties = actor.county_ids(*roles)
    return Q(**{f"{prefix}county_id__in": counties}) if counties else NOTHING


@register(Ticket)
class TicketPolicy(QueryPolicy):
    def scope(self, actor: Actor, qs: QuerySet[Any], action: str) -> QuerySet[Any]:
        # The rules join nothing: no DISTINCT, which would sort a million tickets.
        rule = self.rule(actor, action)
        if rule is NOTHING:
            return qs.none()
        return qs if rule is ALL else qs.filter(rule)

    def rule(self, actor: Actor, action: str) -> Q:
        if action == "manage":
            return _county_rule(actor, MANAGERS)
        if action != "view":
            return NOTHING
        rule = _county_rule(actor, READERS)
        if rule is ALL or actor.is_public:
            return rule
        townships = {
            g.township_id
            for g in actor.grants_for(*TOWNSHIP_ROLES)
            if g.organisation_kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE) and g.township_id
        }
        if townships:
            handed = Q(township_id__in=townships) & ~Q(disposition=Disposition.NEW)
            rule = handed if rule is NOTHING else rule | handed
        return rule


@register(ImportSource)
class SourcePolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return _county_rule(actor, MANAGERS) if action in ("view", "manage") else NOTHING


@register(ImportRun)
class RunPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action not in ("view", "manage"):
            return NOTHING
        return _county_rule(actor, MANAGERS, "source__")


@register(WebhookRefusal)
class RefusalPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return _county_rule(actor, MANAGERS, "source__") if action == "view" else NOTHING


def may_handle_tickets(membership: Any) -> bool:
    """Whether the workbench links the ticket pages for this membership (no query)."""
    return (
        membership is not None
        and membership.role in MANAGERS
        and membership.organisation.kind in (OrgKind.PLATFORM_CENTRE, OrgKind.COUNTY_OFFICE)
    )
