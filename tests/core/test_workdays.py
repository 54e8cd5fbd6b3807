"""The statutory working calendar (core.workdays): the table, the counting rules, the
seed migration, `holidays_import`, coverage warnings and the admin."""

from __future__ import annotations

import importlib
import time as clock
from datetime import date, datetime, time, timedelta

import chinese_calendar
import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from xianghu.core import workdays as wd
from xianghu.core.models import CalendarYear, Holiday
from xianghu.core.workdays import (
    CHINA_TZ,
    DEFAULT_HOURS,
    HolidayCalendar,
    WorkingHours,
    add_working_days,
    add_working_hours,
    coverage_warnings,
    deadline,
    is_working_day,
    seed_from_chinesecalendar,
    uncovered_years,
    working_time_between,
)

SEED_YEARS = range(2023, 2027)


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=CHINA_TZ)


def days(start: date, end: date):
    while start <= end:
        yield start
        start += timedelta(days=1)


@pytest.fixture
def calendar_table(db):
    """The table as the seed migration leaves it, for the years the tests use."""
    seed_from_chinesecalendar(SEED_YEARS)


def package_calendar() -> HolidayCalendar:
    """A calendar built in memory from the package (no database): for property tests.

    Years up to 2040 count as loaded (2027+ without rows and uncovered), so a walk that
    runs past 2026 never queries.
    """
    rows = {r.date: r.kind for year in wd.PACKAGE_YEARS for r in wd.chinesecalendar_rows(year)}
    return HolidayCalendar(days=rows, loaded=set(range(2004, 2041)), covered=set(wd.PACKAGE_YEARS))


PACKAGE_CAL = package_calendar()


def package_next_workday(day: date) -> date:
    day += timedelta(days=1)
    while not chinese_calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def package_add_working_days(start: datetime, n: int) -> datetime:
    """The counting rule of docs/workdays.md, on the package's own answers."""
    day = start.date()
    if not chinese_calendar.is_workday(day) or start.time() > time(17, 30):
        day = package_next_workday(day)
    for _ in range(n):
        day = package_next_workday(day)
    return datetime.combine(day, time(17, 30), tzinfo=CHINA_TZ)


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("day", "working"),
    [
        *[(date(2024, 10, d), False) for d in range(1, 8)],  # National Day 2024
        (date(2024, 9, 29), True),  # Sunday, swapped working day
        (date(2024, 10, 12), True),  # Saturday, swapped working day
        (date(2024, 10, 8), True),
        (date(2025, 1, 26), True),  # Sunday before Spring Festival 2025
        (date(2025, 2, 8), True),  # Saturday after it
        *[(date(2025, 1, 28) + timedelta(days=i), False) for i in range(8)],  # 01-28..02-04
        (date(2025, 2, 5), True),
        (date(2026, 2, 14), True),  # Saturday before Spring Festival 2026
        (date(2026, 2, 16), False),
        (date(2026, 10, 1), False),
        (date(2026, 10, 10), True),
        (date(2024, 11, 9), False),  # an ordinary Saturday
        (date(2024, 11, 11), True),  # an ordinary Monday
    ],
)
def test_known_days(calendar_table, day, working):
    assert is_working_day(day) is working


def test_table_agrees_with_the_package_on_every_seeded_day(calendar_table):
    calendar = HolidayCalendar.load(SEED_YEARS[0], SEED_YEARS[-1])
    wrong = [
        d
        for d in days(date(SEED_YEARS[0], 1, 1), date(SEED_YEARS[-1], 12, 31))
        if calendar.is_working_day(d) != chinese_calendar.is_workday(d)
    ]
    assert wrong == []
    assert calendar.warnings == []


