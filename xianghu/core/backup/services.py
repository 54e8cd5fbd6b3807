"""Making, verifying and restoring a backup archive (docs/operations.md, "Backup and restore").

Consistency rule: the database is copied first, in one snapshot; the files under
`MEDIA_ROOT` are copied afterwards. A file is written before the row that references it
commits and is deleted only once no row has referenced it for a day (the orphan cleanup),
so every file the snapshot references is still on disk when the files are copied. Files
uploaded after the snapshot are copied too but referenced by no row of it (harmless; the
orphan cleanup removes them a day after a restore). The backup checks every reference of the
snapshot against the files it copied; any missing one is listed in the manifest
(`missing_references`) and reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.models import FileField
from django.utils import timezone
from django.utils.translation import gettext as _

from .archive import (
    DATABASE_MEMBERS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    MEDIA_PREFIX,
    BackupError,
    FileEntry,
    add_bytes,
    add_file,
    manifest_load,
    media_name,
    open_for_writing,
    read_members,
)
from .engines import Snapshot, engine_for, table_counts, tables_with_rows

_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.manifest["tables"].values())

    @property
    def file_bytes(self) -> int:
        return sum(f["size"] for f in self.manifest["files"])


@dataclass(frozen=True)
class VerifiedArchive:
    """An archive whose every member matched its manifest, unpacked under `work`."""

    manifest: dict[str, Any]
    work: Path

    @property
    def database(self) -> Path:
        return self.work / self.manifest["database"]["name"]

    def media_files(self) -> Iterator[tuple[str, Path, dict[str, Any]]]:
        """(storage name, unpacked file, manifest entry) of every file."""
        for entry in self.manifest["files"]:
            name = entry["name"].removeprefix(MEDIA_PREFIX)
            yield name, self.work.joinpath(*entry["name"].split("/")), entry


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    tables: int = 0
    rows: int = 0
    files: int = 0
    file_bytes: int = 0
    #: Migrations of this code the backup predates: `manage.py migrate` applies them.
    pending_migrations: list[str] = field(default_factory=list)
    #: Tables of the target the backup does not know, with rows (after `--force`).
    extra_tables: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---- backup ------------------------------------------------------------------------------


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _check_storages(media_root: Path) -> None:
    """Every file field must store under MEDIA_ROOT: that is the folder the archive holds."""
    from django.apps import apps

    for model in apps.get_models():
        for f in model._meta.local_concrete_fields:
            if not isinstance(f, FileField):
                continue
            storage = f.storage
            if not (
                isinstance(storage, FileSystemStorage)
                and Path(storage.location).resolve() == media_root.resolve()
            ):
                raise BackupError(
                    _(
                        "%(field)s stores its files outside MEDIA_ROOT; the backup covers "
                        "MEDIA_ROOT only."
                    )
                    % {"field": f"{model._meta.label}.{f.name}"},
                    code="backup.unsupported_storage",
                )


def media_files(media_root: Path) -> list[tuple[str, Path]]:
    """(storage name, path) of every regular file under `media_root`, sorted by name."""
    if not media_root.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(media_root):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found.append((path.relative_to(media_root).as_posix(), path))
    return sorted(found)


def archive_path(target: Path, now: datetime, media_root: Path) -> Path:
    """The archive to write: `target` itself if it names a .tar.gz/.tgz/.tar file, else a
    new time-stamped .tar.gz in the folder `target` (created if need be)."""
    if target.resolve().is_relative_to(media_root.resolve()):
        raise BackupError(
            _("The backup cannot be written inside MEDIA_ROOT (%(path)s), which it copies.")
            % {"path": media_root},
            code="backup.inside_media",
        )
    if target.is_dir() or not target.name.endswith(_SUFFIXES):
        target.mkdir(parents=True, exist_ok=True)
        stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
        target = target / f"xianghu-backup-{stamp}.tar.gz"
    if target.exists():
        raise BackupError(
            _("%(path)s exists already; a backup never overwrites a file.") % {"path": target},
            code="backup.exists",
        )
    if not target.parent.is_dir():
        raise BackupError(
            _("The folder %(path)s does not exist.") % {"path": target.parent},
            code="backup.no_folder",
        )
    return target


def backup_create(target: Path, *, now: datetime | None = None) -> BackupResult:
    """Write one archive of the database and every file under MEDIA_ROOT to `target` (a
    file name ending in .tar.gz, .tgz or .tar, or a folder) and return what it holds."""
    started = time.monotonic()
    now = now or timezone.now()
    media_root = _media_root()
    path = archive_path(Path(target), now, media_root)
    engine = engine_for(connection)
    _check_storages(media_root)
    partial = path.with_name(path.name + ".part")
    try:
        with tempfile.TemporaryDirectory(prefix=".xianghu-backup-", dir=path.parent) as work:
            db_member = DATABASE_MEMBERS[engine.vendor]
            db_file = Path(work) / db_member
            snap = engine.snapshot(db_file)
            with open_for_writing(partial, name=path.name) as tar:
                db_entry = add_file(tar, db_file, db_member)
                db_file.unlink()
                files = [add_file(tar, p, media_name(n)) for n, p in media_files(media_root)]
                manifest = _manifest(now, engine.vendor, snap, db_entry, files, media_root)
                data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
                add_bytes(tar, data.encode("utf-8"), MANIFEST_NAME)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(path=path, manifest=manifest, seconds=time.monotonic() - started)


def _manifest(
    now: datetime,
    vendor: str,
    snap: Snapshot,
    db_entry: FileEntry,
    files: list[FileEntry],
    media_root: Path,
) -> dict[str, Any]:
    stored = {f.name.removeprefix(MEDIA_PREFIX) for f in files}
    missing = sorted(
        {name for names in snap.references.values() for name in names if name not in stored}
    )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": now.isoformat(),
        "database": {
            **db_entry.as_dict(),
            "vendor": vendor,
            "server_version": snap.server_version,
            "name_in_settings": str(connection.settings_dict.get("NAME") or ""),
        },
        "django_version": django.get_version(),
        "python_version": platform.python_version(),
        "media_root": str(media_root),
        "migrations": snap.migrations,
        "tables": snap.tables,
        "files": [f.as_dict() for f in files],
        "references": {label: len(names) for label, names in snap.references.items()},
        "missing_references": missing,
    }


# ---- verify ------------------------------------------------------------------------------


def archive_verify(archive: Path, work: Path) -> VerifiedArchive:
    """Unpack `archive` under `work` and check every member against the manifest: format
    and version, the database and every file present with its size and SHA-256, nothing
    else in the archive. Raises `BackupError` (restore.*) at the first problem."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(
            _("%(path)s is not a file.") % {"path": archive}, code="restore.no_archive"
        )
    members = {entry.name: entry for entry in read_members(archive, work)}
    if MANIFEST_NAME not in members:
        raise BackupError(
            _("This file is not a backup of this platform (no xianghu-backup manifest)."),
            code="restore.not_a_backup",
        )
    manifest = manifest_load(work / MANIFEST_NAME)
    listed = [manifest["database"], *manifest["files"]]
    for entry in listed:
        found = members.get(entry["name"])
        if found is None:
            raise BackupError(
                _("The archive lacks %(name)s, which its manifest lists.")
                % {"name": entry["name"]},
                code="restore.missing_member",
            )
        if (found.size, found.sha256) != (entry["size"], entry["sha256"]):
            raise BackupError(
                _(
                    "%(name)s in the archive does not match its checksum in the manifest: "
                    "the archive is damaged or was altered."
                )
                % {"name": entry["name"]},
                code="restore.checksum_mismatch",
            )
    unlisted = sorted(set(members) - {e["name"] for e in listed} - {MANIFEST_NAME})
    if unlisted:
        raise BackupError(
            _("The archive holds %(name)s, which its manifest does not list.")
            % {"name": unlisted[0]},
            code="restore.unlisted_member",
        )
    return VerifiedArchive(manifest=manifest, work=work)


