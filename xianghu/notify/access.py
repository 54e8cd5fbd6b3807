"""Who may see notifications and webhooks.

A user sees only their own notifications. Webhooks and their delivery logs belong to an
organisation: its leaders (township leader, department leader) and system administrators
working in it see and manage them (the pages of `views.py`, docs/notifications.md);
superusers see every organisation's. Channel deliveries are for system administrators
(the admin)."""

from __future__ import annotations

from django.db.models import Q

from xianghu.core.access import register
from xianghu.core.actor import Actor
from xianghu.core.policies import ALL, NOTHING, QueryPolicy
from xianghu.regions.access import is_system_admin
from xianghu.regions.models import Membership
from xianghu.regions.roles import Role

from .models import ChannelDelivery, Notification, Webhook, WebhookDelivery

#: The roles that manage their own organisation's webhooks.
WEBHOOK_MANAGER_ROLES = frozenset({Role.TOWNSHIP_LEADER, Role.DEPARTMENT_LEADER, Role.SYSTEM_ADMIN})


def webhooks_may_manage(membership: Membership | None) -> bool:
    """Whether the user, working as this membership, manages the webhooks of its
    organisation (no query)."""
    return membership is not None and membership.role in WEBHOOK_MANAGER_ROLES


def webhook_rule(actor: Actor, prefix: str = "") -> Q:
    """The webhooks of the organisations in which the actor holds a managing role."""
    if actor.is_superuser:
        return ALL
    ids = actor.organisation_ids(*WEBHOOK_MANAGER_ROLES)
    return Q(**{f"{prefix}organisation_id__in": ids}) if ids else NOTHING


@register(Notification)
class NotificationPolicy(QueryPolicy):
    """Only the addressee, for every action (view, change = mark read)."""

    def rule(self, actor: Actor, action: str) -> Q:
        if actor.user_id is None or action not in ("view", "change"):
            return NOTHING
        return Q(user_id=actor.user_id)


@register(Webhook)
class WebhookPolicy(QueryPolicy):
    """view, manage (add, enable/disable, delete, new secret, send a test event)."""

    def rule(self, actor: Actor, action: str) -> Q:
        return webhook_rule(actor) if action in ("view", "manage") else NOTHING


@register(WebhookDelivery)
class WebhookDeliveryPolicy(QueryPolicy):
    """The delivery log is read-only: whoever manages the webhook sees it."""

    def rule(self, actor: Actor, action: str) -> Q:
        return webhook_rule(actor, "webhook__") if action == "view" else NOTHING


@register(ChannelDelivery)
class AdminOnlyPolicy(QueryPolicy):
    def rule(self, actor: Actor, action: str) -> Q:
        return ALL if is_system_admin(actor) else NOTHING