def test_seed_stores_only_exceptions_with_chinese_names(calendar_table):
    rows = Holiday.objects.all()
    assert all((r.kind == "holiday") == (r.date.weekday() < 5) for r in rows), (
        "a holiday row on a weekend or a workday row on a weekday"
    )
    assert Holiday.objects.get(date=date(2024, 10, 1)).name == "国庆节"
    assert Holiday.objects.get(date=date(2024, 9, 29)).name == "国庆节"
    assert Holiday.objects.get(date=date(2025, 1, 28)).name == "春节"
    assert set(rows.values_list("source", flat=True)) == {"chinesecalendar"}
    assert set(rows.values_list("name", flat=True)) <= set(wd.HOLIDAY_NAMES.values())
    years = CalendarYear.objects.filter(year__in=SEED_YEARS)
    assert [(y.year, y.complete, y.source) for y in years.order_by("year")] == [
        (y, True, "chinesecalendar") for y in SEED_YEARS
    ]


def test_package_names_are_all_mapped():
    assert {h.value for h in chinese_calendar.Holiday} == set(wd.HOLIDAY_NAMES)
    row = next(r for r in wd.chinesecalendar_rows(2015) if r.date == date(2015, 9, 3))
    assert row.name == "抗战胜利70周年纪念日"


def test_reseeding_replaces_rows_and_keeps_other_years(calendar_table):
    before = Holiday.objects.count()
    Holiday.objects.filter(date=date(2025, 1, 28)).delete()
    seed_from_chinesecalendar([2025])
    assert Holiday.objects.count() == before


def test_seed_refuses_a_year_the_package_does_not_know(db):
    with pytest.raises(NotImplementedError):
        seed_from_chinesecalendar([2026, 2027])
    assert not Holiday.objects.exists()  # 2026 was not written either


def test_model_keeps_the_table_to_exceptions():
    with pytest.raises(ValidationError):
        Holiday(date=date(2031, 1, 6), kind="workday", name="x", source="notice").clean()
    with pytest.raises(ValidationError):
        Holiday(date=date(2031, 1, 4), kind="holiday", name="x", source="notice").clean()
    Holiday(date=date(2031, 1, 4), kind="workday", name="x", source="notice").clean()


# --------------------------------------------------------------------------- the migration


def _migration():
    return importlib.import_module("xianghu.core.migrations.0003_seed_holidays")


def test_seed_migration_writes_every_package_year_fast_and_reverses(db):
    # pytest runs with --no-migrations; read the real migration files for the history.
    with override_settings(MIGRATION_MODULES={}):
        loader = MigrationLoader(connection)
    state_apps = loader.project_state(("core", "0003_seed_holidays")).apps
    migration = _migration()
    started = clock.perf_counter()
    migration.seed(state_apps, None)
    elapsed = clock.perf_counter() - started
    assert elapsed < 5, elapsed
    expected = sum(len(wd.chinesecalendar_rows(y)) for y in wd.PACKAGE_YEARS)
    assert Holiday.objects.count() == expected
    assert set(CalendarYear.objects.filter(complete=True).values_list("year", flat=True)) == set(
        wd.PACKAGE_YEARS
    )
    # An administrator's row survives the reverse migration; the seeded ones do not.
    Holiday.objects.create(date=date(2031, 1, 1), kind="holiday", name="元旦", source="notice")
    CalendarYear.objects.create(year=2031, complete=True, source="notice")
    migration.unseed(state_apps, None)
    assert list(Holiday.objects.values_list("date", flat=True)) == [date(2031, 1, 1)]
    assert list(CalendarYear.objects.values_list("year", flat=True)) == [2031]


def test_seed_migration_with_the_current_models(db):
    _migration().seed(django_apps, None)
    assert is_working_day(date(2015, 9, 3)) is False
    assert is_working_day(date(2015, 9, 6)) is True  # Sunday, worked for the 70th anniversary


# --------------------------------------------------------------------------- working days


