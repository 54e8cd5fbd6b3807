"""Native snapshots and restores of the database, one engine per vendor.

- SQLite: the online backup API (`sqlite3.Connection.backup`) in one step, i.e. one read
  transaction: a consistent copy of the live file while the platform keeps writing (WAL).
  The restore copies the snapshot back the same way, page by page, over the target file.
- PostgreSQL: `pg_dump --format=custom` in a snapshot this connection exports from a
  REPEATABLE READ transaction, so the row counts and file references the manifest records
  are read from exactly the rows in the dump. The restore is `pg_restore --clean
  --if-exists --single-transaction --no-owner --no-privileges`: all or nothing.

Either way the rows come back as they were written, ids and sequences included; the
append-only triggers on the call log are part of the snapshot and are created after the
data (PostgreSQL) or copied with the pages (SQLite), so they never see the restore.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import FileField
from django.utils.translation import gettext as _

from xianghu.core.models import CalendarYear, Holiday

from .archive import BackupError

Query = Callable[[str], Sequence[tuple[Any, ...]]]

#: Tables that `migrate` fills by itself: rows there do not make a database "not empty".
#: The statutory calendar is seeded by core's migration 0003.
SEEDED_BY_MIGRATE = frozenset(
    {
        MigrationRecorder.Migration._meta.db_table,
        ContentType._meta.db_table,
        Permission._meta.db_table,
        Holiday._meta.db_table,
        CalendarYear._meta.db_table,
    }
)


@dataclass
class Snapshot:
    """What a snapshot holds, read from the snapshot itself."""

    server_version: str
    tables: dict[str, int] = field(default_factory=dict)
    migrations: dict[str, list[str]] = field(default_factory=dict)
    #: "app_label.Model.field" → the stored names the rows reference.
    references: dict[str, list[str]] = field(default_factory=dict)


class Engine(Protocol):
    vendor: str

    def snapshot(self, dest: Path) -> Snapshot: ...

    def restore(self, source: Path) -> None: ...


def engine_for(conn: BaseDatabaseWrapper = connection) -> Engine:
    if conn.vendor == "sqlite":
        return SqliteEngine(conn)
    if conn.vendor == "postgresql":
        return PostgresEngine(conn)
    raise BackupError(
        _("Backups are made for SQLite and PostgreSQL databases; this database is %(vendor)s.")
        % {"vendor": conn.vendor},
        code="backup.unsupported_database",
    )


# ---- what a database holds ---------------------------------------------------------------


def file_columns() -> list[tuple[str, str, str]]:
    """(table, column, "app_label.Model.field") of every file field of every model."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for f in model._meta.local_concrete_fields:
            if isinstance(f, FileField):
                found.append((model._meta.db_table, f.column, f"{model._meta.label}.{f.name}"))
    return sorted(found)


def inventory(
    query: Query, quote: Callable[[str], str], tables: Iterable[str], server_version: str
) -> Snapshot:
    """Row counts, applied migrations and file references, read through `query`."""
    snap = Snapshot(server_version=server_version)
    names = sorted(tables)
    for table in names:
        sql = f"SELECT COUNT(*) FROM {quote(table)}"  # noqa: S608  (quoted names of the catalogue)
        snap.tables[table] = int(query(sql)[0][0])
    recorder_table = MigrationRecorder.Migration._meta.db_table
    if recorder_table in snap.tables:
        rows = query(f"SELECT app, name FROM {quote(recorder_table)} ORDER BY app, name")  # noqa: S608
        for app, name in rows:
            snap.migrations.setdefault(str(app), []).append(str(name))
    for table, column, label in file_columns():
        if table not in snap.tables:
            continue
        rows = query(
            f"SELECT {quote(column)} FROM {quote(table)} "  # noqa: S608  (names from models)
            f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> ''"
        )
        snap.references[label] = sorted(str(r[0]) for r in rows)
    return snap


def _django_query(conn: BaseDatabaseWrapper) -> Query:
    def query(sql: str) -> Sequence[tuple[Any, ...]]:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    return query


def table_counts(conn: BaseDatabaseWrapper = connection) -> dict[str, int]:
    """The row count of every table of the live database."""
    query = _django_query(conn)
    return {
        t: int(query(f"SELECT COUNT(*) FROM {conn.ops.quote_name(t)}")[0][0])  # noqa: S608
        for t in sorted(conn.introspection.table_names())
    }


def tables_with_rows(conn: BaseDatabaseWrapper = connection) -> list[str]:
    """The tables holding rows other than those `migrate` writes by itself."""
    query = _django_query(conn)
    busy = []
    for table in sorted(conn.introspection.table_names()):
        if table in SEEDED_BY_MIGRATE:
            continue
        if query(f"SELECT 1 FROM {conn.ops.quote_name(table)} LIMIT 1"):  # noqa: S608
            busy.append(table)
    return busy


