"""How an actor relates to a call: caller, caller's leader, platform, lead handler."""

from __future__ import annotations

from xianghu.core.actor import Actor
from xianghu.regions.roles import OrgKind, Role

from .models import Call, Direction, Dispatch, DispatchRole
from .workflow import Party

LEADER_ROLES = {Direction.UP: Role.TOWNSHIP_LEADER, Direction.DOWN: Role.DEPARTMENT_LEADER}


def lead_dispatch(call: Call) -> Dispatch | None:
    return call.dispatches.filter(role=DispatchRole.LEAD, active=True).first()


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
    lead = lead_dispatch(call)
    if lead is not None:
        for grant in actor.grants:
            if grant.organisation_id == lead.organisation_id or (
                grant.organisation_kind == OrgKind.STATIONED_AGENCY
                and grant.parent_organisation_id == lead.organisation_id
            ):
                parties.add(Party.LEAD)
    return parties
