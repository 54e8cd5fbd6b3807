"""Writes of notifications: `notify` (inbox, then the external channels in a task),
marking read, `webhook_emit` and `webhook_deliver` (signed, retried with backoff), and
the management of an organisation's webhooks by its leaders (`webhook_create`, …).

Every entry point is idempotent by its key: a re-delivered event never makes a second
notification, a second e-mail or a second webhook delivery (docs/notifications.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.memo import memoized
from xianghu.regions.models import Organisation

from . import channels
from .access import WEBHOOK_MANAGER_ROLES
from .models import (
    ChannelDelivery,
    DeliveryStatus,
    Notification,
    Webhook,
    WebhookDelivery,
    WebhookStatus,
    http_url_validator,
)

logger = logging.getLogger(__name__)
audit = logging.getLogger("xianghu.security")

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


def notify_with_change(send: Callable[[], object], *, what: str) -> None:
    """Run `send` — which writes inbox notifications (`notify`) and enqueues their channel
    copies — inside the transaction of the change that causes them, in a savepoint.

    They commit with the change: a process that dies right after the commit loses
    nothing, as it would lose an after-commit hook (and on the database task backend the
    channel copies' task commits with them). A failure is logged and undone to the
    savepoint: a notification never undoes the change. For the call loop's effects the
    event outbox does the same job (`calls.outbox`)."""
    try:
        with transaction.atomic():
            send()
    except Exception:
        logger.exception("notify: %s failed", what)


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


def webhooks_want(*, organisations: Iterable[int], event: str) -> bool:
    """Whether an active webhook of these organisations wants `event` (one query, once
    within a `core.memo` scope)."""
    ids = frozenset(organisations)
    if not ids:
        return False

    def look_up() -> bool:
        wanted = (
            Webhook.objects.filter(organisation_id__in=ids, active=True)
            .order_by()
            .values_list("events", flat=True)
        )
        return any(Webhook(events=events).wants(event) for events in wanted)

    return memoized(("webhooks_want", ids, event), look_up)


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


# ---- managing an organisation's webhooks ----------------------------------------------------

#: An organisation has at most this many webhooks (each event is sent to every one).
MAX_WEBHOOKS_PER_ORGANISATION = 10
#: The event a "send a test event" button sends (to the one webhook, whatever its events).
TEST_EVENT = "webhook.test"
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_URL_MAX = Webhook._meta.get_field("url").max_length or 500


def webhook_new_secret() -> str:
    """A fresh shared secret: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def _require_manager(actor: Actor, organisation_id: int) -> None:
    if actor.is_superuser:
        return
    if organisation_id not in actor.organisation_ids(*WEBHOOK_MANAGER_ROLES):
        raise PermissionDenied(code="webhook.not_allowed")


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    problem = None
    if not url:
        problem = _("Enter the URL of the endpoint.")
    elif len(url) > _URL_MAX:
        problem = _("The URL is too long (at most %(n)s characters).") % {"n": _URL_MAX}
    else:
        try:
            http_url_validator(url)
        except ValidationError:
            problem = _("Enter a full http:// or https:// URL.")
    if problem is not None:
        raise InvalidInput(
            problem, code="webhook.invalid_url", detail=[{"field": "url", "message": problem}]
        )
    return url


def webhook_events_clean(events: Iterable[str]) -> list[str]:
    """Event names as stored: `["*"]` for every event, else the distinct names (such as
    `call.dispatch`) in the order given. `InvalidInput` (`webhook.invalid_events`) for
    an empty list or a malformed name."""
    names: list[str] = []
    for raw in events:
        name = str(raw).strip()
        if name and name not in names:
            names.append(name)
    if "*" in names:
        return ["*"]
    bad = [n for n in names if not _EVENT_NAME.match(n) or len(n) > 64]
    problem = None
    if not names:
        problem = _('Name at least one event, or "*" for every event.')
    elif bad:
        problem = _("Not an event name: %(names)s (write them like call.dispatch).") % {
            "names": ", ".join(bad[:5])
        }
    if problem is not None:
        raise InvalidInput(
            problem,
            code="webhook.invalid_events",
            detail=[{"field": "events", "message": problem}],
        )
    return names


def webhook_create(
    *, actor: Actor, organisation: Organisation, url: str, events: Iterable[str]
) -> tuple[Webhook, str]:
    """Add a webhook to the organisation (its leaders and system administrators only);
    returns the webhook and its secret, which is shown to the user once."""
    _require_manager(actor, organisation.pk)
    url = _clean_url(url)
    names = webhook_events_clean(events)
    with transaction.atomic():
        # Lock the organisation's row so that two requests cannot both pass the cap.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        existing = Webhook.objects.filter(organisation=organisation)
        if existing.filter(url=url).exists():
            raise Conflict(
                _("This organisation already has a webhook with this URL."),
                code="webhook.duplicate_url",
                detail=[{"field": "url", "message": _("This URL is already registered here.")}],
            )
        if existing.count() >= MAX_WEBHOOKS_PER_ORGANISATION:
            raise Conflict(
                _("An organisation can have at most %(n)s webhooks.")
                % {"n": MAX_WEBHOOKS_PER_ORGANISATION},
                code="webhook.too_many",
            )
        secret = webhook_new_secret()
        hook = Webhook.objects.create(
            organisation=organisation, url=url, secret=secret, events=names, active=True
        )
    audit.info(
        "webhook created",
        extra={"user_id": actor.user_id, "organisation_id": organisation.pk, "webhook_id": hook.pk},
    )
    return hook, secret


def webhook_set_active(*, actor: Actor, webhook: Webhook, active: bool) -> Webhook:
    """Enable or disable a webhook. A disabled webhook receives nothing: new events are
    not queued for it, and a pending retry fails at its next attempt."""
    access.require(actor, "manage", webhook)
    if webhook.active != active:
        webhook.active = active
        webhook.save(update_fields=["active"])
        audit.info(
            "webhook enabled" if active else "webhook disabled",
            extra={"user_id": actor.user_id, "webhook_id": webhook.pk},
        )
    return webhook


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    """Delete a webhook with its delivery log."""
    access.require(actor, "manage", webhook)
    pk, org_id = webhook.pk, webhook.organisation_id
    webhook.delete()
    audit.info(
        "webhook deleted",
        extra={"user_id": actor.user_id, "organisation_id": org_id, "webhook_id": pk},
    )


def webhook_rotate_secret(*, actor: Actor, webhook: Webhook) -> str:
    """Give the webhook a new secret (returned, to be shown once); deliveries signed from
    now on use it, retries of older ones too."""
    access.require(actor, "manage", webhook)
    webhook.secret = webhook_new_secret()
    webhook.save(update_fields=["secret"])
    audit.info(
        "webhook secret replaced", extra={"user_id": actor.user_id, "webhook_id": webhook.pk}
    )
    return webhook.secret


def webhook_send_test(*, actor: Actor, webhook: Webhook) -> WebhookDelivery:
    """Queue a `webhook.test` event for this one webhook; it goes through the same
    delivery as call events (task, signature, retries, log)."""
    access.require(actor, "manage", webhook)
    if not webhook.active:
        raise Conflict(
            _("The webhook is disabled: enable it before sending a test event."),
            code="webhook.inactive",
        )
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=TEST_EVENT,
        event_key=f"test:{uuid.uuid4().hex}",
        payload={
            "event": {"action": "test", "at": timezone.localtime(now).isoformat()},
            "organisation": {"id": webhook.organisation_id},
            "webhook": {"id": webhook.pk},
        },
        next_attempt_at=now,
    )
    transaction.on_commit(lambda: _enqueue_delivery(delivery.pk))
    return delivery