# ---- SQLite ------------------------------------------------------------------------------


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteEngine:
    vendor = "sqlite"

    def __init__(self, conn: BaseDatabaseWrapper) -> None:
        self.conn = conn

    def _raw(self) -> sqlite3.Connection:
        self.conn.ensure_connection()
        raw = self.conn.connection
        assert isinstance(raw, sqlite3.Connection)
        if not raw.in_transaction:
            return raw
        raise BackupError(
            _("The database connection is inside a transaction; run the command on its own."),
            code="backup.in_transaction",
        )

    def snapshot(self, dest: Path) -> Snapshot:
        source = self._raw()
        target = sqlite3.connect(dest)
        try:
            # One step (pages=-1): one read transaction, so one consistent state.
            source.backup(target, pages=-1)
            # A self-contained file: no -wal/-shm needed to read it.
            target.execute("PRAGMA journal_mode=DELETE")
            check = target.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(
                    _("The database snapshot fails SQLite's integrity check: %(error)s")
                    % {"error": check},
                    code="backup.corrupt_database",
                )
            tables = [
                r[0]
                for r in target.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            ]
            version = sqlite3.sqlite_version

            def query(sql: str) -> Sequence[tuple[Any, ...]]:
                return target.execute(sql).fetchall()

            return inventory(query, _sqlite_quote, tables, version)
        finally:
            target.close()

    def restore(self, source: Path) -> None:
        if self.conn.is_in_memory_db():  # type: ignore[attr-defined]
            raise BackupError(
                _("The target is an in-memory SQLite database; restore into a database file."),
                code="restore.memory_database",
            )
        self.conn.close()
        target = self._raw()
        snapshot = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            # Replaces the whole target, schema and triggers included, in one step.
            snapshot.backup(target, pages=-1)
        except sqlite3.Error as exc:
            raise BackupError(
                _("SQLite could not restore the snapshot: %(error)s") % {"error": exc},
                code="restore.database_failed",
            ) from exc
        finally:
            snapshot.close()
            self.conn.close()
        self.conn.ensure_connection()
        with self.conn.cursor() as cursor:
            cursor.execute("PRAGMA quick_check")
            check = cursor.fetchone()[0]
        if check != "ok":
            raise BackupError(
                _("The restored database fails SQLite's integrity check: %(error)s")
                % {"error": check},
                code="restore.database_failed",
            )


# ---- PostgreSQL --------------------------------------------------------------------------


class PostgresEngine:
    vendor = "postgresql"

    def __init__(self, conn: BaseDatabaseWrapper) -> None:
        self.conn = conn

    def _tool(self, name: str) -> str:
        path = shutil.which(name)
        if path is None:
            raise BackupError(
                _(
                    "%(tool)s was not found: install the PostgreSQL client programs of the "
                    "server's major version (Debian: postgresql-client)."
                )
                % {"tool": name},
                code="backup.tool_missing",
            )
        return path

    def _connection_args(self) -> tuple[list[str], dict[str, str]]:
        """Options naming the server and database, and the environment (password, SSL)."""
        from django.db.backends.postgresql.client import DatabaseClient

        settings_dict = self.conn.settings_dict
        _args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
        options = settings_dict.get("OPTIONS") or {}
        args = []
        if settings_dict.get("USER"):
            args.append(f"--username={settings_dict['USER']}")
        # DATABASE_URL's `?host=/socket/folder` lands in OPTIONS.
        host = settings_dict.get("HOST") or options.get("host")
        port = settings_dict.get("PORT") or options.get("port")
        if host:
            args.append(f"--host={host}")
        if port:
            args.append(f"--port={port}")
        if settings_dict.get("NAME"):
            args.append(f"--dbname={settings_dict['NAME']}")
        return args, {**os.environ, **(env or {})}

    def _run(self, cmd: list[str], env: dict[str, str], code: str) -> None:
        proc = subprocess.run(  # noqa: S603  (a fixed program, arguments from settings)
            cmd, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise BackupError(
                _("%(tool)s failed (exit status %(status)s): %(error)s")
                % {
                    "tool": Path(cmd[0]).name,
                    "status": proc.returncode,
                    "error": proc.stderr.strip()[-2000:],
                },
                code=code,
            )

    def snapshot(self, dest: Path) -> Snapshot:
        pg_dump = self._tool("pg_dump")
        args, env = self._connection_args()
        if self.conn.in_atomic_block:
            raise BackupError(
                _("The database connection is inside a transaction; run the command on its own."),
                code="backup.in_transaction",
            )
        query = _django_query(self.conn)
        with transaction.atomic(using=self.conn.alias):
            with self.conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot_id = str(query("SELECT pg_export_snapshot()")[0][0])
            # pg_dump reads the very state this transaction sees while it stays open.
            self._run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    f"--file={dest}",
                    *args,
                ],
                env,
                "backup.database_failed",
            )
            with self.conn.cursor() as cursor:
                tables = self.conn.introspection.table_names(cursor)
            version = str(query("SHOW server_version")[0][0])
            return inventory(query, self.conn.ops.quote_name, tables, version)

    def restore(self, source: Path) -> None:
        pg_restore = self._tool("pg_restore")
        args, env = self._connection_args()
        if not self.conn.settings_dict.get("NAME"):
            raise BackupError(
                _("The database settings name no database to restore into."),
                code="restore.no_database_name",
            )
        self.conn.close()
        self._run(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                *args,
                str(source),
            ],
            env,
            "restore.database_failed",
        )
        # pg_restore leaves the planner without statistics.
        with self.conn.cursor() as cursor:
            cursor.execute("ANALYZE")
