"""Who may practise: any member of a government organisation (staff), never a practice
identity itself (it plays inside a sandbox, it does not own one)."""

from __future__ import annotations

from xianghu.core.actor import Actor
from xianghu.regions.roles import GOVERNMENT_KINDS


def may_train(actor: Actor) -> bool:
    return any(g.organisation_kind in GOVERNMENT_KINDS for g in actor.grants)
