"""Re-importing tickets updates them in place on PostgreSQL (HOT updates): no index holds a
column an import changes on every ticket, and the table's fillfactor (migration 0002)
leaves room on each page for the new versions (docs/benchmarks.md, "12345 hotline
import")."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from bench.hotline_import_lib import places_of, write_tickets
from tests.conftest import World
from xianghu.integrations.hotline import importer, services
from xianghu.integrations.hotline.models import RunStatus, Ticket

migration = importlib.import_module("xianghu.integrations.migrations.0002_ticket_hot_updates")

# What an import writes on every ticket it updates (besides the file's own columns).
WRITTEN_EVERY_TIME = {"updated_at", "import_run", "source"}


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def _indexed_fields() -> set[str]:
    fields: set[str] = set()
    meta = Ticket._meta
    for index in [*meta.indexes, *meta.constraints]:
        fields.update(f.lstrip("-") for f in getattr(index, "fields", ()))
        condition = getattr(index, "condition", None)
        if condition is not None:
            fields.update(str(child[0]).split("__")[0] for child in condition.children)
    return fields


def test_no_index_holds_what_every_import_writes() -> None:
    indexed = _indexed_fields()
    assert {"number", "received_at", "call"} <= indexed  # the reading above works
    assert not indexed & WRITTEN_EVERY_TIME


class _Editor:
    """A schema editor of another database: what it is asked to run."""

    def __init__(self, vendor: str) -> None:
        self.connection = SimpleNamespace(vendor=vendor)
        self.executed: list[str] = []

    def quote_name(self, name: str) -> str:
        return f'"{name}"'

    def execute(self, sql: str) -> None:
        self.executed.append(sql)


def test_the_fillfactor_is_postgresql_only() -> None:
    sqlite = _Editor("sqlite")
    migration.set_fillfactor(apps, sqlite)
    migration.reset_fillfactor(apps, sqlite)
    assert sqlite.executed == []
    postgresql = _Editor("postgresql")
    migration.set_fillfactor(apps, postgresql)
    assert postgresql.executed == [
        f'ALTER TABLE "integrations_ticket" SET (fillfactor = {migration.TICKET_FILLFACTOR})'
    ]


def test_the_migration_sets_the_fillfactor(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a storage parameter of PostgreSQL")
    with connection.schema_editor() as editor:
        migration.set_fillfactor(apps, editor)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Ticket._meta.db_table]
        )
        assert cursor.fetchone()[0] == [f"fillfactor={migration.TICKET_FILLFACTOR}"]
        with connection.schema_editor() as editor:
            migration.reset_fillfactor(apps, editor)
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Ticket._meta.db_table]
        )
        assert cursor.fetchone()[0] is None


def test_a_reimport_is_hot_on_postgresql(world: World, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    # The tests' tables are created without migrations: the migration's step, here.
    with connection.schema_editor() as editor:
        migration.set_fillfactor(apps, editor)
    written = write_tickets(
        tmp_path / "t.csv", rows=1000, places=places_of(world.county.code), county_code="371221"
    )
    source = services.source_ensure(actor=None, county=world.county, name="bench")
    first = importer.run_import(run=services.run_for_file(source=source, path=written.path))
    assert first.status == RunStatus.DONE
    assert first.inserted > 900
    again = importer.run_import(run=services.run_for_file(source=source, path=written.path))
    assert again.updated == first.inserted
    with connection.cursor() as cursor:
        # This transaction's counters (the test's transaction holds both imports).
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
            "pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Ticket._meta.db_table] * 2,
        )
        updated, hot = cursor.fetchone()
    assert updated >= first.inserted
    # Every re-imported ticket updated in place (the counters count the runs' rows too:
    # ImportRun is another table).
    assert hot >= first.inserted
