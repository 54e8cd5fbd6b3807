"""Models of the assessment app (see docs/architecture.md for its scope)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ---- the roll-up of call events (docs/scoring.md)
# Three read models derived from the calls' event logs by `facts.facts_from_events`, kept
# in step by `rollup` inside the transaction of every appended event, and rebuilt from the
# log by `manage.py assessment_rebuild`. Nothing else writes them. Their rows are rewritten
# at every event of their call, so they carry only the indexes the aggregations and the
# refresh use (the composite ones below and the unique constraints), not one per key.


class Exclusion(models.TextChoices):
    """Why a handling episode does not count in the handling rates."""

    NONE = "", _("Counted")
    RETURN_APPROVED = "return_approved", _("Return approved")
    REASSIGNED = "reassigned", _("Handed to another organisation by a ruling")
    MERGED = "merged", _("Call merged into another")
    CANCELLED = "cancelled", _("Call withdrawn")


class StepState(models.IntegerChoices):
    """Where a step of the first handling round stands, as far as the log says: not
    taken yet (late once its deadline passes — decided at query time), taken by its
    deadline (or without one), taken after it."""

    OPEN = 0, _("Not taken")
    ON_TIME = 1, _("On time")
    LATE = 2, _("Late")


class FactEventKind(models.TextChoices):
    EVALUATION = "evaluation", _("Evaluation")
    YELLOW_CARD = "yellow_card", _("Yellow card")
    RED_CARD = "red_card", _("Red card")
    SUPERVISE = "supervise", _("Supervision order")


class SubmissionOutcome(models.TextChoices):
    VALID = "valid", _("Valid: accepted by the platform")
    INVALID = "invalid", _("Invalid: returned by the platform")
    PENDING = "pending", _("Awaiting the platform")
    EXCLUDED = "excluded", _("Merged into another call")


class DispatchFact(models.Model):
    """One handling episode: an organisation holding a call as lead (主办) or assisting
    (协办), from the dispatch that gave it the call to the return, ruling or merge that
    took it away (or to now). Clocks are those of the first handling round; a ruling that
    keeps the organisation after a refused return restarts them (docs/scoring.md)."""

    call = models.ForeignKey(
        "calls.Call",
        verbose_name=_("call"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique constraint starts with it
    )
    start_seq = models.PositiveIntegerField(_("starting event"))
    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (county, time) indexes start with it
    )
    subject = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation assessed"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    subject_kind = models.CharField(_("kind of organisation"), max_length=32)
    subject_parent = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("department of the stationed agency"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    host_township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("host township"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    role = models.CharField(_("role"), max_length=16)
    direction = models.CharField(_("direction"), max_length=8)
    caller = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("calling organisation"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    caller_township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("calling township"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    item = models.ForeignKey(
        "catalog.Item",
        verbose_name=_("list item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    domain = models.ForeignKey(
        "catalog.Domain",
        verbose_name=_("domain"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    urgency = models.CharField(_("urgency"), max_length=16)
    received_at = models.DateTimeField(_("received at"))
    started_at = models.DateTimeField(_("clocks started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    sign_due = models.DateTimeField(_("sign by"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    respond_due = models.DateTimeField(_("respond by"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    complete_due = models.DateTimeField(_("complete by"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    sign_seconds = models.PositiveIntegerField(_("seconds to sign"), null=True, blank=True)
    respond_seconds = models.PositiveIntegerField(_("seconds to respond"), null=True, blank=True)
    complete_seconds = models.PositiveIntegerField(_("seconds to complete"), null=True, blank=True)
    extension_count = models.PositiveSmallIntegerField(_("extensions approved"), default=0)
    extension_days = models.PositiveSmallIntegerField(_("working days of extension"), default=0)
    return_requests = models.PositiveSmallIntegerField(_("return requests"), default=0)
    returns_refused = models.PositiveSmallIntegerField(_("returns refused"), default=0)
    return_pending = models.BooleanField(_("return awaiting a decision"), default=False)
    redo_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    evidence = models.BooleanField(_("photos with the response or completion"), default=False)
    excluded = models.BooleanField(_("excluded from the handling rates"), default=False)
    exclusion = models.CharField(
        _("reason of the exclusion"), max_length=16, choices=Exclusion.choices, blank=True
    )
    # Decided by the fold, so that the aggregations compare small values instead of
    # re-deriving them from several columns on every row (docs/scoring.md, "Speed").
    counted = models.BooleanField(
        _("counted"), default=False, help_text=_("Lead, and the call neither merged nor withdrawn.")
    )
    rated = models.BooleanField(
        _("rated"), default=False, help_text=_("Lead, not excluded, no return awaiting a decision.")
    )
    sign_state = models.PositiveSmallIntegerField(
        _("signature"), choices=StepState.choices, default=StepState.OPEN
    )
    respond_state = models.PositiveSmallIntegerField(
        _("response"), choices=StepState.choices, default=StepState.OPEN
    )
    complete_state = models.PositiveSmallIntegerField(
        _("completion"), choices=StepState.choices, default=StepState.OPEN
    )

    class Meta:
        verbose_name = _("handling episode")
        verbose_name_plural = _("handling episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["call", "start_seq", "subject", "role"], name="dispatch_fact_unique"
            )
        ]
        indexes = [
            models.Index(fields=["county", "received_at"], name="dfact_county_received"),
            models.Index(fields=["county", "complete_due"], name="dfact_county_due"),
            models.Index(fields=["subject", "received_at"], name="dfact_subject_received"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.start_seq} {self.role} {self.subject_id}"


class EventFact(models.Model):
    """One evaluation, card or supervision order, charged to the organisation that held
    the call as lead when it happened."""

    call = models.ForeignKey(
        "calls.Call",
        verbose_name=_("call"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique constraint starts with it
    )
    seq = models.PositiveIntegerField(_("event"))
    episode_seq = models.PositiveIntegerField(_("starting event of the episode"))
    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (county, time) indexes start with it
    )
    subject = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation assessed"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    subject_kind = models.CharField(_("kind of organisation"), max_length=32)
    direction = models.CharField(_("direction"), max_length=8)
    caller = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("calling organisation"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    from_host = models.BooleanField(
        _("from the host township"),
        default=False,
        help_text=_("For a stationed agency: the call came from its host township."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=FactEventKind.choices)
    at = models.DateTimeField(_("at"))
    clock = models.CharField(_("clock"), max_length=16, blank=True)
    evaluation = models.CharField(_("evaluation"), max_length=16, blank=True)
    default_evaluation = models.BooleanField(_("default evaluation"), default=False)
    excluded = models.BooleanField(_("excluded"), default=False)

    class Meta:
        verbose_name = _("assessed event")
        verbose_name_plural = _("assessed events")
        constraints = [models.UniqueConstraint(fields=["call", "seq"], name="event_fact_unique")]
        indexes = [
            models.Index(fields=["county", "at"], name="efact_county_at"),
            models.Index(fields=["subject", "at"], name="efact_subject_at"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.seq} {self.kind}"


class SubmissionFact(models.Model):
    """A call the calling organisation sent to the platform (its leader approved it), and
    what the platform made of it: the valid-call rate of townships (docs/scoring.md)."""

    call = models.OneToOneField(
        "calls.Call", verbose_name=_("call"), on_delete=models.CASCADE, related_name="+"
    )
    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (county, time) indexes start with it
    )
    caller = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("calling organisation"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    caller_kind = models.CharField(_("kind of organisation"), max_length=32)
    direction = models.CharField(_("direction"), max_length=8)
    sent_at = models.DateTimeField(_("sent to the platform at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=SubmissionOutcome.choices)

    class Meta:
        verbose_name = _("call sent to the platform")
        verbose_name_plural = _("calls sent to the platform")
        indexes = [models.Index(fields=["county", "sent_at"], name="sfact_county_sent")]

    def __str__(self) -> str:
        return f"{self.call_id} {self.outcome}"


# ---- the county's rules and the townships' forms


class AssessmentPolicy(models.Model):
    """A county's assessment rules (考核办法): weights, penalties, the two-way shares and
    the minimum volume for rankings. Without a row the defaults of `policy.DEFAULTS`
    apply. Changed only through `services.assessment_policy_set`, which validates it."""

    county = models.OneToOneField(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.CASCADE,
        related_name="assessment_policy",
    )
    weight_response = models.DecimalField(
        _("weight of the response rate"), max_digits=5, decimal_places=2
    )
    weight_completion = models.DecimalField(
        _("weight of the completion rate"), max_digits=5, decimal_places=2
    )
    weight_satisfaction = models.DecimalField(
        _("weight of the satisfaction rate"), max_digits=5, decimal_places=2
    )
    w_basic = models.DecimalField(
        _("value of “basically satisfied”"), max_digits=4, decimal_places=3
    )
    count_default_evaluations = models.BooleanField(
        _("default evaluations count as satisfied"), default=True
    )
    penalty_red_card = models.DecimalField(_("points per red card"), max_digits=5, decimal_places=2)
    penalty_refused_return = models.DecimalField(
        _("points per refused return"), max_digits=5, decimal_places=2
    )
    penalty_redo = models.DecimalField(_("points per redo"), max_digits=5, decimal_places=2)
    township_share_department = models.CharField(
        _("share of the townships' evaluation in a department's score"), max_length=16
    )
    township_share_agency = models.CharField(
        _("share of the host township's evaluation in a stationed agency's score"),
        max_length=16,
    )
    form_share = models.CharField(
        _("share of the periodic forms in the townships' evaluation"), max_length=16
    )
    weight_valid_calls = models.DecimalField(
        _("weight of the valid-call rate (townships)"), max_digits=5, decimal_places=2
    )
    weight_cooperation = models.DecimalField(
        _("weight of the cooperation rate (townships)"), max_digits=5, decimal_places=2
    )
    weight_township_satisfaction = models.DecimalField(
        _("weight of the departments' satisfaction (townships)"), max_digits=5, decimal_places=2
    )
    min_volume = models.PositiveIntegerField(_("fewest calls to be ranked"))
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
        verbose_name = _("assessment policy")
        verbose_name_plural = _("assessment policies")

    def __str__(self) -> str:
        return f"{self.county}"


class Grade(models.TextChoices):
    """The grades of a periodic evaluation form and the score each stands for."""

    EXCELLENT = "excellent", _("Excellent")
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    POOR = "poor", _("Poor")


class PeriodicEvaluation(models.Model):
    """A township's evaluation of a county department or stationed agency for a month,
    quarter or year (beyond the per-call ratings); it feeds the townships' evaluation
    component of the subject's score (docs/scoring.md)."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.CASCADE, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("evaluating township"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    subject = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation evaluated"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    period_key = models.CharField(_("period"), max_length=32)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices, blank=True)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("periodic evaluation")
        verbose_name_plural = _("periodic evaluations")
        ordering = ["-starts_on", "township", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["township", "subject", "period_key"], name="periodic_evaluation_unique"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100), name="periodic_evaluation_score"
            ),
        ]
        indexes = [models.Index(fields=["county", "starts_on"], name="pform_county_start")]

    def __str__(self) -> str:
        return f"{self.township_id} → {self.subject_id} {self.period_key}"


