"""Models of the 12345 hotline: tickets, import sources and their runs, webhook refusals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xianghu.calls.models import Urgency


class TicketType(models.TextChoices):
    ENQUIRY = "enquiry", _("Enquiry")  # 咨询
    HELP = "help", _("Request for help")  # 求助
    COMPLAINT = "complaint", _("Complaint")  # 投诉
    TIP_OFF = "tip_off", _("Tip-off")  # 举报
    SUGGESTION = "suggestion", _("Suggestion")  # 建议
    THANKS = "thanks", _("Thanks")  # 感谢
    OTHER = "other", _("Other")  # 其他


class Disposition(models.TextChoices):
    """What the platform did with the ticket."""

    NEW = "new", _("Not handled yet")
    CALL = "call", _("Turned into a call")
    DISPATCHED = "dispatched", _("Dispatched to the township")


class Encoding(models.TextChoices):
    AUTO = "auto", _("Detect (UTF-8, UTF-8 with BOM or GBK/GB18030)")
    UTF8 = "utf-8", "UTF-8"
    GB18030 = "gb18030", "GBK / GB18030"


class ImportSource(models.Model):
    """Where tickets come from (a 12345 system, an export of it): the column mapping of its
    files, their encoding, and the secret of its webhook."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(
        _("column mapping"),
        default=dict,
        blank=True,
        help_text=_("Ticket field → column heading of the files of this source."),
    )
    encoding = models.CharField(
        _("encoding"), max_length=16, choices=Encoding.choices, default=Encoding.AUTO
    )
    webhook_secret = models.CharField(
        _("webhook secret"),
        max_length=128,
        blank=True,
        help_text=_("Shared secret for the HMAC-SHA256 signature of every pushed ticket."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("hotline source")
        verbose_name_plural = _("hotline sources")
        constraints = [
            models.UniqueConstraint(fields=["county", "name"], name="hotline_source_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """One file imported from a source, with its progress and the rows that failed.

    The first `ERRORS_KEPT` failed rows are kept here (shown on the page); every failed
    row is in the CSV report `error_file` (under MEDIA_ROOT)."""

    ERRORS_KEPT = 200

    source = models.ForeignKey(
        ImportSource, verbose_name=_("source"), on_delete=models.CASCADE, related_name="runs"
    )
    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(_("stored file"), max_length=500, blank=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    bytes_read = models.BigIntegerField(_("bytes read"), default=0)
    total = models.PositiveIntegerField(_("rows read"), default=0)
    inserted = models.PositiveIntegerField(_("new tickets"), default=0)
    updated = models.PositiveIntegerField(_("updated tickets"), default=0)
    failed = models.PositiveIntegerField(_("failed rows"), default=0)
    errors = models.JSONField(_("first failed rows"), default=list, blank=True)
    error_file = models.CharField(_("error report"), max_length=500, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("hotline import")
        verbose_name_plural = _("hotline imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} · {self.file_name}"

    @property
    def percent(self) -> int:
        if self.status == RunStatus.DONE:
            return 100
        if not self.file_size:
            return 0
        return min(99, int(self.bytes_read * 100 / self.file_size))

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)


# The caller's data: shown and exported masked, purged when its retention runs out
# (integrations/privacy.py), and not written again by a re-import once purged.
PERSONAL_FIELDS = ("caller_name", "caller_phone")


class Ticket(models.Model):
    """A 12345 hotline ticket (工单) of a county, unique by its number in the county.

    The caller's name and phone are kept for follow-up by the hotline and are shown and
    exported masked (`core.masking`). Re-sent tickets update the row; what the platform
    did with it (`disposition`, `call`) is never overwritten by an import.

    The references the importer writes (county, source, run, township, place) have no
    database foreign-key constraint: their values come from the importer's own lookups,
    and the constraint triggers cost four times the insert itself on a million rows
    (docs/benchmarks.md). Django's `on_delete` rules still apply in the ORM."""

    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # the unique (county, number) index serves
        db_constraint=False,
    )
    number = models.CharField(_("ticket number"), max_length=64)
    source = models.ForeignKey(
        ImportSource,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    import_run = models.ForeignKey(
        ImportRun,
        verbose_name=_("last import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(_("channel"), max_length=32, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    caller_name = models.CharField(_("caller"), max_length=64, blank=True)
    caller_phone = models.CharField(_("caller's phone"), max_length=32, blank=True)
    type = models.CharField(
        _("type"), max_length=16, choices=TicketType.choices, default=TicketType.OTHER
    )
    category = models.CharField(_("category"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    content = models.TextField(_("content"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    region_code = models.CharField(_("region code"), max_length=12, blank=True)
    township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    location = models.ForeignKey(
        "regions.Region",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    handling_unit = models.CharField(_("handling unit"), max_length=128, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    followup_result = models.TextField(_("follow-up result"), blank=True)
    satisfaction = models.CharField(_("satisfaction"), max_length=32, blank=True)
    source_status = models.CharField(_("status at the hotline"), max_length=32, blank=True)
    disposition = models.CharField(
        _("disposition"), max_length=16, choices=Disposition.choices, default=Disposition.NEW
    )
    call = models.ForeignKey(
        "calls.Call",
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hotline_tickets",
        db_index=False,  # the partial unique constraint below serves
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("hotline ticket")
        verbose_name_plural = _("hotline tickets")
        constraints = [
            models.UniqueConstraint(
                fields=["county", "number"], name="hotline_ticket_unique_number"
            ),
            # One ticket per call (a ticket keeps its one call).
            models.UniqueConstraint(
                fields=["call"], condition=Q(call__isnull=False), name="hotline_ticket_one_call"
            ),
        ]
        # Only two indexes are written for every imported ticket (the unique number and
        # the received time); the other covers the few tickets the platform has handled
        # (and `hotline_ticket_one_call` those turned into calls: the status updates).
        # No index holds a column a re-import changes on every row (`updated_at`,
        # `import_run_id`, …), so that PostgreSQL can update a re-imported ticket in place
        # (a HOT update: no new index entry); the table's fillfactor leaves room on each
        # page for it (migration 0002, docs/benchmarks.md "12345 hotline import").
        indexes = [
            models.Index(fields=["county", "-received_at"], name="hotline_ticket_received"),
            models.Index(
                fields=["township", "disposition"],
                condition=~Q(disposition="new"),
                name="hotline_ticket_handed",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class WebhookRefusal(models.Model):
    """A refused webhook push (bad signature, replayed or stale timestamp, oversize body):
    kept for the platform's security review; the body itself is not kept."""

    source = models.ForeignKey(
        ImportSource,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    code = models.CharField(_("code"), max_length=64)
    remote_addr = models.CharField(_("remote address"), max_length=64, blank=True)
    body_size = models.BigIntegerField(_("body size"), default=0)

    class Meta:
        verbose_name = _("refused hotline push")
        verbose_name_plural = _("refused hotline pushes")

    def __str__(self) -> str:
        return f"{self.code} {self.at:%Y-%m-%d %H:%M:%S}"


class WebhookReceipt(models.Model):
    """A signature already accepted: the same signed push again is a replay."""

    source = models.ForeignKey(ImportSource, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "signature"], name="hotline_receipt_unique_signature"
            )
        ]

    def __str__(self) -> str:
        return self.signature