def test_national_day_week_2024(calendar_table):
    assert add_working_days(at(2024, 9, 30, 10), 1) == at(2024, 10, 8, 17, 30)
    assert add_working_days(at(2024, 9, 30, 10), 0) == at(2024, 9, 30, 17, 30)
    # Friday 27 Sep: Sunday the 29th is a working day.
    assert add_working_days(at(2024, 9, 27, 10), 1) == at(2024, 9, 29, 17, 30)
    assert add_working_days(at(2024, 9, 27, 10), 2) == at(2024, 9, 30, 17, 30)
    assert add_working_days(at(2024, 9, 27, 10), 3) == at(2024, 10, 8, 17, 30)
    # Friday 11 Oct: Saturday the 12th is a working day.
    assert add_working_days(at(2024, 10, 11, 10), 1) == at(2024, 10, 12, 17, 30)


def test_spring_festival_2025(calendar_table):
    assert add_working_days(at(2025, 1, 24, 10), 1) == at(2025, 1, 26, 17, 30)
    assert add_working_days(at(2025, 1, 24, 10), 2) == at(2025, 1, 27, 17, 30)
    assert add_working_days(at(2025, 1, 24, 10), 3) == at(2025, 2, 5, 17, 30)
    assert add_working_days(at(2025, 2, 7, 10), 1) == at(2025, 2, 8, 17, 30)
    # Received during the holiday: day 0 is the first working day after it.
    assert add_working_days(at(2025, 1, 30, 10), 1) == at(2025, 2, 6, 17, 30)


def test_five_working_days_from_friday_morning_end_next_friday(calendar_table):
    """The documented rule: the day of receipt is day 0, not day 1."""
    assert add_working_days(at(2024, 11, 8, 10), 5) == at(2024, 11, 15, 17, 30)


@pytest.mark.parametrize(
    ("hh", "mm", "ss", "expected_day"),
    [
        (0, 0, 0, 13),
        (8, 29, 0, 13),  # before office hours: still that day
        (12, 30, 0, 13),  # lunch break
        (17, 30, 0, 13),  # the end of the working day itself still counts as that day
        (17, 30, 1, 14),  # after it: as if received next morning
        (17, 31, 0, 14),
        (23, 59, 59, 14),
    ],
)
def test_boundary_times_on_a_working_day(calendar_table, hh, mm, ss, expected_day):
    # Tuesday 12 Nov 2024
    assert add_working_days(at(2024, 11, 12, hh, mm, ss), 1) == at(2024, 11, expected_day, 17, 30)


def test_received_on_a_weekend(calendar_table):
    # Saturday 9 Nov 2024: day 0 is Monday the 11th.
    assert add_working_days(at(2024, 11, 9, 10), 0) == at(2024, 11, 11, 17, 30)
    assert add_working_days(at(2024, 11, 9, 10), 1) == at(2024, 11, 12, 17, 30)
    # Friday after hours behaves like Saturday.
    assert add_working_days(at(2024, 11, 8, 18), 1) == at(2024, 11, 12, 17, 30)


def test_times_in_another_zone_are_read_in_shanghai(calendar_table):
    from datetime import UTC

    utc_start = datetime(2024, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    result = add_working_days(utc_start, 1)
    assert result == at(2024, 10, 8, 17, 30)
    assert result.tzinfo == CHINA_TZ
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(datetime(2024, 9, 30, 10), 1)


def test_brute_force_against_the_package(calendar_table):
    calendar = HolidayCalendar.load(2023, 2027)
    checked = 0
    for day in days(date(2023, 1, 1), date(2026, 10, 31)):
        for hh, mm in ((8, 29), (17, 30), (17, 31)):
            start = at(day.year, day.month, day.day, hh, mm)
            for n in (0, 1, 5, 15):
                got = add_working_days(start, n, calendar=calendar)
                assert got == package_add_working_days(start, n), (start, n)
                checked += 1
    assert checked > 15_000
    assert calendar.warnings == []


starts = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2025, 12, 31, 23, 59)).map(
    lambda d: d.replace(tzinfo=CHINA_TZ)
)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(0, 40))
def test_result_is_the_end_of_a_working_day(start, n):
    result = add_working_days(start, n, calendar=PACKAGE_CAL)
    assert chinese_calendar.is_workday(result.date())
    assert result.timetz() == time(17, 30, tzinfo=CHINA_TZ)
    assert result >= start
    assert result == package_add_working_days(start, n)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(0, 30), m=st.integers(0, 30))