# ---- accountability
# Accountability by the list (依单追责 / 尽职免责), docs/accountability.md: an incident
# without a call, and the case that assembles the evidence of a call or an incident,
# proposes a finding and records the finding a person makes.


class Finding(models.TextChoices):
    PRIMARY_FAILURE = "primary_failure", _("Primary responsibility not fulfilled")
    COOPERATION_FAILURE = "cooperation_failure", _("Cooperating responsibility not fulfilled")
    DILIGENT_EXEMPT = "diligent_exempt", _("Diligent: exempt from accountability")
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", _("Insufficient evidence")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DECIDED = "decided", _("Decided")


class Incident(models.Model):
    """Something that happened on a list item in a township and came to light without
    (or beside) a call: e.g. an illegal building found by an inspection."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("township"),
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
        help_text=_("The item of the list in force when it was discovered; empty: off the list."),
    )
    department = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("department concerned"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a task off the list: the county department that handed it down."),
    )
    calls = models.ManyToManyField(
        "calls.Call", verbose_name=_("related calls"), blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("what happened"), max_length=4000)
    discovered_at = models.DateTimeField(_("discovered at"))
    discovered_by = models.CharField(_("discovered by"), max_length=200)
    discovered_by_org = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("discovering organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-discovered_at", "-pk"]
        indexes = [models.Index(fields=["county", "-discovered_at"])]

    def __str__(self) -> str:
        return self.title


class AccountabilityCase(models.Model):
    """The accountability case of one call or one incident: the evidence as assembled
    (a snapshot, so the record does not move when the call does), the finding the rules
    propose, and the finding a person records, once."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    call = models.ForeignKey(
        "calls.Call",
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accountability_cases",
    )
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    title = models.CharField(_("title"), max_length=200)
    parties = models.ManyToManyField(
        "regions.Organisation",
        verbose_name=_("parties concerned"),
        related_name="+",
        help_text=_("The township and the departments concerned: they may read the case."),
    )
    evidence = models.JSONField(_("evidence"), default=dict)
    proposed_finding = models.CharField(
        _("proposed finding"), max_length=32, choices=Finding.choices
    )
    proposed_reasons = models.JSONField(_("reasons of the proposal"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    final_finding = models.CharField(
        _("final finding"), max_length=32, choices=Finding.choices, blank=True
    )
    final_reasons = models.TextField(_("reasons of the finding"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    evidence_at = models.DateTimeField(_("evidence assembled at"), default=timezone.now)

    class Meta:
        verbose_name = _("accountability case")
        verbose_name_plural = _("accountability cases")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(call__isnull=False, incident__isnull=True)
                | Q(call__isnull=True, incident__isnull=False),
                name="accountability_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | (~Q(final_finding="") & Q(decided_at__isnull=False)),
                name="accountability_decided_has_finding",
            ),
            # One open case per subject: a second one would split the record.
            models.UniqueConstraint(
                fields=["call"],
                condition=Q(status="open", call__isnull=False),
                name="accountability_one_open_per_call",
            ),
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(status="open", incident__isnull=False),
                name="accountability_one_open_per_incident",
            ),
        ]
        indexes = [models.Index(fields=["county", "status", "-opened_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def subject(self) -> str:
        return "call" if self.call_id else "incident"

    @property
    def overrides_proposal(self) -> bool:
        return bool(self.final_finding) and self.final_finding != self.proposed_finding


# ---- notices
# Notices (通报), docs/notices.md: a period's notice naming the subjects that did not
# respond, responded late or responded poorly, with their figures and calls as a
# snapshot; each entry is answered by a rectification reply (整改回复) of the named
# organisation, which the issuer accepts or returns until the entry is closed.


class NoticeKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    ANNUAL = "annual", _("Annual")
    AD_HOC = "ad_hoc", _("Ad hoc")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")


class Notice(models.Model):
    """A notice (通报) of one county for one period. Generated as a draft from the
    period's figures (`notices.notice_generate`), issued once: issuing gives it its
    number (文号: year and serial) and starts the reply deadlines of its entries."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT
    )
    period_key = models.CharField(_("period"), max_length=32)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    period_label = models.CharField(_("period as written"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), max_length=4000, blank=True)
    criteria = models.JSONField(_("criteria used"), default=dict)
    as_of = models.DateTimeField(_("figures as of"))
    reply_days = models.PositiveSmallIntegerField(_("working days to reply"), default=10)
    year = models.PositiveSmallIntegerField(_("year of the number"), null=True, blank=True)
    serial = models.PositiveIntegerField(_("serial number"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("generated by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("generated at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    issuer_org = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("issuing organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-starts_on", "-created_at", "-pk"]
        constraints = [
            # One notice per period: a second one would name the same subjects twice.
            models.UniqueConstraint(fields=["county", "period_key"], name="notice_one_per_period"),
            models.UniqueConstraint(
                fields=["county", "year", "serial"],
                condition=Q(serial__isnull=False),
                name="notice_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(issued_at__isnull=False, serial__isnull=False, year__isnull=False),
                name="notice_issued_has_number",
            ),
        ]
        indexes = [models.Index(fields=["county", "status", "-starts_on"])]

    def __str__(self) -> str:
        return self.title


class NoticeCategory(models.TextChoices):
    NO_RESPONSE = "no_response", _("No response")
    LATE_RESPONSE = "late_response", _("Late response")
    POOR_RESPONSE = "poor_response", _("Poor response")


class EntryStatus(models.TextChoices):
    AWAITING = "awaiting", _("Awaiting the reply")
    REPLIED = "replied", _("Replied, awaiting the decision")
    RETURNED = "returned", _("Returned for revision")
    CLOSED = "closed", _("Closed")


class NoticeEntry(models.Model):
    """One subject named in a notice under one category, with the figures and the
    offending calls as they were when the notice was generated (a snapshot)."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="entries"
    )
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation named"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    subject_name = models.CharField(_("name as printed"), max_length=200)
    subject_kind = models.CharField(_("kind of organisation"), max_length=32)
    category = models.CharField(_("category"), max_length=16, choices=NoticeCategory.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    figures = models.JSONField(_("figures"), default=dict)
    calls = models.JSONField(_("calls"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.AWAITING
    )
    reply_due = models.DateTimeField(_("reply due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice entry")
        verbose_name_plural = _("notice entries")
        ordering = ["notice", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "organisation", "category"], name="notice_entry_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.subject_name} {self.category}"

    @property
    def is_open(self) -> bool:
        return self.status != EntryStatus.CLOSED

    @property
    def is_overdue(self) -> bool:
        """No reply is waiting for a decision and the reply deadline has passed."""
        if self.status not in (EntryStatus.AWAITING, EntryStatus.RETURNED) or not self.reply_due:
            return False
        return self.reply_due < timezone.now()


class ReplyStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned for revision")


class RectificationReply(models.Model):
    """A rectification reply (整改回复) of the named organisation to one entry: the
    causes found and the measures taken. Decided once by the issuing side."""

    entry = models.ForeignKey(
        NoticeEntry, verbose_name=_("entry"), on_delete=models.CASCADE, related_name="replies"
    )
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("replying organisation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField(_("causes and rectification"), max_length=4000)
    measures = models.TextField(_("measures"), max_length=4000)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    late = models.BooleanField(_("after the deadline"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ReplyStatus.choices, default=ReplyStatus.SUBMITTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("rectification reply")
        verbose_name_plural = _("rectification replies")
        ordering = ["entry", "submitted_at", "pk"]
        constraints = [
            # One reply at a time waits for the decision.
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status="submitted"), name="notice_one_pending_reply"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.status}"
