"""Assessment periods (考核周期): a month, a quarter, a year or any range of days.

A period is a span of whole days in Asia/Shanghai, written as

- `2026-10` (a month), `2026-Q3` (a quarter), `2026` (a year),
- `2026-09-01..2026-10-15` (a range of days, both ends included).

It starts at 00:00 (Asia/Shanghai) of its first day and ends, exclusively, at 00:00 of the
day after its last day: every moment belongs to exactly one day, and so to exactly one
month. Bad input is refused with a coded `InvalidInput` (docs/scoring.md, "Periods"):
`assessment.period_required` (empty), `assessment.period_invalid` (not one of the forms
above, or an impossible date), `assessment.period_reversed` (a range ending before it
starts), `assessment.period_future` (starting after today), `assessment.period_too_long`
(a range of more than ten years).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput
from xianghu.core.workdays import CHINA_TZ


class PeriodKind:
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


#: The longest range accepted, in days (ten years and their leap days).
MAX_RANGE_DAYS = 3653

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


def _invalid(text: str) -> InvalidInput:
    return InvalidInput(
        _(
            "“%(text)s” is not a period. Write a month (2026-10), a quarter (2026-Q3), "
            "a year (2026) or a range of days (2026-09-01..2026-10-15)."
        )
        % {"text": text},
        code="assessment.period_invalid",
        detail=[{"field": "period", "message": _("Not a period.")}],
    )


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


@dataclass(frozen=True, order=True)
class Period:
    """A span of whole days. `end` is the last day, included.

    `key` is the canonical text (`2026-10`, `2026-Q3`, `2026`, `2026-09-01..2026-10-15`);
    `Period.parse(p.key) == p`.
    """

    start: date
    end: date
    kind: str
    key: str

    # ---- making periods

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(
            date(year, month, 1),
            _month_end(year, month),
            PeriodKind.MONTH,
            f"{year:04d}-{month:02d}",
        )

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = 3 * (quarter - 1) + 1
        return cls(
            date(year, first, 1),
            _month_end(year, first + 2),
            PeriodKind.QUARTER,
            f"{year:04d}-Q{quarter}",
        )

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), PeriodKind.YEAR, f"{year:04d}")

    @classmethod
    def days(cls, start: date, end: date) -> Period:
        """A range of days (both included); refused when reversed or too long."""
        if end < start:
            raise InvalidInput(
                _("The period ends (%(end)s) before it starts (%(start)s).")
                % {"start": start.isoformat(), "end": end.isoformat()},
                code="assessment.period_reversed",
                detail=[{"field": "period", "message": _("The end is before the start.")}],
            )
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput(
                _("A period may last at most ten years."),
                code="assessment.period_too_long",
                detail=[{"field": "period", "message": _("At most ten years.")}],
            )
        return cls(start, end, PeriodKind.RANGE, f"{start.isoformat()}..{end.isoformat()}")

    @classmethod
    def parse(cls, text: str | None, *, today: date | None = None) -> Period:
        """The period `text` names; refused with a coded error when it is empty,
        malformed, reversed, too long, or starts after `today` (default: today in
        Asia/Shanghai). A period that has begun but not ended (the current month) is
        accepted."""
        raw = (text or "").strip()
        if not raw:
            raise InvalidInput(
                _("Choose a period."),
                code="assessment.period_required",
                detail=[{"field": "period", "message": _("This field is required.")}],
            )
        try:
            period = cls._parse(raw)
        except ValueError:  # an impossible date: 2026-13, 2026-02-30
            raise _invalid(raw) from None
        if period is None:
            raise _invalid(raw)
        today = today or timezone.localdate(timezone.now(), CHINA_TZ)
        if period.start > today:
            raise InvalidInput(
                _("The period %(period)s has not begun yet.") % {"period": period.key},
                code="assessment.period_future",
                detail=[{"field": "period", "message": _("The period is in the future.")}],
            )
        return period

    @classmethod
    def _parse(cls, raw: str) -> Period | None:
        if match := _YEAR.match(raw):
            return cls.year(int(match[1]))
        if match := _QUARTER.match(raw):
            return cls.quarter(int(match[1]), int(match[2]))
        if match := _MONTH.match(raw):
            return cls.month(int(match[1]), int(match[2]))
        if match := _RANGE.match(raw):
            return cls.days(date.fromisoformat(match[1]), date.fromisoformat(match[2]))
        return None

    # ---- reading periods

    @property
    def starts_at(self) -> datetime:
        """The first moment of the period (00:00 Asia/Shanghai of `start`)."""
        return datetime.combine(self.start, time(0, 0), tzinfo=CHINA_TZ)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period (00:00 Asia/Shanghai of the day after `end`)."""
        return datetime.combine(self.end + timedelta(days=1), time(0, 0), tzinfo=CHINA_TZ)

    @property
    def day_count(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, other: Period) -> bool:
        """Whether `other` lies within this period (the same period included)."""
        return self.start <= other.start and other.end <= self.end

    def is_over(self, *, today: date | None = None) -> bool:
        """Whether the period has ended (its last day is before today)."""
        today = today or timezone.localdate(timezone.now(), CHINA_TZ)
        return self.end < today

    def previous(self) -> Period:
        """The period of the same kind just before this one (a range: as many days)."""
        if self.kind == PeriodKind.MONTH:
            year, month = (
                (self.start.year, self.start.month - 1)
                if self.start.month > 1
                else (
                    self.start.year - 1,
                    12,
                )
            )
            return Period.month(year, month)
        if self.kind == PeriodKind.QUARTER:
            quarter = (self.start.month - 1) // 3 + 1
            if quarter == 1:
                return Period.quarter(self.start.year - 1, 4)
            return Period.quarter(self.start.year, quarter - 1)
        if self.kind == PeriodKind.YEAR:
            return Period.year(self.start.year - 1)
        length = timedelta(days=self.day_count)
        return Period.days(self.start - length, self.end - length)

    def months(self) -> list[Period]:
        """The months this period touches, in order (a range: every month it overlaps)."""
        out = []
        year, month = self.start.year, self.start.month
        while date(year, month, 1) <= self.end:
            out.append(Period.month(year, month))
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        return out

    def __str__(self) -> str:
        return self.key