def test_adding_n_then_m_is_adding_n_plus_m(start, n, m):
    """Guaranteed for every start and n, m >= 0: a result lies at the end of a working
    day, which the rule still counts as that day's day 0."""
    first = add_working_days(start, n, calendar=PACKAGE_CAL)
    assert add_working_days(first, m, calendar=PACKAGE_CAL) == add_working_days(
        start, n + m, calendar=PACKAGE_CAL
    )


@settings(max_examples=300, deadline=None)
@given(a=starts, b=starts, n=st.integers(0, 20))
def test_a_later_start_never_gives_an_earlier_deadline(a, b, n):
    a, b = min(a, b), max(a, b)
    assert add_working_days(a, n, calendar=PACKAGE_CAL) <= add_working_days(
        b, n, calendar=PACKAGE_CAL
    )


# --------------------------------------------------------------------------- working hours


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        (at(2024, 11, 8, 16, 30), 2, at(2024, 11, 11, 9, 30)),  # Friday → Monday
        (at(2024, 11, 12, 11), 2, at(2024, 11, 12, 14, 30)),  # over lunch
        (at(2024, 11, 12, 10), 2, at(2024, 11, 12, 12)),  # ends at the end of the morning
        (at(2024, 11, 12, 12, 30), 1, at(2024, 11, 12, 14, 30)),  # starts in the break
        (at(2024, 11, 12, 8), 1, at(2024, 11, 12, 9, 30)),  # before office hours
        (at(2024, 11, 12, 17, 31), 1, at(2024, 11, 13, 9, 30)),  # after them
        (at(2024, 11, 12, 8, 30), 7.5, at(2024, 11, 12, 17, 30)),  # one working day
        (at(2024, 11, 12, 10), 0.25, at(2024, 11, 12, 10, 15)),
        (at(2024, 9, 30, 16, 30), 2, at(2024, 10, 8, 9, 30)),  # National Day week
        (at(2025, 2, 7, 16, 30), 2, at(2025, 2, 8, 9, 30)),  # into a working Saturday
        (at(2024, 11, 9, 10), 0, at(2024, 11, 9, 10)),  # zero hours: the start itself
    ],
)
def test_add_working_hours(calendar_table, start, amount, expected):
    assert add_working_hours(start, amount) == expected


def test_working_time_between(calendar_table):
    assert working_time_between(at(2024, 11, 8, 16, 30), at(2024, 11, 11, 9, 30)) == timedelta(
        hours=2
    )
    assert working_time_between(at(2024, 11, 12, 8), at(2024, 11, 12, 20)) == timedelta(
        hours=7, minutes=30
    )
    assert working_time_between(at(2024, 9, 30, 17), at(2024, 10, 8, 9)) == timedelta(minutes=60)
    assert working_time_between(at(2024, 11, 11, 9, 30), at(2024, 11, 8, 16, 30)) == -timedelta(
        hours=2
    )
    assert working_time_between(at(2024, 11, 9, 10), at(2024, 11, 10, 10)) == timedelta()


@settings(max_examples=300, deadline=None)
@given(
    start=starts,
    amount=st.one_of(st.integers(0, 200), st.floats(0, 200, allow_nan=False, allow_infinity=False)),
)
def test_working_time_between_inverts_add_working_hours(start, amount):
    end = add_working_hours(start, amount, calendar=PACKAGE_CAL)
    assert working_time_between(start, end, calendar=PACKAGE_CAL) == timedelta(hours=amount)
    if timedelta(hours=amount):  # (a tiny float rounds to zero microseconds)
        # The end is inside (or at the end of) a working period of a working day.
        assert chinese_calendar.is_workday(end.date())
        assert any(s < end.time() <= e for s, e in DEFAULT_HOURS.periods)


