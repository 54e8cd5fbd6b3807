"""Who may see notifications and webhooks: a user sees only their own notifications;
webhooks and delivery logs are for system administrators (the admin)."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin

from .models import ChannelDelivery, Notification, Webhook, WebhookDelivery


@register(Notification)
class NotificationPolicy(QueryPolicy):
    """Only the addressee, for every action (view, change = mark read)."""

    def rule(self, actor: Actor, action: str) -> Q:
        if actor.user_id is None or action not in ("view", "change"):
            return NOTHING
        return Q(user_id=actor.user_id)


@register(ChannelDelivery)
@register(Webhook)
@register(WebhookDelivery)
class AdminOnlyPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return ALL if is_system_admin(actor) else NOTHING
