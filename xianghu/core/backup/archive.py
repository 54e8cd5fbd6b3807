"""The archive: a tar file (gzip-compressed for `.tar.gz`/`.tgz`) with

- `database.sqlite3` or `database.pgdump` — the database snapshot,
- `media/<name>` — every file under `MEDIA_ROOT`, by its storage name,
- `manifest.json` — last, written once everything it describes is in the archive.

Members are read as streams and written to a work folder under names checked here; tar
metadata (owners, modes, links, devices) is never applied.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.utils.translation import gettext as _

from xianghu.core.errors import DomainError

FORMAT = "xianghu-backup"
#: Bumped whenever the layout or the manifest changes incompatibly; restore accepts only it.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MEDIA_PREFIX = "media/"
#: The database member of each supported vendor.
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
_CHUNK = 1024 * 1024


class BackupError(DomainError):
    """A backup or restore refused or failed; `code` is stable (backup.*, restore.*)."""

    code = "backup.error"
    status = 400

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


@dataclass(frozen=True)
class FileEntry:
    """One member of the archive: its name there, size and SHA-256."""

    name: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


def sha256_file(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(name=path.name, size=size, sha256=digest.hexdigest())


class _HashingReader(io.RawIOBase):
    """Reads a file for `tarfile.addfile`, hashing what it hands out."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def open_for_writing(path: Path, *, name: str) -> tarfile.TarFile:
    """A new archive at `path`, gzip-compressed if its final `name` ends .tar.gz or .tgz."""
    if name.endswith((".tar.gz", ".tgz")):
        return tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=6)
    return tarfile.open(path, "w", format=tarfile.PAX_FORMAT)


def add_file(tar: tarfile.TarFile, source: Path, name: str) -> FileEntry:
    """Add `source` as `name`, hashing exactly the bytes that go into the archive."""
    with source.open("rb") as fh:
        size = Path(source).stat().st_size
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        info.mtime = int(Path(source).stat().st_mtime)
        reader = _HashingReader(fh)
        # tarfile copies exactly `size` bytes and fails if the file is shorter.
        tar.addfile(info, reader)
    return FileEntry(name=name, size=reader.size, sha256=reader.digest.hexdigest())


def add_bytes(tar: tarfile.TarFile, data: bytes, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def media_name(name: str) -> str:
    """The archive name of a file stored under `name` in MEDIA_ROOT."""
    return MEDIA_PREFIX + name


def safe_member_name(name: str) -> PurePosixPath | None:
    """`name` as a relative path if it is one the archive may hold, else None."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    path = PurePosixPath(name)
    if any(part in ("", ".", "..") for part in name.split("/")):
        return None
    if name in (MANIFEST_NAME, *DATABASE_MEMBERS.values()):
        return path
    if name.startswith(MEDIA_PREFIX) and len(path.parts) > 1:
        return path
    return None


def read_members(archive: Path, work: Path) -> Iterator[FileEntry]:
    """Write every member of `archive` under `work`, checked and hashed; yield each entry.

    Raises `BackupError` for an unreadable archive, a member that is not a plain file, a
    name outside the layout (absolute, `..`, unknown) or a name seen twice."""
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isdir():
                    continue
                relative = safe_member_name(member.name)
                if relative is None or not member.isfile():
                    raise BackupError(
                        _("The archive holds a member that a backup never contains: %(name)s.")
                        % {"name": member.name},
                        code="restore.unsafe_member",
                    )
                if member.name in seen:
                    raise BackupError(
                        _("The archive holds %(name)s twice.") % {"name": member.name},
                        code="restore.unsafe_member",
                    )
                seen.add(member.name)
                target = work.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                assert stream is not None  # a regular file
                digest = hashlib.sha256()
                size = 0
                with target.open("wb") as out:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                yield FileEntry(name=member.name, size=size, sha256=digest.hexdigest())
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BackupError(
            _("The archive %(archive)s cannot be read: %(error)s")
            % {"archive": archive, "error": exc},
            code="restore.unreadable_archive",
        ) from exc


def manifest_load(path: Path) -> dict[str, Any]:
    """The manifest at `path`, checked for the fields a restore needs and the format."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(
            _("The manifest of the archive cannot be read: %(error)s") % {"error": exc},
            code="restore.bad_manifest",
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            _("This file is not a backup of this platform (no xianghu-backup manifest)."),
            code="restore.not_a_backup",
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupError(
            _(
                "The backup has format version %(found)s; this version of the platform "
                "restores format version %(supported)s only."
            )
            % {"found": version, "supported": FORMAT_VERSION},
            code="restore.unsupported_format_version",
        )
    try:
        database = manifest["database"]
        _check_entry(database)
        if DATABASE_MEMBERS.get(database["vendor"]) != database["name"]:
            raise ValueError(database["vendor"])
        for entry in manifest["files"]:
            _check_entry(entry)
            if not entry["name"].startswith(MEDIA_PREFIX):
                raise ValueError(entry["name"])
        for table, count in manifest["tables"].items():
            if not isinstance(table, str) or not isinstance(count, int):
                raise ValueError(table)
        for app, names in manifest["migrations"].items():
            if not isinstance(app, str) or not all(isinstance(n, str) for n in names):
                raise ValueError(app)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(
            _("The manifest of the archive is incomplete or malformed (%(error)s).")
            % {"error": exc},
            code="restore.bad_manifest",
        ) from exc
    return manifest


def _check_entry(entry: Any) -> None:
    if not (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("size"), int)
        and isinstance(entry.get("sha256"), str)
    ):
        raise ValueError(repr(entry)[:80])