# --------------------------------------------------------------------------- deadline, hours


def test_deadline_units(calendar_table):
    friday = at(2024, 9, 27, 10)
    assert deadline(friday, 30, "m") == at(2024, 9, 27, 10, 30)
    assert deadline(friday, 24, "h") == at(2024, 9, 28, 10)  # clock time: Saturday
    assert deadline(friday, 2, "d") == at(2024, 9, 29, 10)
    assert deadline(friday, 3, "wd") == at(2024, 10, 8, 17, 30)
    assert deadline(friday, 8, "wh") == at(2024, 9, 29, 10, 30)  # Sunday 29th is worked
    with pytest.raises(ValueError, match="unknown"):
        deadline(friday, 1, "w")
    with pytest.raises(ValueError, match="negative"):
        deadline(friday, -1, "wd")


def test_county_working_hours(calendar_table):
    hours = WorkingHours(morning=(time(9), time(12)), afternoon=(time(14), time(18)))
    assert hours.per_day == timedelta(hours=7)
    assert DEFAULT_HOURS.per_day == timedelta(hours=7, minutes=30)
    assert add_working_days(at(2024, 11, 12, 17, 45), 1, hours=hours) == at(2024, 11, 13, 18)
    assert add_working_hours(at(2024, 11, 12, 17), 2, hours=hours) == at(2024, 11, 13, 10)
    with pytest.raises(ValueError, match="morning start < morning end"):
        WorkingHours(morning=(time(12), time(9)))
    with pytest.raises(ValueError, match="morning start < morning end"):
        WorkingHours(morning=(time(8), time(14)), afternoon=(time(13), time(17)))


# --------------------------------------------------------------------------- queries


