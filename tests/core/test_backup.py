"""Backup and restore (`manage.py backup` / `restore`, xianghu/core/backup/).

The round trips build a demo county with a month of history (calls, thousands of
append-only events, evidence photos) in a database of their own, back it up, restore it
into a fresh database and compare every table row by row and every file by SHA-256:
SQLite in the SQLite run, PostgreSQL (databases xianghu_bk_src / xianghu_bk_dst on the
suite's server) in the PostgreSQL run. They run `manage.py` in subprocesses, as an operator
would. The other tests check, in-process, what the manifest holds and every refusal.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from tests import factories as f
from xianghu.accounts.models import User
from xianghu.core.backup import FORMAT, FORMAT_VERSION, BackupError, backup_create, backup_restore
from xianghu.participation.models import PublicReport
from xianghu.participation.models_public import ReportPhoto
from xianghu.regions.models import Region

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


# ---- helpers -----------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _media_tree(root: Path) -> dict[str, str]:
    """Storage name → SHA-256 of every file under `root`."""
    return {
        p.relative_to(root).as_posix(): _sha(p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:*") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar
            if m.isfile()
        }


def _rewrite(archive: Path, dest: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of `archive` at `dest` with its members changed by `change`."""
    members = _members(archive)
    change(members)
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def _manifest(members: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(members["manifest.json"])


def _set_manifest(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
    members["manifest.json"] = json.dumps(manifest).encode()


# ---- in-process: the manifest and the refusals -------------------------------------------


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def populated(media: Path) -> dict[str, Any]:
    """A few rows, a photo on disk, a photo whose file is lost and a file of no row."""
    county = f.county()
    township = f.township(county, 1, "王庄镇")
    f.UserFactory(username="backup_a")
    f.UserFactory(username="backup_b")
    report = PublicReport.objects.create(county=county, township=township, token="bk-1")
    (media / "public" / "2026" / "11").mkdir(parents=True)
    (media / "public" / "2026" / "11" / "kept.png").write_bytes(PNG)
    ReportPhoto.objects.create(
        report=report,
        file="public/2026/11/kept.png",
        content_type="image/png",
        size=len(PNG),
        sha256=_sha(PNG),
    )
    ReportPhoto.objects.create(
        report=report,
        file="public/2026/11/lost.png",
        content_type="image/png",
        size=len(PNG),
        sha256=_sha(PNG),
    )
    (media / "imports").mkdir()
    (media / "imports" / "中文 名.csv").write_bytes("编号,标题\n1,测试\n".encode())
    return {"county": county}


@pytest.fixture
def archive(populated: dict[str, Any], tmp_path: Path) -> Path:
    return backup_create(tmp_path / "b.tar.gz").path


@pytest.mark.django_db(transaction=True)
def test_manifest_lists_tables_migrations_files_and_references(archive: Path, media: Path) -> None:
    members = _members(archive)
    manifest = _manifest(members)
    assert manifest["format"] == FORMAT
    assert manifest["format_version"] == FORMAT_VERSION
    database = manifest["database"]
    assert database["vendor"] == connection.vendor
    assert database["name"] in members
    assert database["sha256"] == _sha(members[database["name"]])
    assert database["size"] == len(members[database["name"]])
    tables = manifest["tables"]
    assert tables[User._meta.db_table] == User.objects.count() == 2
    assert tables[Region._meta.db_table] == Region.objects.count() >= 2
    assert tables[ReportPhoto._meta.db_table] == 2
    assert set(tables) >= set(connection.introspection.table_names())
    assert isinstance(manifest["migrations"], dict)
    files = {e["name"]: e for e in manifest["files"]}
    assert set(files) == {"media/public/2026/11/kept.png", "media/imports/中文 名.csv"}
    for name, entry in files.items():
        assert entry["sha256"] == _sha(members[name])
        assert entry["size"] == len(members[name])
    assert members["media/public/2026/11/kept.png"] == PNG
    assert manifest["references"]["participation.ReportPhoto.file"] == 2
    assert manifest["missing_references"] == ["public/2026/11/lost.png"]
    assert time.time() - _iso_seconds(manifest["created_at"]) < 600


def _iso_seconds(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()


@pytest.mark.django_db(transaction=True)
def test_backup_command_names_a_file_in_a_folder_and_never_overwrites(
    populated: dict[str, Any], tmp_path: Path
) -> None:
    out = io.StringIO()
    err = io.StringIO()
    call_command("backup", str(tmp_path / "backups"), stdout=out, stderr=err)
    written = list((tmp_path / "backups").iterdir())
    assert len(written) == 1
    assert written[0].name.startswith("xianghu-backup-")
    assert written[0].name.endswith(".tar.gz")
    assert str(written[0]) in out.getvalue()
    assert "public/2026/11/lost.png" in err.getvalue()
    with pytest.raises(CommandError, match=r"\[backup\.exists\]"):
        call_command("backup", str(written[0]))
    with pytest.raises(CommandError, match=r"\[backup\.no_folder\]"):
        call_command("backup", str(tmp_path / "nowhere" / "x.tar"))
    with pytest.raises(CommandError, match=r"\[backup\.inside_media\]"):
        call_command("backup", str(tmp_path / "media" / "backups"))
    assert not (tmp_path / "media" / "backups").exists()


@pytest.mark.django_db(transaction=True)
def test_verify_only_accepts_an_intact_archive_and_changes_nothing(
    archive: Path, media: Path
) -> None:
    out = io.StringIO()
    users = User.objects.count()
    with translation.override("en"):
        call_command("restore", str(archive), "--verify-only", stdout=out)
    assert f"{archive} is intact" in out.getvalue()
    assert "2 files" in out.getvalue()
    assert User.objects.count() == users
    assert len(_media_tree(media)) == 2


def _damage_file(members: dict[str, bytes]) -> None:
    name = "media/public/2026/11/kept.png"
    members[name] = members[name][:-1] + b"\x01"


def _damage_database(members: dict[str, bytes]) -> None:
    name = _manifest(members)["database"]["name"]
    data = bytearray(members[name])
    data[len(data) // 2] ^= 0xFF
    members[name] = bytes(data)


def _drop_file(members: dict[str, bytes]) -> None:
    del members["media/imports/中文 名.csv"]


def _add_unlisted(members: dict[str, bytes]) -> None:
    members["media/extra.txt"] = b"x"


def _escape(members: dict[str, bytes]) -> None:
    members["media/../../etc/cron.d/x"] = b"x"


def _future_format(members: dict[str, bytes]) -> None:
    manifest = _manifest(members)
    manifest["format_version"] = FORMAT_VERSION + 1
    _set_manifest(members, manifest)


def _not_ours(members: dict[str, bytes]) -> None:
    manifest = _manifest(members)
    manifest["format"] = "something-else"
    _set_manifest(members, manifest)


def _no_manifest(members: dict[str, bytes]) -> None:
    del members["manifest.json"]


def _other_vendor(members: dict[str, bytes]) -> None:
    manifest = _manifest(members)
    other = "postgresql" if manifest["database"]["vendor"] == "sqlite" else "sqlite"
    old = manifest["database"]["name"]
    new = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}[other]
    manifest["database"].update(vendor=other, name=new)
    members[new] = members.pop(old)
    _set_manifest(members, manifest)


def _newer_migration(members: dict[str, bytes]) -> None:
    manifest = _manifest(members)
    manifest["migrations"].setdefault("calls", []).append("9999_from_the_future")
    _set_manifest(members, manifest)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_damage_file, "restore.checksum_mismatch"),
        (_damage_database, "restore.checksum_mismatch"),
        (_drop_file, "restore.missing_member"),
        (_add_unlisted, "restore.unlisted_member"),
        (_escape, "restore.unsafe_member"),
        (_future_format, "restore.unsupported_format_version"),
        (_not_ours, "restore.not_a_backup"),
        (_no_manifest, "restore.not_a_backup"),
        (_other_vendor, "restore.vendor_mismatch"),
        (_newer_migration, "restore.unknown_migrations"),
    ],
)
def test_restore_refuses_a_bad_archive_before_touching_anything(
    archive: Path,
    media: Path,
    tmp_path: Path,
    change: Callable[[dict[str, bytes]], None],
    code: str,
) -> None:
    bad = _rewrite(archive, tmp_path / "bad.tar.gz", change)
    users = User.objects.count()
    (media / "public" / "2026" / "11" / "kept.png").unlink()
    with pytest.raises(BackupError) as refused:
        backup_restore(bad, force=True)
    assert refused.value.code == code
    assert User.objects.count() == users
    assert not (media / "public" / "2026" / "11" / "kept.png").exists()
    # The command says it with the code and fails.
    with pytest.raises(CommandError, match=re.escape(f"[{code}]")):
        call_command("restore", str(bad), "--force")


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_truncated_archive(archive: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError) as refused:
        backup_restore(cut)
    assert refused.value.code == "restore.unreadable_archive"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_with_rows_and_a_media_folder_with_files(
    archive: Path, media: Path
) -> None:
    with pytest.raises(BackupError) as refused:
        backup_restore(archive)
    assert refused.value.code == "restore.target_not_empty"
    assert User._meta.db_table in refused.value.message
    with pytest.raises(CommandError, match=r"--force.*\[restore\.target_not_empty\]"):
        call_command("restore", str(archive))


