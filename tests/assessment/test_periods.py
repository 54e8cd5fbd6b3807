"""Assessment periods: the four ways to write one, their bounds, and bad input."""

from __future__ import annotations

from datetime import date

import pytest

from tests.assessment.conftest import t
from xianghu.assessment.periods import Period
from xianghu.core.errors import InvalidInput

TODAY = date(2026, 10, 20)


@pytest.mark.parametrize(
    ("text", "start", "end", "kind", "key"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31), "month", "2026-10"),
        ("2024-2", date(2024, 2, 1), date(2024, 2, 29), "month", "2024-02"),  # leap year
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28), "month", "2025-02"),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31), "month", "2025-12"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "quarter", "2026-Q3"),
        ("2026q1", date(2026, 1, 1), date(2026, 3, 31), "quarter", "2026-Q1"),
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31), "quarter", "2025-Q4"),
        ("2025", date(2025, 1, 1), date(2025, 12, 31), "year", "2025"),
        (
            " 2026-09-01..2026-10-15 ",
            date(2026, 9, 1),
            date(2026, 10, 15),
            "range",
            "2026-09-01..2026-10-15",
        ),
        (
            "2026-10-20..2026-10-20",
            date(2026, 10, 20),
            date(2026, 10, 20),
            "range",
            "2026-10-20..2026-10-20",
        ),
        # The current periods are accepted though they have not ended.
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "year", "2026"),
        (
            "2026-10-01..2026-12-31",
            date(2026, 10, 1),
            date(2026, 12, 31),
            "range",
            "2026-10-01..2026-12-31",
        ),
    ],
)
def test_the_four_forms(text, start, end, kind, key):
    period = Period.parse(text, today=TODAY)
    assert (period.start, period.end, period.kind, period.key) == (start, end, kind, key)
    assert Period.parse(period.key, today=TODAY) == period


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "assessment.period_required"),
        ("   ", "assessment.period_required"),
        (None, "assessment.period_required"),
        ("2026-13", "assessment.period_invalid"),
        ("2026-00", "assessment.period_invalid"),
        ("2026-Q5", "assessment.period_invalid"),
        ("2026-02-30..2026-03-01", "assessment.period_invalid"),
        ("last month", "assessment.period_invalid"),
        ("2026-10-01..", "assessment.period_invalid"),
        ("26-10", "assessment.period_invalid"),
        ("2026-10-15..2026-09-01", "assessment.period_reversed"),
        ("2026-11", "assessment.period_future"),
        ("2026-Q4", "assessment.period_future"),  # begins 10-01: accepted, see below
        ("2027", "assessment.period_future"),
        ("2026-10-21..2026-10-30", "assessment.period_future"),
        ("2000-01-01..2026-01-01", "assessment.period_too_long"),
    ],
)
def test_bad_periods_are_refused_with_a_code(text, code):
    if text == "2026-Q4":
        assert Period.parse(text, today=TODAY).key == "2026-Q4"
        with pytest.raises(InvalidInput) as exc:
            Period.parse(text, today=date(2026, 9, 30))
    else:
        with pytest.raises(InvalidInput) as exc:
            Period.parse(text, today=TODAY)
    assert exc.value.code == code
    assert exc.value.detail == [{"field": "period", "message": exc.value.detail[0]["message"]}]


def test_the_bounds_are_whole_days_in_asia_shanghai():
    march = Period.month(2025, 3)
    assert march.starts_at == t(2025, 3, 1)
    assert march.ends_at == t(2025, 4, 1)
    assert march.day_count == 31
    # 23:59 on the last day is in March; 00:00 the next day is April's.
    assert march.starts_at <= t(2025, 3, 31, 23, 59) < march.ends_at
    assert not t(2025, 4, 1) < march.ends_at


def test_previous_containment_and_months():
    assert Period.month(2025, 1).previous() == Period.month(2024, 12)
    assert Period.month(2025, 3).previous() == Period.month(2025, 2)
    assert Period.quarter(2025, 1).previous() == Period.quarter(2024, 4)
    assert Period.quarter(2025, 3).previous() == Period.quarter(2025, 2)
    assert Period.year(2025).previous() == Period.year(2024)
    span = Period.days(date(2025, 3, 11), date(2025, 3, 20))
    assert span.previous() == Period.days(date(2025, 3, 1), date(2025, 3, 10))
    assert Period.quarter(2025, 1).contains(Period.month(2025, 3))
    assert not Period.month(2025, 3).contains(Period.quarter(2025, 1))
    assert Period.year(2025).contains(Period.year(2025))
    assert not span.contains(Period.month(2025, 3))
    assert [p.key for p in Period.quarter(2025, 1).months()] == ["2025-01", "2025-02", "2025-03"]
    assert [p.key for p in Period.days(date(2024, 12, 20), date(2025, 1, 5)).months()] == [
        "2024-12",
        "2025-01",
    ]
    assert Period.month(2025, 3).is_over(today=date(2025, 4, 1))
    assert not Period.month(2025, 3).is_over(today=date(2025, 3, 31))
