"""Who may see user accounts and API keys."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.models import Membership, Organisation
from xianghu.regions.roles import Role

from .models import ApiKey, User


@register(User)
class UserPolicy(QueryPolicy):
    """A person sees their own account; others only through an organisation whose
    members they may see (and then with masked personal data)."""

    def rule(self, actor: Actor, action: str) -> Q:
        if actor.is_anonymous:
            return NOTHING
        if is_system_admin(actor):
            return ALL
        own = Q(pk=actor.user_id) if actor.user_id is not None else NOTHING
        if action == "view":
            from xianghu.core import access

            visible = access.visible(actor, Membership.objects.filter(is_active=True))
            return own | Q(pk__in=visible.values("user_id"))
        if action == "change":
            return own
        return NOTHING


#: The roles that manage members, hence API keys, of their own organisation.
APIKEY_MANAGER_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.TOWNSHIP_LEADER, Role.DEPARTMENT_LEADER})


def apikeys_may_manage(membership: Membership | None) -> bool:
    """Whether the user, working as this membership, manages its organisation's API keys
    (no query; the roles for which `manage_members` covers their own organisation)."""
    return membership is not None and membership.role in APIKEY_MANAGER_ROLES


@register(ApiKey)
class ApiKeyPolicy(QueryPolicy):
    """view, manage (create, rotate, revoke): whoever may manage the members of the key's
    organisation (`manage_members`: system admins; leaders for their remit)."""

    def rule(self, actor: Actor, action: str) -> Q:
        if action not in ("view", "manage") or actor.is_anonymous:
            return NOTHING
        if is_system_admin(actor):
            return ALL
        from xianghu.core import access

        orgs = access.visible(actor, Organisation.objects.all(), "manage_members")
        return Q(organisation_id__in=orgs.values("pk"))
