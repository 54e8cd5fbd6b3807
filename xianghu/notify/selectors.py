"""Reads of notifications and webhooks, scoped by the access policies."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from xianghu.core import access
from xianghu.core.actor import Actor

from .models import Notification, Webhook, WebhookDelivery, WebhookStatus


def notification_list(*, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The actor's own notifications, newest first."""
    qs = access.visible(actor, Notification.objects.all())
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def notification_get(*, actor: Actor, pk: int) -> Notification:
    """One of the actor's own notifications; anybody else's is NotFound (404)."""
    return access.get_visible(actor, Notification.objects.all(), pk=pk)


def unread_count(*, user_id: int) -> int:
    """The number of unread notifications of a user (one indexed COUNT)."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


# ---- webhooks ---------------------------------------------------------------------------------

#: How many deliveries the webhook page shows (newest first).
DELIVERY_LOG_SIZE = 50


def webhook_list(*, actor: Actor, organisation_id: int) -> QuerySet[Webhook]:
    """The organisation's webhooks the actor manages, oldest first, each with its count
    of deliveries pending and failed and the time of its last one (one query)."""
    qs = access.visible(actor, Webhook.objects.filter(organisation_id=organisation_id))
    return qs.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=WebhookStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookStatus.FAILED)),
        last_delivery_at=Max("deliveries__created_at"),
    ).order_by("id")


def webhook_get(*, actor: Actor, organisation_id: int, pk: int) -> Webhook:
    """One webhook of the organisation that the actor manages; any other is NotFound."""
    return access.get_visible(actor, Webhook.objects.filter(organisation_id=organisation_id), pk=pk)


def webhook_deliveries(
    *, actor: Actor, webhook: Webhook, limit: int = DELIVERY_LOG_SIZE
) -> list[WebhookDelivery]:
    """The webhook's latest deliveries, newest first (the payloads are not loaded)."""
    qs = access.visible(actor, WebhookDelivery.objects.filter(webhook=webhook))
    return list(qs.defer("payload").order_by("-created_at", "-id")[:limit])
