"""The security audit log is append-only in the database too (等保 2.0: audit records are
protected from deletion and modification).

Triggers on `core_auditevent` refuse every UPDATE and DELETE, with two exceptions:

- deleting a user account sets `user_id` to NULL on its events (the username snapshot
  stays): an UPDATE that changes nothing but `user_id`, to NULL, is let through;
- the retention purge (`manage.py audit_purge`) deletes rows older than the retention.
  On PostgreSQL it sets `SET LOCAL xianghu.audit_purge = 'on'` in its transaction and the
  trigger still refuses any row younger than `MINIMUM_RETENTION_DAYS` (the Cybersecurity
  Law's six months), whoever asks.

SQLite (development and the default test database) gets the UPDATE triggers only: it has
no session settings to tell the purge apart, and the flush after a transactional test
(`DELETE FROM` every table) must empty the log that every login writes. Deletion there is
refused by the model (`AuditEvent.delete`, `AuditEventQuerySet.delete`). PostgreSQL's
TRUNCATE fires no row trigger: the platform's database role should not be the table's
owner in production (docs/security.md).

Installed by the core migration 0004 (PostgreSQL) and after every migrate (both vendors,
also for test databases built without migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connections, transaction

MINIMUM_RETENTION_DAYS = 180
TABLE = "core_auditevent"

_POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION xianghu_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('xianghu.audit_purge', true) = 'on'
       AND OLD.at < now() - interval '{MINIMUM_RETENTION_DAYS} days' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.user_id IS NULL AND OLD.user_id IS NOT NULL
       AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{TABLE} is append-only (% refused)', TG_OP
        USING ERRCODE = 'raise_exception';
END;
$$ LANGUAGE plpgsql
"""

POSTGRES = [
    _POSTGRES_FUNCTION,
    f"DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE}",
    f"""
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION xianghu_audit_append_only()
    """,
]


def _sqlite_statements(columns: list[str]) -> list[str]:
    others = ", ".join(c for c in columns if c != "user_id")
    return [
        "DROP TRIGGER IF EXISTS audit_event_no_update",
        "DROP TRIGGER IF EXISTS audit_event_no_update_user",
        f"""
        CREATE TRIGGER audit_event_no_update BEFORE UPDATE OF {others} ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only (UPDATE refused)'); END
        """,
        f"""
        CREATE TRIGGER audit_event_no_update_user BEFORE UPDATE OF user_id ON {TABLE}
        WHEN NEW.user_id IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only (UPDATE refused)'); END
        """,
    ]


def install_audit_triggers(*, using: str = "default", **kwargs: Any) -> None:
    """Create (or replace) the append-only triggers; a no-op before the table exists."""
    connection = connections[using]
    if TABLE not in connection.introspection.table_names():
        return
    if connection.vendor == "postgresql":
        statements = POSTGRES
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, TABLE)
            ]
        statements = _sqlite_statements(columns)
    else:
        return
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def audit_purge(*, before: datetime, using: str = "default") -> int:
    """Delete the audit events older than `before` (the retention purge); return how many.

    The caller (`manage.py audit_purge`) keeps `before` at least `MINIMUM_RETENTION_DAYS`
    in the past; the PostgreSQL trigger checks it again.
    """
    from .models import AuditEvent

    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL xianghu.audit_purge = 'on'")
        return AuditEvent.objects.using(using).filter(at__lt=before)._purge()