# ---- restore -----------------------------------------------------------------------------


def _check_migrations(manifest: dict[str, Any]) -> None:
    """Refuse a backup made by a newer version: migrations this code does not have."""
    from django.apps import apps

    loader = MigrationLoader(None, ignore_no_migrations=True)
    installed = {config.label for config in apps.get_app_configs()}
    unknown = sorted(
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        if app in installed
        for name in names
        if (app, name) not in loader.disk_migrations
    )
    if unknown:
        raise BackupError(
            _(
                "The backup was made by a newer version of the platform (migrations this "
                "version does not have: %(names)s). Restore it with that version."
            )
            % {"names": ", ".join(unknown[:5])},
            code="restore.unknown_migrations",
        )


def _check_empty(media_root: Path) -> None:
    busy = tables_with_rows(connection)
    if busy:
        raise BackupError(
            _(
                "The target database is not empty (rows in %(tables)s). A restore replaces "
                "everything: restore into an empty database, or pass --force to overwrite "
                "this one."
            )
            % {"tables": ", ".join(busy[:5]) + ("…" if len(busy) > 5 else "")},
            code="restore.target_not_empty",
        )
    if media_files(media_root):
        raise BackupError(
            _(
                "The attachment folder %(path)s is not empty. Restore into an empty folder, "
                "or pass --force to write the backup's files over it."
            )
            % {"path": media_root},
            code="restore.media_not_empty",
        )


