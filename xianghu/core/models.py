from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """Last sign of life of each background worker (written by `manage.py worker`)."""

    worker_id = models.CharField(_("worker id"), max_length=64, unique=True)
    hostname = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    seen_at = models.DateTimeField(_("last seen at"), db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class CalendarSource(models.TextChoices):
    """Where a row of the working calendar came from."""

    CHINESECALENDAR = "chinesecalendar", _("chinesecalendar package")
    NOTICE = "notice", _("State Council notice")
    IMPORT = "import", _("imported file")


class Holiday(models.Model):
    """A day that breaks the Monday–Friday rule of the statutory working calendar.

    Only exceptions are stored: a weekday that is a day off (法定节假日, 调休休息) or a
    weekend day that is a working day (调休上班). Every other day follows its weekday, so
    the table stays small and a year can be checked against the State Council's notice.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("day off")
        WORKDAY = "workday", _("working day (swapped weekend)")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=CalendarSource.choices, default=CalendarSource.NOTICE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("holiday or swapped working day")
        verbose_name_plural = _("holidays and swapped working days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "workday"]), name="core_holiday_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.kind} {self.name}".rstrip()

    def clean(self) -> None:
        """Keep the table to exceptions only: a row that repeats the weekday rule is a typo."""
        super().clean()
        if self.date is None:
            return
        weekend = self.date.weekday() >= 5
        if self.kind == self.Kind.HOLIDAY and weekend:
            raise ValidationError(
                {
                    "date": _(
                        "This date is a weekend day, a day off anyway: only weekday holidays need a row."
                    )
                }
            )
        if self.kind == self.Kind.WORKDAY and not weekend:
            raise ValidationError(
                {
                    "date": _(
                        "This date is a weekday, a working day anyway: only weekend working days need a row."
                    )
                }
            )


class CalendarYear(models.Model):
    """Whether the holiday table holds a whole year.

    Deadlines can be computed for any year, but a year counts as covered only when an
    administrator (or the seed) says its rows are complete; otherwise the platform warns
    that it counts weekends only there.
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(_("complete"), default=False)
    note = models.TextField(_("note"), blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=CalendarSource.choices, default=CalendarSource.NOTICE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class AuditKind(models.TextChoices):
    """What a security audit event is about (stable codes: never rename one)."""

    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logout")
    LOCKOUT = "lockout", _("Account locked out")
    PERMISSION_DENIED = "permission_denied", _("Permission denied")
    EXPORT = "export", _("Export or download")
    UNMASK = "unmask", _("Unmasking of personal data")
    ADMIN_CHANGE = "admin_change", _("Change in the administration site")
    TWO_FACTOR = "two_factor", _("Two-factor authentication")
    PASSWORD = "password", _("Password change")
    API_KEY = "api_key", _("API key")
    OTHER = "other", _("Other")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("Succeeded")
    FAILURE = "failure", _("Failed")
    DENIED = "denied", _("Denied")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Append-only: bulk updates and deletes are refused; only `_purge` (the retention
    purge of `manage.py audit_purge`, which the database trigger also checks) deletes."""

    def update(self, **kwargs: Any) -> int:
        raise AuditLogImmutable("update")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogImmutable("delete")

    def _purge(self) -> int:
        return models.QuerySet.delete(self)[0]


class AuditLogImmutable(Exception):
    """The security audit log is append-only (等保 2.0: records protected from change)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"the security audit log is append-only ({operation} refused)")


class AuditEvent(models.Model):
    """One entry of the security audit log (等保 2.0 安全审计): who, when, what, from where,
    with what outcome. Rows are never changed or deleted except by the retention purge;
    the database refuses it too (`core.audit_db`). `county_id` is the id of the county
    (a `regions.Region`) whose auditors see the event: core knows no domain app, so it is
    a plain number, not a foreign key."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=32, choices=AuditKind.choices)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A snapshot: the account may be renamed or deleted later; for a failed login, the
    # name that was typed.
    username = models.CharField(_("user name"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    method = models.CharField(_("method"), max_length=8, blank=True)
    path = models.CharField(_("path"), max_length=500, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    county_id = models.BigIntegerField(_("county"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("security audit event")
        verbose_name_plural = _("security audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["county_id", "-at"], name="core_audit_county_at"),
            models.Index(fields=["kind", "-at"], name="core_audit_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}".rstrip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogImmutable("update")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogImmutable("delete")
