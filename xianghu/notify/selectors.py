"""Reads of notifications, scoped by the access policies."""

from __future__ import annotations

from django.db.models import QuerySet

from xianghu.core import access
from xianghu.core.actor import Actor

from .models import Notification


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
