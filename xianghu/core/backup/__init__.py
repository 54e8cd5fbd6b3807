"""Backup and restore of the database and the uploaded files (docs/operations.md,
"Backup and restore"): `manage.py backup` and `manage.py restore`.

An archive is one tar file holding a native snapshot of the database (the SQLite online
backup API, or `pg_dump` in one exported snapshot), every file under `MEDIA_ROOT` and a
manifest that lists them with their sizes and SHA-256, the row count of every table, the
applied migrations and the file references of the snapshot. The restore verifies all of it
before it touches anything. App-free: the references come from every model's file fields.
"""

from .archive import FORMAT, FORMAT_VERSION, MANIFEST_NAME, BackupError
from .services import (
    BackupResult,
    RestoreResult,
    VerifiedArchive,
    archive_verify,
    backup_create,
    backup_restore,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "BackupError",
    "BackupResult",
    "RestoreResult",
    "VerifiedArchive",
    "archive_verify",
    "backup_create",
    "backup_restore",
]
