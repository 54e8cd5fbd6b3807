"""Writes of notifications: `notify` (inbox, then the external channels in a task),
marking read, `webhook_emit` and `webhook_deliver` (signed, retried with backoff).

Every entry point is idempotent by its key: a re-delivered event never makes a second
notification, a second e-mail or a second webhook delivery (docs/notifications.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Organisation

from . import channels
from .models import (
    ChannelDelivery,
    DeliveryStatus,
    Notification,
    Webhook,
    WebhookDelivery,
    WebhookStatus,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Xianghu-Signature"
EVENT_HEADER = "X-Xianghu-Event"
DELIVERY_HEADER = "X-Xianghu-Delivery"
DEFAULT_RETRY_SCHEDULE = (60, 300, 1800, 7200)


# ---- the inbox and the channels -------------------------------------------------------------


def notify(
    *,
    users: Iterable[Any],
    title: str,
    body: str,
    url: str,
    kind: str,
    source_key: str,
) -> list[Notification]:
    """Put a notification in each user's inbox (once per user and `source_key`) and
    enqueue its copies on the external channels. Returns the notifications made now."""
    ids = sorted({u if isinstance(u, int) else u.pk for u in users})
    if not ids:
        return []
    already = set(
        Notification.objects.filter(user_id__in=ids, source_key=source_key).values_list(
            "user_id", flat=True
        )
    )
    fresh = [pk for pk in ids if pk not in already]
    if not fresh:
        return []
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=pk,
                title=title[:200],
                body=body,
                url=url[:200],
                kind=kind[:32],
                source_key=source_key[:100],
            )
            for pk in fresh
        ],
        ignore_conflicts=True,  # a concurrent delivery of the same cause made it first
    )
    made = list(
        Notification.objects.filter(user_id__in=fresh, source_key=source_key).order_by("id")
    )
    if made:
        _enqueue_channels([n.pk for n in made])
    return made


def _enqueue_channels(notification_ids: list[int]) -> None:
    from .tasks import deliver_notifications

    try:
        deliver_notifications.enqueue(notification_ids)
    except Exception:
        logger.exception("notify: could not enqueue the channel deliveries")


def notification_deliver(*, notification_id: int) -> dict[str, str]:
    """Send one notification through every external channel, once per channel: each
    channel first claims its row (unique per notification and channel), so a repeated
    task never sends twice. Returns {channel: status}."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:
        return {}
    result: dict[str, str] = {}
    for channel in channels.EXTERNAL:
        try:
            with transaction.atomic():
                row = ChannelDelivery.objects.create(
                    notification=notification, channel=channel.name, status=DeliveryStatus.PENDING
                )
        except IntegrityError:
            continue  # this channel already handled it
        try:
            outcome = channel.send(notification=notification, user=notification.user)
        except Exception as exc:  # a broken channel never stops the others
            logger.exception("notify: channel %s failed", channel.name)
            outcome = channels.Outcome(DeliveryStatus.FAILED, f"{type(exc).__name__}"[:255])
        row.status = outcome.status
        row.detail = outcome.detail[:255]
        row.save(update_fields=["status", "detail"])
        result[channel.name] = outcome.status
    return result


def notification_mark_read(*, actor: Actor, notification: Notification) -> Notification:
    access.require(actor, "change", notification)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notification_mark_all_read(*, actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    qs = access.visible(actor, Notification.objects.all(), "change")
    return qs.filter(read_at__isnull=True).update(read_at=timezone.now())


def users_with_ids(ids: Iterable[int]) -> list[Any]:
    """Active users among `ids` (for callers that collect recipients by id)."""
    return list(get_user_model().objects.filter(pk__in=set(ids), is_active=True))


# ---- webhooks -------------------------------------------------------------------------------


def webhook_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are sent and signed."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def webhook_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_emit(
    *,
    organisation: Organisation | int,
    event: str,
    payload: Mapping[str, Any],
    event_key: str,
) -> list[WebhookDelivery]:
    """Queue `event` for every active webhook of the organisation that wants it, once
    per webhook and `event_key`; returns the deliveries made now."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    made: list[WebhookDelivery] = []
    for hook in Webhook.objects.filter(organisation_id=org_id, active=True).order_by("id"):
        if not hook.wants(event):
            continue
        delivery, created = WebhookDelivery.objects.get_or_create(
            webhook=hook,
            event_key=event_key[:100],
            defaults={
                "event": event[:64],
                "payload": dict(payload),
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            made.append(delivery)
    for delivery in made:
        _enqueue_delivery(delivery.pk)
    return made


def _enqueue_delivery(delivery_id: int, run_after: datetime | None = None) -> None:
    from .tasks import deliver_webhook

    try:
        if run_after is None:
            deliver_webhook.enqueue(delivery_id)
        elif deliver_webhook.get_backend().supports_defer:
            deliver_webhook.using(run_after=run_after).enqueue(delivery_id)
        # Otherwise the retry waits for `retry_due_webhooks`.
    except Exception:
        logger.exception("webhook: could not enqueue delivery %s", delivery_id)


def retry_schedule() -> list[int]:
    """Seconds to wait after the 1st, 2nd, … failed attempt; after the last, failed."""
    return [int(s) for s in getattr(settings, "XH_WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)]


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery:
    """Make one attempt of a pending delivery that is due at `now` (the clock is a
    parameter so that tests need not sleep). A 2xx answer succeeds; anything else is
    retried after the next wait of the schedule, and fails after the last one."""
    now = now or timezone.now()
    timeout = float(getattr(settings, "XH_HTTP_TIMEOUT_SECONDS", 5))
    # Claim the attempt: only one worker gets past this for a given due moment.
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + timedelta(seconds=timeout + 60))
    )
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if not claimed:
        return delivery
    hook = delivery.webhook
    body = webhook_body(delivery.payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "xianghu-webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        SIGNATURE_HEADER: webhook_signature(hook.secret, body),
    }
    if hook.active:
        code, error = channels.http_post(hook.url, body, headers, timeout=timeout)
    else:
        code, error = None, "webhook inactive"
    delivery.attempts += 1
    delivery.last_status_code = code
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
    else:
        delivery.last_error = (error or f"HTTP {code}")[:255]
        schedule = retry_schedule()
        if hook.active and delivery.attempts <= len(schedule):
            delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.attempts - 1])
        else:
            delivery.status = WebhookStatus.FAILED
            delivery.next_attempt_at = None
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
        ]
    )
    if delivery.status == WebhookStatus.PENDING and delivery.next_attempt_at is not None:
        _enqueue_delivery(delivery.pk, run_after=delivery.next_attempt_at)
    return delivery


def webhook_retry_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Attempt the pending deliveries that are due; returns how many were attempted."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookStatus.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        webhook_deliver(delivery_id=pk, now=now)
    return len(due)
