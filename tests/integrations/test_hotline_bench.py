"""The benchmark's data and import, small: 2,000 synthetic GBK tickets (bench/hotline_import_lib.py)
go in with the importer, the planted bad rows are reported, a second run updates them all.
On PostgreSQL the checks run in SQL (hotline/sqlcheck.py); outside a test transaction two
writer threads write the batches (the pipelined writers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from bench.hotline_import_lib import places_of, write_tickets
from tests.conftest import World
from xianghu.integrations.hotline import importer, services
from xianghu.integrations.hotline.models import RunStatus, Ticket


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def _run_twice(world: World, tmp_path: Path, batch: int) -> None:
    written = write_tickets(
        tmp_path / "t.csv", rows=2000, places=places_of(world.county.code), county_code="371221"
    )
    planted = written.bad_dates + written.duplicates + written.outside
    assert planted > 0
    source = services.source_ensure(actor=None, county=world.county, name="bench")
    run = importer.run_import(
        run=services.run_for_file(source=source, path=written.path), batch_size=batch
    )
    assert run.status == RunStatus.DONE, run.message
    assert run.total == 2000
    assert run.failed == planted
    assert run.inserted == 2000 - planted
    assert Ticket.objects.count() == run.inserted
    codes = {e["code"] for e in run.errors}
    assert codes <= {"hotline.bad_date", "hotline.duplicate_in_file", "hotline.outside_county"}
    again = importer.run_import(
        run=services.run_for_file(source=source, path=written.path), batch_size=batch
    )
    assert (again.inserted, again.updated, again.failed) == (0, run.inserted, planted)
    assert Ticket.objects.filter(township__isnull=False).count() == run.inserted


def test_two_thousand_tickets(world: World, tmp_path: Path) -> None:
    _run_twice(world, tmp_path, 300)


@pytest.mark.django_db(transaction=True)
def test_two_thousand_tickets_pipelined_on_postgresql(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pipelined writer runs on PostgreSQL only")
    threaded: list[bool] = []
    original = importer.Pipeline.__init__

    def spy(self: Any, *args: Any) -> None:
        original(self, *args)
        threaded.append(self.threaded)

    monkeypatch.setattr(importer.Pipeline, "__init__", spy)
    _run_twice(world, tmp_path, 300)
    assert threaded == [True, True]
