"""Calls (乡呼县应): the call, its dispatches to departments, and its append-only log.

The state of a call is written only by `services.call_transition`, which appends a
`CallEvent` in the same transaction; the events are the record from which timelines,
SLA figures and rankings are derived (docs/workflow.md).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .workflow import State


class Urgency(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")
    COMPLEX = "complex", _("Complex")


class Direction(models.TextChoices):
    UP = "up", _("Township calls the county")
    DOWN = "down", _("County department calls a township")


class Call(models.Model):
    number = models.CharField(_("call number"), max_length=32, unique=True)
    # The foreign keys the lists filter by are indexed with the lists' order (Meta.indexes:
    # `(county | caller | location | item, -created_at, -id)`), which serves their joins
    # as well, instead of by a plain index of their own.
    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.UP
    )
    caller = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("calling organisation"),
        on_delete=models.PROTECT,
        related_name="calls_made",
        db_index=False,
    )
    callee = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("called township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls_received",
        help_text=_("For a county department's call (two-way calling): the township called."),
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=4000)
    location = models.ForeignKey(
        "regions.Region",
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The township or village where the problem is."),
        db_index=False,
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    item = models.ForeignKey(
        "catalog.Item",
        verbose_name=_("list item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
        db_index=False,
    )
    out_of_list = models.BooleanField(_("outside the list"), default=False)
    assist_only = models.BooleanField(
        _("request for assistance only"),
        default=False,
        help_text=_("The item is the township's own duty: the county only assists."),
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    state = models.CharField(
        _("state"), max_length=24, choices=State.choices, default=State.DRAFT, db_index=True
    )
    state_changed_at = models.DateTimeField(_("state changed at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    idempotency_key = models.CharField(  # noqa: DJ001  (NULL: unique only when given)
        _("idempotency key"), max_length=64, null=True, blank=True, editable=False
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_calls",
    )
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # The earliest open deadline of the call; the supervision sweep reads only due rows.
    next_deadline = models.DateTimeField(_("next deadline"), null=True, blank=True)
    # The platform's own clock: accept and dispatch by, set when the call reaches the
    # platform (approved, or handed back by a granted return); kept as a record after.
    accept_due = models.DateTimeField(_("accept and dispatch by"), null=True, blank=True)
    # The moment the automatic reminder (催办) of the running clock falls due, while it is
    # still to be issued; indexed, so the sweep finds due reminders without a scan.
    remind_at = models.DateTimeField(_("reminder due at"), null=True, blank=True)
    # Per clock: the deadline the reminder moment belongs to and that moment, computed
    # when the deadline is set (`deadlines.refresh_call_clocks`).
    reminders = models.JSONField(_("reminder moments"), default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="call_unique_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["county", "state", "-created_at"]),
            models.Index(fields=["caller", "state"]),
            # The lists, newest first, with their keyset cursor (`selectors.call_page`).
            models.Index(fields=["county", "-created_at", "-id"], name="call_county_recent"),
            models.Index(fields=["caller", "-created_at", "-id"], name="call_caller_recent"),
            models.Index(fields=["location", "-created_at", "-id"], name="call_place_recent"),
            models.Index(fields=["item", "-created_at", "-id"], name="call_item_recent"),
            models.Index(
                fields=["next_deadline"],
                condition=Q(next_deadline__isnull=False),
                name="call_due_idx",
            ),
            models.Index(
                fields=["remind_at"],
                condition=Q(remind_at__isnull=False),
                name="call_remind_idx",
            ),
            # The sweep's automatic closes: the calls awaiting evaluation, by the time
            # they started waiting (a small index: only those calls are in it).
            models.Index(
                fields=["state_changed_at"],
                condition=Q(state="awaiting_evaluation"),
                name="call_awaiting_idx",
            ),
            # The sweep's supervision orders of calls reopened twice or more (few).
            models.Index(
                fields=["state"], condition=Q(reopen_count__gte=2), name="call_reopened_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class DispatchRole(models.TextChoices):
    LEAD = "lead", _("Lead (主办)")
    ASSISTING = "assisting", _("Assisting (协办)")


class Dispatch(models.Model):
    """The call sent to one organisation, with its own clocks."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="dispatches"
    )
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="dispatches",
    )
    role = models.CharField(_("role"), max_length=16, choices=DispatchRole.choices)
    active = models.BooleanField(_("active"), default=True)
    dispatched_at = models.DateTimeField(_("dispatched at"))
    sign_due = models.DateTimeField(_("sign by"), null=True, blank=True)
    respond_due = models.DateTimeField(_("respond by"), null=True, blank=True)
    complete_due = models.DateTimeField(_("complete by"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    extension_count = models.PositiveSmallIntegerField(_("extensions granted"), default=0)
    extension_days = models.PositiveSmallIntegerField(_("working days of extension"), default=0)

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        ordering = ["call", "-role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call"],
                condition=Q(role="lead", active=True),
                name="dispatch_one_active_lead",
            )
        ]
        indexes = [models.Index(fields=["organisation", "active"])]

    def __str__(self) -> str:
        return f"{self.call.number} → {self.organisation}"


