"""The Chinese statutory working calendar and time limits counted on it.

Government time limits are written in working days (5个工作日) or working hours, and the
working days follow the State Council's yearly notice: weekday holidays (法定节假日,
调休休息) and weekend days that become working days (调休上班). The package
`chinesecalendar` knows 2004–2026 only, so the calendar lives in our own tables
(`core.Holiday`, `core.CalendarYear`), seeded from the package and extended by an
administrator each year (`manage.py holidays_import`). The rules are written down in
docs/workdays.md; this module is their one implementation.

All datetimes are timezone-aware; they are read and returned in Asia/Shanghai, because the
calendar is China's whatever the server's time zone is.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import CharField, DateField, IntegerField, Value
from django.utils import timezone
from django.utils.translation import gettext

from xianghu.core.models import CalendarSource, CalendarYear, Holiday

logger = logging.getLogger(__name__)

CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: Years the `chinesecalendar` package knows (1.11.x); the seed migration covers these.
PACKAGE_YEARS = range(2004, 2027)

#: The package's English holiday names and the names the State Council's notices use.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

HOLIDAY = Holiday.Kind.HOLIDAY.value
WORKDAY = Holiday.Kind.WORKDAY.value

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)

# Ten years without a working day is a broken calendar, not a deadline.
_MAX_DAYS = 3660


# --------------------------------------------------------------------------- hours


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """The office hours a county keeps: a morning and an afternoon period.

    Working-hour limits (2 working hours to sign) run only inside these periods, and a
    working-day limit ends at the end of the afternoon. The `calls` app stores one per
    county and passes it in; `DEFAULT_HOURS` is 08:30–12:00 and 13:30–17:30.
    """

    morning: tuple[time, time] = (time(8, 30), time(12, 0))
    afternoon: tuple[time, time] = (time(13, 30), time(17, 30))

    def __post_init__(self) -> None:
        (m_start, m_end), (a_start, a_end) = self.morning, self.afternoon
        for moment in (m_start, m_end, a_start, a_end):
            if moment.tzinfo is not None:
                raise ValueError("working hours are local wall-clock times, without tzinfo")
        if not (m_start < m_end <= a_start < a_end):
            raise ValueError(
                "working hours must be morning start < morning end <= afternoon start "
                f"< afternoon end, got {m_start}-{m_end} and {a_start}-{a_end}"
            )

    @property
    def periods(self) -> tuple[tuple[time, time], tuple[time, time]]:
        return (self.morning, self.afternoon)

    @property
    def day_start(self) -> time:
        return self.morning[0]

    @property
    def day_end(self) -> time:
        """The end of the working day: where a working-day limit runs out."""
        return self.afternoon[1]

    @property
    def per_day(self) -> timedelta:
        """Working time in one working day (7 h 30 min by default)."""
        anyday = date(2000, 1, 3)
        return sum(
            (_at(anyday, end) - _at(anyday, start) for start, end in self.periods), timedelta()
        )


DEFAULT_HOURS = WorkingHours()


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True, slots=True)
class CoverageWarning:
    """A year a computation had to count without the State Council's notice."""

    year: int

    @property
    def message(self) -> str:
        return gettext(
            "The holiday table does not cover %(year)s: deadlines in that year count "
            "weekends only. Add the year from the State Council's notice."
        ) % {"year": self.year}

    def __str__(self) -> str:
        return self.message


