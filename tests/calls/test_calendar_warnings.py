"""The admin home and the overdue board warn while the holiday table does not cover the
years deadlines fall in (then only weekends count)."""

from __future__ import annotations

from django.utils import timezone

from xianghu.core.models import CalendarYear


def test_warnings_until_the_years_are_covered(world, client):
    year = timezone.localdate().year
    world.login(client, "operator")
    board = client.get("/calls/overdue/").content.decode()
    assert 'data-testid="calendar-warning"' in board
    assert str(year) in board
    world.login(client, "admin")
    home = client.get("/admin/").content.decode()
    assert 'data-testid="calendar-warning"' in home
    for y in (year, year + 1):
        CalendarYear.objects.create(year=y, complete=True)
    assert 'data-testid="calendar-warning"' not in client.get("/admin/").content.decode()
    world.login(client, "operator")
    assert 'data-testid="calendar-warning"' not in client.get("/calls/overdue/").content.decode()
