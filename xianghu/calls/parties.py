"""How an actor relates to a call: caller, caller's leader, platform, lead handler, and
the assisting organisations (each signs for its own dispatch record and adds notes)."""

from __future__ import annotations

from xianghu.core.actor import Actor
from xianghu.regions.roles import OrgKind, Role

from .models import Call, Direction, Dispatch, DispatchRole
from .workflow import Party

LEADER_ROLES = {Direction.UP: Role.TOWNSHIP_LEADER, Direction.DOWN: Role.DEPARTMENT_LEADER}


def lead_dispatch(call: Call) -> Dispatch | None:
    return call.dispatches.filter(role=DispatchRole.LEAD, active=True).first()


def acts_for(actor: Actor, organisation_id: int) -> bool:
    """Whether the actor works for the organisation (its stationed agencies act for a
    department)."""
    return any(
        grant.organisation_id == organisation_id
        or (
            grant.organisation_kind == OrgKind.STATIONED_AGENCY
            and grant.parent_organisation_id == organisation_id
        )
        for grant in actor.grants
    )


def assisting_dispatches(*, actor: Actor, call: Call) -> list[Dispatch]:
    """The active assisting dispatch records of the call that the actor works for."""
    return [
        d
        for d in call.dispatches.filter(role=DispatchRole.ASSISTING, active=True)
        if acts_for(actor, d.organisation_id)
    ]


def _active_dispatches(call: Call) -> list[Dispatch]:
    """The call's active dispatches, from its prefetched dispatches when it has them."""
    if "dispatches" in getattr(call, "_prefetched_objects_cache", {}):
        return [d for d in call.dispatches.all() if d.active]
    return list(call.dispatches.filter(active=True))


def parties_of(*, actor: Actor | None, call: Call) -> set[str]:
    """Every party the actor is to this call (one person may be several)."""
    if actor is None:
        return {Party.SYSTEM}
    parties: set[str] = set()
    caller = call.caller
    for grant in actor.grants:
        own_caller = grant.organisation_id == caller.pk or (
            # Village staff call on behalf of their township.
            grant.organisation_kind == OrgKind.VILLAGE
            and caller.kind == OrgKind.TOWNSHIP
            and grant.township_id == caller.township_id
        )
        if own_caller:
            parties.add(Party.CALLER)
            if (
                grant.organisation_id == caller.pk
                and grant.role == LEADER_ROLES[Direction(call.direction)]
            ):
                parties.add(Party.CALLER_LEADER)
        if grant.role == Role.PLATFORM_OPERATOR and grant.county_id == call.county_id:
            parties.add(Party.PLATFORM)
    for dispatch in _active_dispatches(call):
        if acts_for(actor, dispatch.organisation_id):
            parties.add(Party.LEAD if dispatch.role == DispatchRole.LEAD else Party.ASSISTING)
    return parties
