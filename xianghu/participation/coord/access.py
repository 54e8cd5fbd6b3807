"""Who may see and change stakeholder profiles, needs, offers and commitments.

- A society organisation (social organisation, enterprise, volunteer team) keeps its own
  profile and acts for it (offers, commitments, deliveries): every member may.
- Village committees and grid workers are kept by their township's staff and the county
  platform (a village committee's own members may keep their committee's profile).
- The registry is read by the government staff of the county; a profile's keepers see it.
- Needs are public (the board); the organisation that posted one (the township, or the
  county platform for any need of its county) receives and confirms deliveries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.models import Membership
from xianghu.regions.roles import GOVERNMENT_KINDS, SOCIETY_KINDS, OrgKind, Role

from ..models_coord import (
    SELF_KEPT_KINDS,
    STAFF_KEPT_KINDS,
    Commitment,
    Need,
    Offer,
    Stakeholder,
    StakeholderKind,
)

TOWNSHIP_STAFF_ROLES = (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER)


def is_admin(actor: Actor) -> bool:
    return actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN)


def staff_county_ids(actor: Actor) -> frozenset[int]:
    """Counties in which the actor works for a government body."""
    return frozenset(
        g.county_id
        for g in actor.grants
        if g.organisation_kind in GOVERNMENT_KINDS
        and g.role != Role.PUBLIC_USER
        and g.county_id is not None
    )


def platform_county_ids(actor: Actor) -> frozenset[int]:
    return actor.county_ids(Role.PLATFORM_OPERATOR)


#: Who posts needs, by the kind of organisation they work for.
POSTER_ROLES: dict[str, tuple[str, ...]] = {
    OrgKind.TOWNSHIP: TOWNSHIP_STAFF_ROLES,
    OrgKind.PLATFORM_CENTRE: (Role.PLATFORM_OPERATOR,),
}


def may_post_needs(membership: Membership | None) -> bool:
    """Whether the user, working as this membership, posts needs for its organisation:
    a township's staff, the platform centre's operators (no query). The needs they post
    are the ones they receive (`receiver_rule`)."""
    if membership is None:
        return False
    return membership.role in POSTER_ROLES.get(membership.organisation.kind, ())


def _q(prefix: str, **lookups: Any) -> Q:
    return Q(**{f"{prefix}{key}": value for key, value in lookups.items()})


def keeper_rule(actor: Actor, prefix: str = "") -> Q:
    """Stakeholders the actor keeps: may edit, post offers and commit for."""
    if is_admin(actor):
        return ALL
    q = NOTHING
    society = [g.organisation_id for g in actor.grants if g.organisation_kind in SOCIETY_KINDS]
    if society:
        q |= _q(prefix, kind__in=list(SELF_KEPT_KINDS), organisation_id__in=society)
    for grant in actor.grants_for(*TOWNSHIP_STAFF_ROLES):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id is not None:
            q |= _q(prefix, kind__in=list(STAFF_KEPT_KINDS), township_id=grant.township_id)
        elif grant.organisation_kind == OrgKind.VILLAGE:
            q |= _q(
                prefix,
                kind=StakeholderKind.VILLAGE_COMMITTEE,
                organisation_id=grant.organisation_id,
            )
    counties = platform_county_ids(actor)
    if counties:
        q |= _q(prefix, kind__in=list(STAFF_KEPT_KINDS), county_id__in=list(counties))
    return q


def receiver_rule(actor: Actor, prefix: str = "") -> Q:
    """Needs the actor receives: posted by its township or platform centre, or any need of
    the county for the county platform."""
    if is_admin(actor):
        return ALL
    q = NOTHING
    posters = [
        g.organisation_id
        for g in actor.grants_for(*TOWNSHIP_STAFF_ROLES, Role.PLATFORM_OPERATOR)
        if g.organisation_kind in (OrgKind.TOWNSHIP, OrgKind.PLATFORM_CENTRE)
    ]
    if posters:
        q |= _q(prefix, poster_id__in=posters)
    counties = platform_county_ids(actor)
    if counties:
        q |= _q(prefix, county_id__in=list(counties))
    return q


def _or(*rules: Q) -> Q:
    if any(rule is ALL for rule in rules):
        return ALL
    useful = [rule for rule in rules if rule is not NOTHING]
    if not useful:
        return NOTHING
    out = useful[0]
    for rule in useful[1:]:
        out = out | rule
    return out


def _staff(actor: Actor, prefix: str = "") -> Q:
    counties = staff_county_ids(actor)
    return _q(prefix, county_id__in=list(counties)) if counties else NOTHING


@register(Stakeholder)
class StakeholderPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if is_admin(actor):
            return ALL
        if actor.is_anonymous:
            return NOTHING
        keeper = keeper_rule(actor)
        if action == "view":
            own = Q(user_id=actor.user_id) if actor.user_id is not None else NOTHING
            return _or(_staff(actor), keeper, own)
        if action in {"change", "act"}:
            return keeper
        return NOTHING


@register(Need)
class NeedPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if action == "view":
            return ALL  # the public board
        if action in {"change", "confirm"}:
            return receiver_rule(actor)
        return NOTHING


@register(Offer)
class OfferPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if is_admin(actor):
            return ALL
        if actor.is_anonymous:
            return NOTHING
        keeper = keeper_rule(actor, "stakeholder__")
        if action == "view":
            return _or(_staff(actor), keeper)
        if action == "change":
            return keeper
        return NOTHING


@register(Commitment)
class CommitmentPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if is_admin(actor):
            return ALL
        if actor.is_anonymous:
            return NOTHING
        keeper = keeper_rule(actor, "stakeholder__")
        receiver = receiver_rule(actor, "need__")
        if action == "view":
            return _or(_staff(actor, "need__"), keeper, receiver)
        if action == "deliver":
            return keeper
        if action == "confirm":
            return receiver
        if action == "cancel":
            return _or(keeper, receiver)
        return NOTHING