def uncovered_years(years: Iterable[int]) -> list[int]:
    """The given years that have no complete `CalendarYear` row (one query)."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    covered = set(
        CalendarYear.objects.filter(year__in=wanted, complete=True).values_list("year", flat=True)
    )
    return [year for year in wanted if year not in covered]


def coverage_warnings(
    *, years_ahead: int = 1, ahead_from_month: int = 11, today: date | None = None
) -> list[str]:
    """Messages for the admin home and the overdue board: the years deadlines are falling
    in now or soon that the table does not cover.

    This year always counts. The next `years_ahead` years count from `ahead_from_month`
    (November) on: the State Council usually publishes next year's notice in October or
    November, and from then on December deadlines reach into January. Earlier in the year
    the warning would only be noise (pass `ahead_from_month=1` to always include them).
    """
    today = today or timezone.localdate(timezone=CHINA_TZ)
    ahead = max(years_ahead, 0) if today.month >= ahead_from_month else 0
    years = range(today.year, today.year + ahead + 1)
    return [CoverageWarning(year).message for year in uncovered_years(years)]


# --------------------------------------------------------------------------- calendar


@dataclass
class HolidayCalendar:
    """The table's rows for a range of years, held in memory.

    Computing many deadlines asks the calendar about many days; loading the rows once
    (`HolidayCalendar.load`, one query) keeps that free of queries. A year outside the
    loaded range is loaded on first use (one query), so a calendar never answers wrongly
    for lack of data. Years without a complete `CalendarYear` row count their stored rows
    plus weekends and are remembered in `uncovered_used` (see `warnings`). Not meant to be
    shared between threads, nor kept for long: the table can change.
    """

    days: dict[date, str] = field(default_factory=dict)
    loaded: set[int] = field(default_factory=set)
    covered: set[int] = field(default_factory=set)
    uncovered_used: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, start_year: int, end_year: int) -> HolidayCalendar:
        """Load `start_year`..`end_year` (inclusive) with one query."""
        calendar = cls()
        calendar._load(start_year, end_year)
        return calendar

    def _load(self, start_year: int, end_year: int) -> None:
        if end_year < start_year:
            raise ValueError(f"end_year {end_year} is before start_year {start_year}")
        # One query for both tables: the rows of the years, and the complete years as
        # rows without a date (kind "", year in the third column).
        rows = (
            Holiday.objects.filter(date__year__gte=start_year, date__year__lte=end_year)
            .order_by()
            .values_list("date", "kind", Value(0, output_field=IntegerField()))
        )
        years = (
            CalendarYear.objects.filter(year__gte=start_year, year__lte=end_year, complete=True)
            .order_by()
            .values_list(
                Value(None, output_field=DateField()),
                Value("", output_field=CharField()),
                "year",
            )
        )
        for day, kind, year in rows.union(years, all=True):
            if day is None:
                self.covered.add(int(year))
            else:
                self.days[day] = kind
        self.loaded.update(range(start_year, end_year + 1))

    def _ensure(self, year: int) -> None:
        if year not in self.loaded:
            # Walks go forward: fetch the next year too while at it.
            self._load(year, year + 1)

    def covers(self, year: int) -> bool:
        """Whether the table holds the whole of `year` (its `CalendarYear` is complete)."""
        self._ensure(year)
        return year in self.covered

    def is_working_day(self, day: date) -> bool:
        """A `workday` row → working; a `holiday` row → day off; otherwise Monday–Friday."""
        self._ensure(day.year)
        if day.year not in self.covered and day.year not in self.uncovered_used:
            self.uncovered_used.add(day.year)
            logger.info("holiday table does not cover %s: counting weekends only", day.year)
        kind = self.days.get(day)
        if kind == WORKDAY:
            return True
        if kind == HOLIDAY:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for _ in range(_MAX_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_MAX_DAYS} days after {day}")

    @property
    def warnings(self) -> list[CoverageWarning]:
        """The uncovered years this calendar has answered for, to show with a result."""
        return [CoverageWarning(year) for year in sorted(self.uncovered_used)]


def is_working_day(day: date, *, calendar: HolidayCalendar | None = None) -> bool:
    """Whether `day` is a working day on the statutory calendar.

    A datetime is taken as its date in Asia/Shanghai. Without `calendar` the year is
    loaded from the table (one query); pass a preloaded calendar when asking many times.
    """
    if isinstance(day, datetime):
        day = _local(day).date()
    if calendar is None:
        calendar = HolidayCalendar.load(day.year, day.year)
    return calendar.is_working_day(day)


# --------------------------------------------------------------------------- limits


def add_working_days(
    start: datetime,
    days: int,
    *,
    hours: WorkingHours = DEFAULT_HOURS,
    calendar: HolidayCalendar | None = None,
) -> datetime:
    """The deadline of "within `days` working days" from `start`.

    The rule (docs/workdays.md), as Chinese law counts periods — the day a period starts
    is not counted (民法典 第二百零一条):
    - day 0 is the day of `start` if it is a working day and `start` is at or before the
      end of its working hours (17:30); otherwise (after 17:30, or on a day off) day 0 is
      the next working day, as if the matter arrived when that day's office opened;
    - the deadline is the end of working hours on the `days`-th working day after day 0.
    So 1 working day from Monday 10:00 ends Tuesday 17:30, and 0 days ends day 0 at 17:30.
    Adding n then m working days equals adding n + m (the result lies on a working day
    at 17:30, which is still that day's day 0).
    """
    if days < 0:
        raise ValueError("days must not be negative")
    local = _local(start)
    if calendar is None:
        calendar = HolidayCalendar.load(local.year, local.year + 1)
    day = local.date()
    if not calendar.is_working_day(day) or local.time() > hours.day_end:
        day = calendar.next_working_day(day)
    for _ in range(days):
        day = calendar.next_working_day(day)
    return _at(day, hours.day_end)


def add_working_hours(
    start: datetime,
    hours_amount: float,
    *,
    hours: WorkingHours = DEFAULT_HOURS,
    calendar: HolidayCalendar | None = None,
) -> datetime:
    """The earliest moment at which `hours_amount` working hours have passed since `start`.

    Time runs only inside the working periods of working days: 2 working hours from
    Friday 16:30 end at 09:30 on the next working day; a limit that runs out exactly at
    the end of a period ends there (12:00, 17:30), not at the next period's start. Zero
    hours is `start` itself. Fractions are kept to the microsecond.
    """
    if hours_amount < 0:
        raise ValueError("hours_amount must not be negative")
    local = _local(start)
    remaining = timedelta(hours=hours_amount)
    if not remaining:
        return local
    if calendar is None:
        calendar = HolidayCalendar.load(local.year, local.year + 1)
    day = local.date()
    if not calendar.is_working_day(day):
        day = calendar.next_working_day(day)
    while True:  # every working day after the first takes `hours.per_day` (> 0) off
        for period_start, period_end in hours.periods:
            begin = max(local, _at(day, period_start))
            end = _at(day, period_end)
            if begin >= end:
                continue
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
        day = calendar.next_working_day(day)


def working_time_between(
    start: datetime,
    end: datetime,
    *,
    hours: WorkingHours = DEFAULT_HOURS,
    calendar: HolidayCalendar | None = None,
) -> timedelta:
    """Working time elapsed from `start` to `end`: how long a department took, counted
    the way its limit is counted. Negative when `end` is before `start`.
    """
    local_start, local_end = _local(start), _local(end)
    if local_end < local_start:
        return -working_time_between(end, start, hours=hours, calendar=calendar)
    if calendar is None:
        calendar = HolidayCalendar.load(local_start.year, local_end.year)
    total = timedelta()
    day = local_start.date()
    while day <= local_end.date():
        if calendar.is_working_day(day):
            for period_start, period_end in hours.periods:
                begin = max(local_start, _at(day, period_start))
                finish = min(local_end, _at(day, period_end))
                if finish > begin:
                    total += finish - begin
        day += timedelta(days=1)
    return total


#: Units of `deadline`: clock minutes, hours, calendar days; working days and hours.
UNITS = ("m", "h", "d", "wd", "wh")


def deadline(
    start: datetime,
    amount: int,
    unit: str,
    *,
    hours: WorkingHours = DEFAULT_HOURS,
    calendar: HolidayCalendar | None = None,
) -> datetime:
    """When a limit of `amount` `unit` that starts at `start` runs out.

    `m`, `h` and `d` are clock time and simply add (24 h and 1 d are the same); `wd` and
    `wh` follow `add_working_days` and `add_working_hours`. The units are those of the
    lists' time limits (`catalog.limits.Limit`) plus `wh`; core does not import catalog.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    local = _local(start)
    if unit == "m":
        return local + timedelta(minutes=amount)
    if unit == "h":
        return local + timedelta(hours=amount)
    if unit == "d":
        return local + timedelta(days=amount)
    if unit == "wd":
        return add_working_days(local, amount, hours=hours, calendar=calendar)
    if unit == "wh":
        return add_working_hours(local, amount, hours=hours, calendar=calendar)
    raise ValueError(f"unknown time-limit unit {unit!r}; expected one of {', '.join(UNITS)}")


# --------------------------------------------------------------------------- seeding


@dataclass(frozen=True, slots=True)
class CalendarRow:
    """One exception day, as it goes into `core.Holiday`."""

    date: date
    kind: str
    name: str


def chinesecalendar_rows(year: int) -> list[CalendarRow]:
    """The year's weekday holidays and weekend working days as the package knows them.

    Raises `NotImplementedError` (the package's own) for a year it does not know.
    """
    import chinese_calendar

    # The package checks the year itself only per day; ask once so a year it does not
    # know fails before anything is written.
    chinese_calendar.is_holiday(date(year, 1, 1))
    chinese_calendar.is_holiday(date(year, 12, 31))
    rows = []
    day = date(year, 1, 1)
    while day.year == year:
        weekend = day.weekday() >= 5
        if (weekend and chinese_calendar.is_workday(day)) or (
            not weekend and chinese_calendar.is_holiday(day)
        ):
            _, english = chinese_calendar.get_holiday_detail(day)
            english = english or ""
            kind = WORKDAY if weekend else HOLIDAY
            rows.append(CalendarRow(day, kind, HOLIDAY_NAMES.get(english, english)))
        day += timedelta(days=1)
    return rows


def replace_year(
    year: int,
    rows: Iterable[CalendarRow],
    *,
    row_source: str,
    year_source: str,
    note: str = "",
    holiday_model: Any = Holiday,
    year_model: Any = CalendarYear,
) -> int:
    """Replace `year`'s rows with `rows` and mark the year complete, atomically.

    Returns the number of rows written. The models are parameters so that the seed
    migration can pass its historical models.
    """
    rows = list(rows)
    with transaction.atomic():
        holiday_model.objects.filter(date__year=year).delete()
        holiday_model.objects.bulk_create(
            [holiday_model(date=r.date, kind=r.kind, name=r.name, source=row_source) for r in rows]
        )
        year_model.objects.update_or_create(
            year=year, defaults={"complete": True, "source": year_source, "note": note}
        )
    return len(rows)


def seed_from_chinesecalendar(
    years: Iterable[int] = PACKAGE_YEARS,
    *,
    holiday_model: Any = Holiday,
    year_model: Any = CalendarYear,
) -> int:
    """Write the package's rows for `years` and mark them complete (the seed migration,
    the test fixtures and `holidays_import --from-chinesecalendar` all use this).

    Each year's existing rows are replaced. Raises `NotImplementedError` before writing
    anything if the package does not know one of the years. Returns the rows written.
    """
    computed = {year: chinesecalendar_rows(year) for year in years}
    written = 0
    with transaction.atomic():
        for year, rows in computed.items():
            written += replace_year(
                year,
                rows,
                row_source=CalendarSource.CHINESECALENDAR,
                year_source=CalendarSource.CHINESECALENDAR,
                note="chinesecalendar",
                holiday_model=holiday_model,
                year_model=year_model,
            )
    return written


def unseed_chinesecalendar(
    years: Iterable[int] = PACKAGE_YEARS,
    *,
    holiday_model: Any = Holiday,
    year_model: Any = CalendarYear,
) -> None:
    """Undo `seed_from_chinesecalendar`: delete the package's rows and year marks for
    `years`, leaving anything an administrator entered."""
    years = list(years)
    source = CalendarSource.CHINESECALENDAR
    with transaction.atomic():
        holiday_model.objects.filter(date__year__in=years, source=source).delete()
        year_model.objects.filter(year__in=years, source=source).delete()


@dataclass
class YearFile:
    """A year's CSV read and checked: the rows to write, every problem, and the rows
    skipped as harmless (a holiday on a weekend is a day off anyway)."""

    rows: list[CalendarRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read_year_csv(text: str, *, year: int) -> YearFile:
    """Read a `date,kind,name` CSV for `year` (the State Council's notice, typed in).

    Every row is checked and every problem reported with its line number, so an
    administrator fixes the file in one go; the caller writes nothing if there is any.
    A header row `date,kind,name`, blank lines and lines starting with `#` are ignored.
    """
    result = YearFile()
    seen: dict[date, int] = {}
    lines = text.lstrip("\ufeff").splitlines()
    for line_no, cells in enumerate(csv.reader(lines), start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if [cell.lower() for cell in cells] == ["date", "kind", "name"]:
            continue
        result_row = _read_row(line_no, cells, year=year, seen=seen, result=result)
        if result_row is not None:
            result.rows.append(result_row)
    if not result.rows and not result.problems:
        result.problems.append(gettext("The file has no rows for %(year)s.") % {"year": year})
    return result


def _read_row(
    line_no: int, cells: list[str], *, year: int, seen: dict[date, int], result: YearFile
) -> CalendarRow | None:
    def problem(message: str) -> None:
        result.problems.append(
            gettext("Line %(line)s: %(problem)s") % {"line": line_no, "problem": message}
        )

    if len(cells) not in (2, 3):
        problem(gettext("expected three columns: date,kind,name."))
        return None
    raw_date, kind = cells[0], cells[1]
    name = cells[2] if len(cells) == 3 else ""
    ok = True
    try:
        day: date | None = date.fromisoformat(raw_date) if _ISO_DATE.match(raw_date) else None
    except ValueError:  # 2027-02-30
        day = None
    if day is None:
        problem(
            gettext("“%(value)s” is not a valid date written YYYY-MM-DD.") % {"value": raw_date}
        )
        ok = False
    elif day.year != year:
        problem(gettext("%(date)s is not in %(year)s.") % {"date": day.isoformat(), "year": year})
        ok = False
    elif day in seen:
        problem(
            gettext("%(date)s is already on line %(line)s.")
            % {"date": day.isoformat(), "line": seen[day]}
        )
        ok = False
    else:
        seen[day] = line_no
    if kind not in (HOLIDAY, WORKDAY):
        problem(gettext("the kind “%(value)s” must be holiday or workday.") % {"value": kind})
        ok = False
    if len(name) > 64:  # Holiday.name's max_length
        problem(gettext("the name is longer than 64 characters."))
        ok = False
    if not ok or day is None:
        return None
    weekend = day.weekday() >= 5
    if kind == WORKDAY and not weekend:
        problem(
            gettext("%(date)s is a weekday, a working day anyway: is the date wrong?")
            % {"date": day.isoformat()}
        )
        return None
    if kind == HOLIDAY and weekend:
        result.skipped.append(
            gettext("Line %(line)s: %(date)s is a weekend day, a day off anyway; not stored.")
            % {"line": line_no, "date": day.isoformat()}
        )
        return None
    return CalendarRow(day, kind, name)


# --------------------------------------------------------------------------- helpers


def _local(moment: datetime) -> datetime:
    """`moment` in Asia/Shanghai; a naive datetime is refused (its zone is a guess)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if timezone.is_naive(moment):
        raise ValueError("working-time computations need a timezone-aware datetime")
    return moment.astimezone(CHINA_TZ)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=CHINA_TZ)