def _restore_file(source: Path, dest: Path, entry: dict[str, Any]) -> None:
    """Copy one file into place through a temporary name, checking its SHA-256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.restoring")
    digest = hashlib.sha256()
    with source.open("rb") as src, partial.open("wb") as out:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != entry["sha256"]:
        partial.unlink(missing_ok=True)
        raise BackupError(
            _("%(name)s changed while it was restored.") % {"name": entry["name"]},
            code="restore.checksum_mismatch",
        )
    os.replace(partial, dest)


def backup_restore(
    archive: Path, *, force: bool = False, work_dir: Path | None = None
) -> RestoreResult:
    """Restore `archive` into the configured database and MEDIA_ROOT.

    Everything is checked before anything is written: the archive against its manifest,
    the database vendor, the migrations (not newer than this code), and — unless `force` —
    that the database holds no rows beyond those `migrate` writes and MEDIA_ROOT no file.
    Then the database is replaced, its row counts checked against the manifest, and the
    files written."""
    started = time.monotonic()
    media_root = _media_root()
    with tempfile.TemporaryDirectory(prefix="xianghu-restore-", dir=work_dir) as work:
        verified = archive_verify(archive, Path(work))
        manifest = verified.manifest
        engine = engine_for(connection)
        vendor = manifest["database"]["vendor"]
        if vendor != engine.vendor:
            raise BackupError(
                _(
                    "The backup holds a %(archive)s database and cannot be restored into this "
                    "%(target)s database: restore it into the same kind of database."
                )
                % {"archive": vendor, "target": engine.vendor},
                code="restore.vendor_mismatch",
            )
        _check_migrations(manifest)
        if not force:
            _check_empty(media_root)
        engine.restore(verified.database)
        counts = table_counts(connection)
        wrong = sorted(t for t, n in manifest["tables"].items() if counts.get(t) != n)
        if wrong:
            raise BackupError(
                _(
                    "The restored database does not hold the rows the manifest lists "
                    "(tables %(tables)s)."
                )
                % {"tables": ", ".join(wrong[:5])},
                code="restore.count_mismatch",
            )
        result = RestoreResult(manifest=manifest)
        result.tables = len(manifest["tables"])
        result.rows = sum(manifest["tables"].values())
        result.extra_tables = sorted(
            t for t, n in counts.items() if t not in manifest["tables"] and n
        )
        for name, source, entry in verified.media_files():
            _restore_file(source, media_root.joinpath(*name.split("/")), entry)
            result.files += 1
            result.file_bytes += entry["size"]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    result.pending_migrations = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    result.seconds = time.monotonic() - started
    return result


__all__ = [
    "BackupResult",
    "RestoreResult",
    "VerifiedArchive",
    "archive_verify",
    "backup_create",
    "backup_restore",
]