class AppendOnlyError(Exception):
    pass


class CallEvent(models.Model):
    """One step of a call: who, from which organisation, when, what. Never changed."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="events"
    )
    seq = models.PositiveIntegerField(_("sequence"))
    action = models.CharField(_("action"), max_length=32)
    from_state = models.CharField(_("from state"), max_length=24, blank=True)
    to_state = models.CharField(_("to state"), max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_org = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("actor's organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    party = models.CharField(_("party"), max_length=16)
    at = models.DateTimeField(_("at"))
    data = models.JSONField(_("data"), default=dict, blank=True)
    # The client's key for this step (header `Idempotency-Key` of the API): a retry with
    # the same key gets this event back instead of a second one.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, blank=True, default="", db_default=""
    )

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["call", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["call", "seq"], name="call_event_unique_seq"),
            models.UniqueConstraint(
                fields=["call", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="call_event_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("call events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("call events are append-only")

    def clean(self) -> None:
        if self.to_state not in State.values:
            raise ValidationError({"to_state": _("Unknown state.")})


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    """A random name under calls/<yyyy>/<mm>/; the user's file name is never used."""
    now = timezone.now()
    ext = ATTACHMENT_EXTENSIONS.get(instance.content_type, "bin")
    return f"calls/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{ext}"


# The image types a photo may have, with the extension of the generated name.
ATTACHMENT_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}


class Attachment(models.Model):
    """An evidence photo of a call, attached with one of its events
    (`attachments.attachment_save`). Stored under MEDIA_ROOT, which no URL serves:
    the download view checks that the user may see the call."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="attachments"
    )
    event = models.ForeignKey(
        CallEvent,
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    original_name = models.CharField(_("original file name"), max_length=120, blank=True)
    content_type = models.CharField(_("content type"), max_length=32)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["call", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.call_id}: {self.file.name}"


class TimePolicy(models.Model):
    """A county's office hours and time limits (时限规则) for its calls.

    Without a row the defaults of the domain brief apply (`deadlines.DEFAULTS`, 08:30–12:00
    and 13:30–17:30). A change applies to clocks started after it: deadlines already set
    are stored as absolute times and keep their values.
    """

    county = models.OneToOneField(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.CASCADE,
        related_name="time_policy",
    )
    morning_start = models.TimeField(_("morning starts"))
    morning_end = models.TimeField(_("morning ends"))
    afternoon_start = models.TimeField(_("afternoon starts"))
    afternoon_end = models.TimeField(_("afternoon ends"))
    remind_share = models.PositiveSmallIntegerField(
        _("remind at (per cent of a clock)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("The automatic reminder (催办) comes when this share of a clock has run."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("time policy")
        verbose_name_plural = _("time policies")

    def __str__(self) -> str:
        return f"{self.county}"


class UrgencyLimit(models.Model):
    """The limits of one urgency in a county's time policy, written as in the lists
    (`30m`, `2wh`, `24h`, `5wd`)."""

    policy = models.ForeignKey(
        TimePolicy, verbose_name=_("time policy"), on_delete=models.CASCADE, related_name="limits"
    )
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices)
    accept = models.CharField(
        _("accept and dispatch within"),
        max_length=16,
        blank=True,
        help_text=_("The platform's own limit; empty: the default (0.5wd is half a working day)."),
    )
    sign = models.CharField(_("sign within"), max_length=16)
    respond = models.CharField(_("respond within"), max_length=16)
    complete = models.CharField(_("complete within"), max_length=16)
    return_window = models.CharField(_("return may be asked within"), max_length=16)
    evaluation = models.CharField(_("evaluate within"), max_length=16)
    use_item_limits = models.BooleanField(
        _("the item's own limits win"),
        default=False,
        help_text=_(
            "Respond and complete within the limits the list sets for the item "
            "(a complex call keeps the longer of the two completion limits)."
        ),
    )
    max_extensions = models.PositiveSmallIntegerField(
        _("most extensions"), null=True, blank=True, help_text=_("Empty: no cap; 0: none.")
    )
    max_extension_days = models.PositiveSmallIntegerField(
        _("most working days of extension in all"),
        null=True,
        blank=True,
        help_text=_("Empty: no cap."),
    )

    class Meta:
        verbose_name = _("time limits of an urgency")
        verbose_name_plural = _("time limits of the urgencies")
        constraints = [
            models.UniqueConstraint(fields=["policy", "urgency"], name="urgency_limit_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.urgency}"


class EventOutbox(models.Model):
    """An event whose after-commit effects (notifications, webhooks, the hotline's status
    push) are not done yet. Written in the event's own transaction and deleted in the
    transaction that does the effects, so a crash between the two loses nothing: the
    worker's relay (`outbox.outbox_relay`) does what is left (docs/reliability.md)."""

    event = models.OneToOneField(
        CallEvent,
        verbose_name=_("event"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("event outbox entry")
        verbose_name_plural = _("event outbox entries")
        indexes = [models.Index(fields=["created_at"], name="call_outbox_created")]

    def __str__(self) -> str:
        return f"outbox {self.event_id}"
