"""An old database migrates forward: rows survive, new columns get their defaults.

The suite runs without migrations, so this test runs them itself in subprocesses on a
SQLite file of its own:

1. `old`: migrate to the earliest migration of every app of the platform (with whatever
   those need: accounts 0002, calls 0003, the contrib apps) with `MigrationExecutor`, and
   write a small county — regions, organisations, users, an API key, a call with its
   events, a time policy, a routing suggestion, a worker heartbeat — through the
   historical models of that state; dump every table.
2. `manage.py migrate`: everything after (accounts 0003's scope backfill, the holiday seed,
   the call clocks, …), as an operator upgrading would.
3. `check`: with the current models, every old row and every old column value is still
   there, every column added since holds the field's default (or what a data migration
   wrote), and the post-migrate append-only triggers are in place.

Run as a script (`python tests/core/test_migrations_forward.py old|check <dump.json>`)
for steps 1 and 3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What accounts 0003 gives the keys made before scopes existed (its SCOPES_AT_0003).
SCOPES_AT_0003 = [
    "calls:read",
    "calls:write",
    "lists:read",
    "lists:write",
    "assessment:read",
    "assessment:write",
    "routing:read",
    "directory:read",
    "directory:write",
    "participation:write",
    "hotline:read",
    "open311:post",
]


#: Columns a data migration fills for old rows (not the field's default): table.column → value.
class _SetByMigration:
    """A column a data migration fills with the time it ran (accounts 0004: a password is
    as old as the upgrade, so nobody is expired on the day of the deploy)."""

    def __eq__(self, other: object) -> bool:
        return other is not None

    def __repr__(self) -> str:
        return "<set by the migration>"


WRITTEN_BY_DATA_MIGRATIONS: dict[str, Any] = {
    "accounts_apikey.scopes": SCOPES_AT_0003,
    "accounts_user.password_changed_at": _SetByMigration(),
}


# ---- the steps run in a subprocess -------------------------------------------------------


def _old_targets(loader: Any) -> list[tuple[str, str]]:
    """The oldest state with every app of the platform migrated: each platform app's first
    migration, the contrib and third-party apps at their latest, and all they depend on."""
    graph = loader.graph
    ours = sorted(a for a in loader.migrated_apps if _is_ours(a))
    roots = [min(n for n in graph.nodes if n[0] == app) for app in ours]
    roots += [leaf for leaf in graph.leaf_nodes() if not _is_ours(leaf[0])]
    closure: set[tuple[str, str]] = set()
    for node in roots:
        closure.update(graph.forwards_plan(node))
    latest: dict[str, tuple[str, str]] = {}
    for node in closure:
        if node[0] not in latest or node[1] > latest[node[0]][1]:
            latest[node[0]] = node
    return sorted(latest.values())


def _is_ours(app_label: str) -> bool:
    from django.apps import apps

    return apps.get_app_config(app_label).name.startswith("xianghu.")


def _dump(connection: Any) -> dict[str, Any]:
    """Every row of every table: {table: {"columns": [...], "rows": {pk: [values]}}}."""
    out: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            columns = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
            key = "id" if "id" in columns else columns[0]
            index = columns.index(key)
            out[table] = {
                "columns": columns,
                "rows": {str(r[index]): [_plain(v) for v in r] for r in rows},
            }
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (str, int, float, type(None))):
        return value
    return str(value)


def step_old(dump_path: Path) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    executor = MigrationExecutor(connection)
    targets = _old_targets(executor.loader)
    executor.migrate(targets)
    # The historical models of that state, rendered afresh.
    get = executor.loader.project_state(targets, at_end=True).apps.get_model
    now = timezone.now()

    Region = get("regions", "Region")
    province = Region.objects.create(
        code="370000", name="山东省", level="province", kind="province", path="370000"
    )
    county = Region.objects.create(
        code="371221",
        name="清河县",
        level="county",
        kind="county",
        path="370000/371221",
        parent=province,
    )
    township = Region.objects.create(
        code="371221001",
        name="城关街道",
        level="township",
        kind="subdistrict",
        path="370000/371221/371221001",
        parent=county,
    )
    Organisation = get("regions", "Organisation")
    caller = Organisation.objects.create(
        name="城关街道办事处",
        kind="township",
        region=township,
        county=county,
        township=township,
        created_at=now,
    )
    Organisation.objects.create(
        name="清河县应急管理局", kind="department", region=county, county=county, created_at=now
    )
    User = get("accounts", "User")
    reporter = User.objects.create(
        username="reporter", password="!", name="王小明", phone="17012341234"
    )
    User.objects.create(username="admin", password="!", is_staff=True)
    get("accounts", "ApiKey").objects.create(
        role="township_reporter",
        name="乡镇系统",
        prefix="abcd1234",
        key_hash="0" * 64,
        created_at=now,
        created_by=reporter,
        organisation=caller,
    )
    Call = get("calls", "Call")
    call = Call.objects.create(
        number="QH-2026-0001",
        title="河道垃圾堆积",
        description="村东河道有大量生活垃圾，需县里协调清理。",
        address="城关街道东关村",
        state="submitted",
        state_changed_at=now,
        created_at=now - timedelta(hours=1),
        caller=caller,
        county=county,
        location=township,
        created_by=reporter,
        idempotency_key="old-1",
    )
    CallEvent = get("calls", "CallEvent")
    for seq, (action, before, after) in enumerate(
        [("create", "", "draft"), ("submit", "draft", "submitted")], start=1
    ):
        CallEvent.objects.create(
            call=call,
            seq=seq,
            action=action,
            from_state=before,
            to_state=after,
            party="caller",
            at=now - timedelta(minutes=60 - seq),
            data={"note": f"第{seq}步"},
            actor=reporter,
            actor_org=caller,
        )
    policy = get("calls", "TimePolicy").objects.create(
        county=county,
        morning_start="08:30",
        morning_end="12:00",
        afternoon_start="13:30",
        afternoon_end="17:30",
    )
    get("calls", "UrgencyLimit").objects.create(
        policy=policy,
        urgency="urgent",
        sign="30m",
        respond="2wh",
        complete="24h",
        return_window="2wh",
        evaluation="3wd",
    )
    get("routing", "RoutingSuggestionLog").objects.create(
        county=county, township=township, text="河道垃圾", call=call, created_by=reporter
    )
    get("core", "WorkerHeartbeat").objects.create(
        worker_id="w-old", hostname="old-host", pid=42, started_at=now, seen_at=now
    )
    dump = {"targets": [list(t) for t in targets], "tables": _dump(connection)}
    dump_path.write_text(json.dumps(dump, ensure_ascii=False), encoding="utf-8")


def step_check(dump_path: Path) -> None:
    """Print a JSON report: problems found, and what was checked."""
    from django.apps import apps
    from django.db import DatabaseError, connection, transaction
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models import NOT_PROVIDED

    old = json.loads(dump_path.read_text(encoding="utf-8"))["tables"]
    new = _dump(connection)
    problems: list[str] = []
    checked = {"rows": 0, "old_values": 0, "new_columns": 0}
    by_table = {m._meta.db_table: m for m in apps.get_models()}
    for table, before in old.items():
        if not before["rows"]:
            continue
        after = new.get(table)
        if after is None:
            problems.append(f"{table}: table gone")
            continue
        added = [c for c in after["columns"] if c not in before["columns"]]
        model = by_table.get(table)
        fields = {f.column: f for f in model._meta.concrete_fields} if model else {}
        for pk, row in before["rows"].items():
            checked["rows"] += 1
            now_row = after["rows"].get(pk)
            if now_row is None:
                problems.append(f"{table} {pk}: row gone")
                continue
            values = dict(zip(after["columns"], now_row, strict=True))
            for column, value in zip(before["columns"], row, strict=True):
                if column in values:
                    checked["old_values"] += 1
                    if values[column] != value:
                        problems.append(f"{table}.{column} {pk}: {value!r} → {values[column]!r}")
            if model is None:
                continue
            obj = model._base_manager.get(pk=int(pk) if pk.isdigit() else pk)
            for column in added:
                field = fields.get(column)
                if field is None:
                    continue
                checked["new_columns"] += 1
                expected = WRITTEN_BY_DATA_MIGRATIONS.get(f"{table}.{column}", NOT_PROVIDED)
                if expected is NOT_PROVIDED:
                    expected = field.get_default()
                actual = getattr(obj, field.attname)
                if expected != actual:
                    problems.append(f"{table}.{column} {pk}: {actual!r}, expected {expected!r}")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        problems.append(f"pending migrations: {[str(m) for m, _ in pending]}")
    holidays = new.get("core_holiday", {}).get("rows", {})
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE calls_callevent SET action = action")
        problems.append("calls_callevent accepted an UPDATE: no append-only trigger")
    except DatabaseError:
        pass
    print(json.dumps({"problems": problems, "checked": checked, "holidays": len(holidays)}))


# ---- the test ----------------------------------------------------------------------------


def _run(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_an_old_database_migrates_forward(tmp_path: Path) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("runs on a SQLite file of its own, in the SQLite run")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}",
        XH_MEDIA_ROOT=str(tmp_path / "media"),
        XH_LOG_LEVEL="WARNING",
    )
    dump = tmp_path / "old.json"
    script = str(Path(__file__).resolve())
    started = time.monotonic()
    _run(env, script, "old", str(dump))
    old = json.loads(dump.read_text(encoding="utf-8"))
    targets = dict(old["targets"])
    # Really old: the platform's apps stand at their first migrations (or what those need).
    assert targets["calls"] == "0003_time_policy"
    assert targets["accounts"] == "0002_initial"
    assert targets["regions"] == "0001_initial"
    assert targets["core"] == "0001_initial"
    assert "core_holiday" not in old["tables"]
    assert "calls_attachment" in old["tables"]  # calls 0002 came with 0003
    assert "min_latitude" not in old["tables"]["regions_region"]["columns"]
    assert "scopes" not in old["tables"]["accounts_apikey"]["columns"]
    assert "reminders" not in old["tables"]["calls_call"]["columns"]
    assert len(old["tables"]["calls_callevent"]["rows"]) == 2
    migrated_at = time.monotonic()

    _run(env, "manage.py", "migrate", "-v0")
    forward = time.monotonic()
    report = json.loads(_run(env, script, "check", str(dump)).strip().splitlines()[-1])
    assert report["problems"] == []
    # Every row written in the old state was compared, with its values and new columns.
    assert report["checked"]["rows"] == sum(len(t["rows"]) for t in old["tables"].values())
    assert report["checked"]["rows"] >= 15
    assert report["checked"]["new_columns"] >= 8
    assert report["holidays"] > 100  # core 0003 seeded the statutory calendar
    print(
        f"\nmigrations forward: old state {migrated_at - started:.1f} s, migrate "
        f"{forward - migrated_at:.1f} s, check {time.monotonic() - forward:.1f} s"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    steps = {"old": step_old, "check": step_check}
    steps[sys.argv[1]](Path(sys.argv[2]))