# ---- round trips in databases of their own -----------------------------------------------


def _env(database_url: str, media: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        XH_MEDIA_ROOT=str(media),
        # The production rule: on-site responses and completions carry photos.
        XH_EVIDENCE_REQUIRED="respond:on_site,complete",
        XH_LOG_LEVEL="WARNING",
    )
    return env


def _manage(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if ok:
        assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


def _digest_rows(rows: Iterator[tuple[Any, ...]]) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(hashlib.sha256(repr(tuple(row)).encode()).digest())
        count += 1
    return count, digest.hexdigest()


def _sqlite_dump(path: Path) -> dict[str, Any]:
    """Schema (tables, indexes, triggers) and, per table, row count and a hash of every
    row in primary-key order."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        schema = sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        tables = {}
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            info = db.execute(f'PRAGMA table_info("{name}")').fetchall()
            pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]] or [r[1] for r in info]
            order = ", ".join(f'"{c}"' for c in pk)
            tables[name] = _digest_rows(db.execute(f'SELECT * FROM "{name}" ORDER BY {order}'))  # noqa: S608
        return {"schema": schema, "tables": tables}
    finally:
        db.close()


def _assert_same(src: dict[str, Any], dst: dict[str, Any]) -> None:
    assert sorted(src["tables"]) == sorted(dst["tables"])
    different = [t for t in src["tables"] if src["tables"][t] != dst["tables"][t]]
    assert different == []
    assert src["schema"] == dst["schema"]


def _assert_demo(tables: dict[str, tuple[int, str]], files: dict[str, str]) -> None:
    """The source is a real demo: calls, many events, photos (not an empty round trip)."""
    assert len(tables) > 50
    assert tables["calls_call"][0] > 50
    assert tables["calls_callevent"][0] > 500
    assert tables["calls_attachment"][0] > 10
    assert len(files) >= tables["calls_attachment"][0]


def _check_archive(archive: Path, src_tables: dict[str, tuple[int, str]]) -> None:
    manifest = _manifest(_members(archive))
    counts = {t: n for t, (n, _h) in src_tables.items() if not t.startswith("sqlite_")}
    assert manifest["tables"] == counts
    assert manifest["missing_references"] == []
    assert manifest["references"]["calls.Attachment.file"] == counts["calls_attachment"]


def _refused_then_forced(
    env_dst: dict[str, str], archive: Path, dst_media: Path, alter: Callable[[str], None]
) -> None:
    """A second restore into the now populated target is refused; after the target has
    been changed, --force puts the backup's rows and files back."""
    again = _manage(env_dst, "restore", str(archive), ok=False)
    assert again.returncode == 1
    assert "[restore.target_not_empty]" in again.stderr
    alter("UPDATE accounts_user SET name = 'changed'")
    alter(
        "INSERT INTO core_workerheartbeat (worker_id, hostname, pid, started_at, seen_at) "
        "VALUES ('stray', 'elsewhere', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    photo = next(p for p in sorted(dst_media.rglob("*.png")))
    photo.write_bytes(b"changed")
    _manage(env_dst, "restore", str(archive), "--force")


def test_round_trip_of_a_demo_on_sqlite(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite round trip runs in the SQLite run")
    started = time.monotonic()
    src_db, dst_db = tmp_path / "src.sqlite3", tmp_path / "dst.sqlite3"
    src_media, dst_media = tmp_path / "media_src", tmp_path / "media_dst"
    env_src = _env(f"sqlite:///{src_db}", src_media)
    env_dst = _env(f"sqlite:///{dst_db}", dst_media)
    _manage(env_src, "migrate", "-v0")
    # The target: a database `migrate` has just created, which counts as empty.
    with sqlite3.connect(src_db) as source, sqlite3.connect(dst_db) as target:
        source.backup(target)
    _manage(env_src, "demo_county", "--history-months", "1", "--quiet")
    built = time.monotonic()

    backed = _manage(env_src, "backup", str(tmp_path / "backups"))
    (archive,) = (tmp_path / "backups").iterdir()
    assert str(archive) in backed.stdout
    src = _sqlite_dump(src_db)
    src_files = _media_tree(src_media)
    _assert_demo(src["tables"], src_files)
    _check_archive(archive, src["tables"])

    restored = _manage(env_dst, "restore", str(archive))
    assert "run manage.py migrate" not in restored.stdout
    _assert_same(src, _sqlite_dump(dst_db))
    assert _media_tree(dst_media) == src_files
    # The call log is append-only in the restored database too.
    with sqlite3.connect(dst_db) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE calls_callevent SET action = action")
    _manage(env_dst, "migrate", "--check", "-v0")

    def alter(sql: str) -> None:
        with sqlite3.connect(dst_db) as db:
            db.execute(sql)

    _refused_then_forced(env_dst, archive, dst_media, alter)
    _assert_same(src, _sqlite_dump(dst_db))
    assert _media_tree(dst_media) == src_files
    print(
        f"\nSQLite round trip: demo built in {built - started:.1f} s, backup, restore and "
        f"checks in {time.monotonic() - built:.1f} s; "
        f"{sum(n for n, _ in src['tables'].values())} rows, {len(src_files)} files"
    )


# ---- PostgreSQL --------------------------------------------------------------------------


def _pg_url(settings_dict: dict[str, Any], name: str) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    options = settings_dict.get("OPTIONS") or {}
    host = str(settings_dict.get("HOST") or options.get("host") or "")
    port = str(settings_dict.get("PORT") or options.get("port") or "")
    if host.startswith("/"):
        return f"postgres://{auth}/{name}?host={quote(host)}" + (f"&port={port}" if port else "")
    return f"postgres://{auth}{host}" + (f":{port}" if port else "") + f"/{name}"


def _pg_params(settings_dict: dict[str, Any], name: str) -> dict[str, Any]:
    options = settings_dict.get("OPTIONS") or {}
    params = {
        "dbname": name,
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "host": settings_dict.get("HOST") or options.get("host"),
        "port": settings_dict.get("PORT") or options.get("port"),
    }
    return {k: v for k, v in params.items() if v}


def _pg_admin(settings_dict: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(autocommit=True, **_pg_params(settings_dict, "postgres"))


def _pg_dump_rows(settings_dict: dict[str, Any], name: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(**_pg_params(settings_dict, name)) as db:
        tables_sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = {}
        for (table,) in db.execute(tables_sql).fetchall():
            pk = [
                r[0]
                for r in db.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                    "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
                    (f'"{table}"',),
                ).fetchall()
            ]
            order = ", ".join(f'"{c}"' for c in pk) or "1"
            rows = db.execute(f'SELECT * FROM "{table}" ORDER BY {order}')  # noqa: S608
            tables[table] = _digest_rows(iter(rows.fetchall()))
        schema = sorted(
            db.execute(
                "SELECT c.relname, c.relkind, "
                "coalesce(pg_get_triggerdef(t.oid), '') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal "
                "WHERE n.nspname = 'public'"
            ).fetchall()
        )
        sequences = sorted(
            (seq, db.execute(f'SELECT last_value, is_called FROM "{seq}"').fetchone())  # noqa: S608
            for (seq,) in db.execute(
                "SELECT sequence_name FROM information_schema.sequences "
                "WHERE sequence_schema = 'public'"
            ).fetchall()
        )
        return {"tables": tables, "schema": schema + sequences}


@pytest.mark.postgres
def test_round_trip_of_a_demo_on_postgresql(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (the suite's PostgreSQL run)")
    import psycopg

    settings_dict = connection.settings_dict
    names = ("xianghu_bk_src", "xianghu_bk_dst")
    with _pg_admin(settings_dict) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        started = time.monotonic()
        src_media, dst_media = tmp_path / "media_src", tmp_path / "media_dst"
        env_src = _env(_pg_url(settings_dict, names[0]), src_media)
        env_dst = _env(_pg_url(settings_dict, names[1]), dst_media)
        _manage(env_src, "migrate", "-v0")
        _manage(env_src, "demo_county", "--history-months", "1", "--quiet")
        built = time.monotonic()

        _manage(env_src, "backup", str(tmp_path / "b.tar.gz"))
        archive = tmp_path / "b.tar.gz"
        src = _pg_dump_rows(settings_dict, names[0])
        src_files = _media_tree(src_media)
        _assert_demo(src["tables"], src_files)
        _check_archive(archive, src["tables"])

        # The target: a database just created, without a table.
        _manage(env_dst, "restore", str(archive))
        _assert_same(src, _pg_dump_rows(settings_dict, names[1]))
        assert _media_tree(dst_media) == src_files
        with (
            psycopg.connect(**_pg_params(settings_dict, names[1])) as db,
            pytest.raises(psycopg.errors.RaiseException, match="append-only"),
        ):
            db.execute("UPDATE calls_callevent SET action = action")
        _manage(env_dst, "migrate", "--check", "-v0")

        def alter(sql: str) -> None:
            with psycopg.connect(**_pg_params(settings_dict, names[1])) as db:
                db.execute(sql)

        _refused_then_forced(env_dst, archive, dst_media, alter)
        _assert_same(src, _pg_dump_rows(settings_dict, names[1]))
        assert _media_tree(dst_media) == src_files
        print(
            f"\nPostgreSQL round trip: demo built in {built - started:.1f} s, backup, "
            f"restore and checks in {time.monotonic() - built:.1f} s"
        )
    finally:
        with _pg_admin(settings_dict) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