def test_one_query_to_load_and_none_to_compute(calendar_table, django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar = HolidayCalendar.load(2024, 2027)
    start = at(2024, 1, 1, 9)
    with django_assert_num_queries(0):
        for i in range(1000):
            moment = start + timedelta(hours=17 * i)
            unit = ("wd", "wh", "h", "m", "d")[i % 5]
            deadline(moment, 1 + i % 15, unit, calendar=calendar)
            is_working_day(moment.date(), calendar=calendar)
        assert calendar.covers(2025)
        assert not calendar.covers(2027)


def test_without_a_calendar_the_function_loads_what_it_needs(
    calendar_table, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert is_working_day(date(2024, 10, 8))
    calendar = HolidayCalendar.load(2024, 2024)
    with django_assert_num_queries(1):  # the walk runs into 2025: loaded on first use
        assert add_working_days(at(2024, 12, 31, 10), 1, calendar=calendar) == at(
            2025, 1, 2, 17, 30
        )


# --------------------------------------------------------------------------- coverage


def write_csv(tmp_path, text: str, name: str = "notice.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


NOTICE_2031 = """date,kind,name
# test data, not a real notice
2031-01-01,holiday,元旦
2031-01-02,holiday,元旦
2031-01-03,holiday,元旦
2031-01-05,workday,元旦
2031-10-01,holiday,国庆节
"""


def test_an_uncovered_year_counts_weekends_and_warns(calendar_table, tmp_path):
    assert uncovered_years([2025, 2031]) == [2031]
    calendar = HolidayCalendar.load(2031, 2031)
    assert calendar.is_working_day(date(2031, 1, 1))  # a Wednesday; the notice is missing
    assert not calendar.is_working_day(date(2031, 1, 5))  # a Sunday
    assert [w.year for w in calendar.warnings] == [2031]
    assert add_working_days(at(2030, 12, 31, 10), 1) == at(2031, 1, 1, 17, 30)
    with translation.override("en"):
        assert coverage_warnings(years_ahead=0, today=date(2031, 3, 1)) == [
            "The holiday table does not cover 2031: deadlines in that year count weekends "
            "only. Add the year from the State Council's notice."
        ]
        assert coverage_warnings(years_ahead=1, today=date(2025, 6, 1)) == []
        # Next year (2027) from November, when its notice is due and deadlines reach it.
        assert coverage_warnings(years_ahead=1, today=date(2026, 6, 1)) == []
        assert len(coverage_warnings(years_ahead=1, today=date(2026, 11, 1))) == 1
        assert len(coverage_warnings(today=date(2026, 6, 1), ahead_from_month=1)) == 1

    call_command("holidays_import", year=2031, file=write_csv(tmp_path, NOTICE_2031))

    assert coverage_warnings(years_ahead=0, today=date(2031, 3, 1)) == []
    assert uncovered_years([2031]) == []
    calendar = HolidayCalendar.load(2031, 2031)
    assert not calendar.is_working_day(date(2031, 1, 1))
    assert calendar.is_working_day(date(2031, 1, 5))
    assert calendar.warnings == []
    assert add_working_days(at(2030, 12, 31, 10), 1) == at(2031, 1, 5, 17, 30)
    year = CalendarYear.objects.get(year=2031)
    assert (year.complete, year.source, year.note) == (True, "notice", "notice.csv")
    assert set(Holiday.objects.filter(date__year=2031).values_list("source", flat=True)) == {
        "import"
    }


def test_rows_of_an_incomplete_year_are_used_but_it_still_warns(db):
    Holiday.objects.create(date=date(2031, 1, 1), kind="holiday", name="元旦", source="notice")
    calendar = HolidayCalendar.load(2031, 2031)
    assert not calendar.is_working_day(date(2031, 1, 1))
    assert not calendar.covers(2031)
    assert uncovered_years([2031]) == [2031]


def test_coverage_message_in_chinese_is_a_translation_or_the_english_text():
    message = wd.CoverageWarning(2031).message
    assert "2031" in message


# --------------------------------------------------------------------------- holidays_import


BROKEN_2031 = """date,kind,name
2031-01-01,holiday,元旦
2031-13-01,holiday,坏日期
2030-05-01,holiday,别的年份
2031-01-01,holiday,重复
2031-01-06,workday,周一不需要调休上班
2031-02-03,off,未知类型
2031-02-04,holiday,名字,多一列
2031/02/05,holiday,斜杠日期
2031-02-06,holiday,{long}
""".format(long="长" * 65)


def test_a_broken_csv_reports_every_problem_and_saves_nothing(db, tmp_path):
    Holiday.objects.create(date=date(2031, 5, 1), kind="holiday", name="劳动节", source="notice")
    CalendarYear.objects.create(year=2031, complete=False, source="notice")
    with translation.override("en"), pytest.raises(CommandError) as excinfo:
        call_command("holidays_import", year=2031, file=write_csv(tmp_path, BROKEN_2031))
    message = str(excinfo.value)
    assert "8 problem(s); nothing was saved" in message
    for line in range(3, 11):
        assert f"Line {line}:" in message
    assert "Line 2:" not in message
    assert "2031-01-01 is already on line 2" in message
    assert "2031-01-06 is a weekday" in message
    assert "“off” must be holiday or workday" in message
    assert list(Holiday.objects.values_list("date", flat=True)) == [date(2031, 5, 1)]
    assert CalendarYear.objects.get(year=2031).complete is False


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"date,kind,name\n", "no rows for 2031"),
        (b"# nothing\n\n", "no rows for 2031"),
        ("2031-01-01,holiday,元旦\n".encode("gb18030"), "not UTF-8"),
    ],
)
def test_empty_or_undecodable_files_are_refused(db, tmp_path, content, expected):
    path = tmp_path / "notice.csv"
    path.write_bytes(content)
    with translation.override("en"), pytest.raises(CommandError, match=expected):
        call_command("holidays_import", year=2031, file=path)
    assert not CalendarYear.objects.exists()


