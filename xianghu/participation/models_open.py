"""Models of the open government pages and of deliberation (docs/participation.md).

Open government (政务公开, /open/): what the county publishes is a snapshot taken by a
person with the right to publish it — a ranking (`PublishedRanking`) is frozen when the
county's assessor publishes it, a photo of a closed case is public only once staff cleared
it (`PhotoClearance`). Everything else on the open pages is read live and passed through
`core.masking` before it is shown.

Deliberation (议事协商): a township's consultation on a recurring problem, with its
participants, comments, decision and follow-up tasks (calls); its outcome is public once
decided.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PublishedRanking(models.Model):
    """The rankings (红黑榜) of one county for one period, as the county published them.

    `data` holds, per kind of subject (department, stationed agency, township), the
    entries in ranking order: {"rank", "status", "name", "score", "volume",
    "response_rate", "completion_rate", "satisfaction_rate"} (rates and scores as text,
    None when there is no data). Published once; the snapshot is never recomputed."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    period_key = models.CharField(_("period"), max_length=32)
    period_label = models.CharField(_("period as written"), max_length=64)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    min_volume = models.PositiveIntegerField(_("fewest calls to be ranked"), default=0)
    data = models.JSONField(_("rankings"), default=dict)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("published ranking")
        verbose_name_plural = _("published rankings")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "period_key"], name="published_ranking_one_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.period_key}"


class PhotoClearance(models.Model):
    """A photo of a closed call that staff cleared for the open pages (no face, plate,
    house number or document readable). Without a clearance a photo is never public."""

    attachment = models.OneToOneField(
        "calls.Attachment",
        verbose_name=_("photo"),
        on_delete=models.CASCADE,
        related_name="public_clearance",
    )
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cleared_at = models.DateTimeField(_("cleared at"), default=timezone.now)

    class Meta:
        verbose_name = _("photo cleared for publication")
        verbose_name_plural = _("photos cleared for publication")

    def __str__(self) -> str:
        return f"{self.attachment_id}"


# ---- deliberation (议事协商) -------------------------------------------------------------


class ConsultationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open for comments")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Closed")


class ConsultationSource(models.TextChoices):
    HOTSPOT = "hotspot", _("From a hotspot")
    MANUAL = "manual", _("Opened by hand")


class Consultation(models.Model):
    """A township's consultation (议事协商) on a recurring problem: draft → open →
    decided → closed."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Region", verbose_name=_("township"), on_delete=models.PROTECT, related_name="+"
    )
    organiser = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    place = models.ForeignKey(
        "regions.Region",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    item = models.ForeignKey(
        "catalog.Item",
        verbose_name=_("list item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source = models.CharField(
        _("source"),
        max_length=16,
        choices=ConsultationSource.choices,
        default=ConsultationSource.MANUAL,
    )
    topic = models.CharField(_("topic"), max_length=200)
    agenda = models.TextField(_("agenda"), max_length=4000)
    meeting_at = models.DateTimeField(_("meeting"), null=True, blank=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=ConsultationState.choices,
        default=ConsultationState.DRAFT,
    )
    decision = models.TextField(_("decision"), max_length=4000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["township", "state"]),
            models.Index(fields=["county", "state", "-decided_at"]),
        ]

    def __str__(self) -> str:
        return self.topic


class ParticipantKind(models.TextChoices):
    ORGANISATION = "organisation", _("Organisation")
    VILLAGE = "village", _("Village committee")
    RESIDENT = "resident", _("Resident")


class ConsultationParticipant(models.Model):
    """Who takes part: an organisation (society kinds, a village committee) or a named
    resident (with a public account, so that they may comment; the name is masked on the
    open pages)."""

    consultation = models.ForeignKey(
        Consultation,
        verbose_name=_("consultation"),
        on_delete=models.CASCADE,
        related_name="participants",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ParticipantKind.choices)
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=64, blank=True)
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["consultation", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "organisation"],
                condition=Q(organisation__isnull=False),
                name="participant_unique_organisation",
            ),
            models.UniqueConstraint(
                fields=["consultation", "user"],
                condition=Q(user__isnull=False),
                name="participant_unique_user",
            ),
            models.CheckConstraint(
                condition=Q(organisation__isnull=False) | ~Q(name=""),
                name="participant_organisation_or_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.organisation_id)


class ConsultationComment(models.Model):
    """A comment of a participant (or of the organising township) while it is open."""

    consultation = models.ForeignKey(
        Consultation,
        verbose_name=_("consultation"),
        on_delete=models.CASCADE,
        related_name="comments",
    )
    participant = models.ForeignKey(
        ConsultationParticipant,
        verbose_name=_("participant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # participant_remove refuses a participant who commented
        related_name="comments",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(_("comment"), max_length=2000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["consultation", "created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]


class ConsultationTask(models.Model):
    """A follow-up task of the decision, carried out as a call of the township (a new
    draft call, or a call it already made)."""

    consultation = models.ForeignKey(
        Consultation,
        verbose_name=_("consultation"),
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    title = models.CharField(_("task"), max_length=200)
    call = models.ForeignKey(
        "calls.Call", verbose_name=_("call"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["consultation", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "call"], name="task_unique_call")
        ]

    def __str__(self) -> str:
        return self.title
