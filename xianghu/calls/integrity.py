"""The event log is append-only in the database too: triggers refuse UPDATE and DELETE on
`calls_callevent` (PostgreSQL and SQLite), installed after every migrate."""

from __future__ import annotations

from typing import Any

from django.db import connections

_POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION xianghu_call_event_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'calls_callevent is append-only (% refused)', TG_OP
            USING ERRCODE = 'raise_exception';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS call_event_append_only ON calls_callevent",
    """
    CREATE TRIGGER call_event_append_only BEFORE UPDATE OR DELETE ON calls_callevent
    FOR EACH ROW EXECUTE FUNCTION xianghu_call_event_append_only()
    """,
]
_SQLITE = [
    "DROP TRIGGER IF EXISTS call_event_no_update",
    "DROP TRIGGER IF EXISTS call_event_no_delete",
    """
    CREATE TRIGGER call_event_no_update BEFORE UPDATE ON calls_callevent
    BEGIN SELECT RAISE(ABORT, 'calls_callevent is append-only (UPDATE refused)'); END
    """,
    """
    CREATE TRIGGER call_event_no_delete BEFORE DELETE ON calls_callevent
    BEGIN SELECT RAISE(ABORT, 'calls_callevent is append-only (DELETE refused)'); END
    """,
]


def install_append_only_triggers(*, using: str = "default", **kwargs: Any) -> None:
    connection = connections[using]
    if "calls_callevent" not in connection.introspection.table_names():
        return
    statements = {"postgresql": _POSTGRES, "sqlite": _SQLITE}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