def test_import_replaces_the_year_and_skips_weekend_holidays(db, tmp_path):
    Holiday.objects.create(date=date(2031, 5, 1), kind="holiday", name="劳动节", source="notice")
    Holiday.objects.create(date=date(2030, 5, 1), kind="holiday", name="劳动节", source="notice")
    text = "\ufeff" + NOTICE_2031 + "2031-01-04,holiday,元旦\n"  # BOM as Excel writes it
    out = _call("holidays_import", year=2031, file=write_csv(tmp_path, text), note="测试")
    assert "2031-01-04 is a weekend day" in out
    assert "5 rows written (4 weekday holidays, 1 weekend working days)" in out
    assert sorted(Holiday.objects.values_list("date", flat=True)) == [
        date(2030, 5, 1),
        date(2031, 1, 1),
        date(2031, 1, 2),
        date(2031, 1, 3),
        date(2031, 1, 5),
        date(2031, 10, 1),
    ]
    assert CalendarYear.objects.get(year=2031).note == "测试"


def test_import_from_chinesecalendar(db):
    Holiday.objects.create(date=date(2025, 3, 3), kind="holiday", name="错", source="notice")
    out = _call("holidays_import", year=2025, from_chinesecalendar=True)
    assert "from chinesecalendar" in out
    assert Holiday.objects.count() == len(wd.chinesecalendar_rows(2025))
    assert not Holiday.objects.filter(date=date(2025, 3, 3)).exists()
    assert CalendarYear.objects.get(year=2025).complete
    with translation.override("en"), pytest.raises(CommandError, match="does not know 2027"):
        call_command("holidays_import", year=2027, from_chinesecalendar=True)
    assert not CalendarYear.objects.filter(year=2027).exists()


def _call(*args, **kwargs) -> str:
    from io import StringIO

    out = StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


# --------------------------------------------------------------------------- admin


@pytest.fixture
def admin_client_(db, client):
    from tests import factories as f

    user = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_admin_lists_and_marks_years(calendar_table, admin_client_):
    r = admin_client_.get("/admin/core/holiday/", {"year": "2024", "kind": "workday"})
    assert r.status_code == 200
    assert (
        r.context["cl"].result_count
        == Holiday.objects.filter(date__year=2024, kind="workday").count()
    )
    r = admin_client_.get("/admin/core/calendaryear/")
    assert r.status_code == 200
    row = next(y for y in r.context["cl"].result_list if y.year == 2024)
    assert row.row_count == Holiday.objects.filter(date__year=2024).count()
    # The coverage warnings show on the page (the table here ends with 2026).
    today = date.today()
    if today.year > 2026 or (today.year == 2026 and today.month >= 11):
        assert any("2027" in str(m) for m in r.context["messages"])

    year = CalendarYear.objects.create(year=2031, complete=False)
    r = admin_client_.post(
        "/admin/core/calendaryear/",
        {"action": "mark_complete", "_selected_action": [year.pk]},
    )
    assert r.status_code == 302
    year.refresh_from_db()
    assert year.complete

    day = Holiday.objects.create(date=date(2032, 1, 1), kind="holiday", name="元旦")
    r = admin_client_.post(
        "/admin/core/holiday/",
        {"action": "mark_years_complete", "_selected_action": [day.pk]},
    )
    assert r.status_code == 302
    assert CalendarYear.objects.get(year=2032).complete


def test_admin_form_refuses_a_redundant_row(db, admin_client_):
    r = admin_client_.post(
        "/admin/core/holiday/add/",
        {"date": "2031-01-06", "kind": "workday", "name": "x", "source": "notice"},
    )
    assert r.status_code == 200  # the form again, with the error
    assert not Holiday.objects.exists()
