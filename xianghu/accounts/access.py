"""Who may see user accounts and API keys."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.models import Membership

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


@register(ApiKey)
class ApiKeyPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        if is_system_admin(actor):
            return ALL
        return NOTHING
