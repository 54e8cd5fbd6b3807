from django.core.exceptions import ValidationError
from django.db import models
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
