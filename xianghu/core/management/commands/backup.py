"""`manage.py backup <folder or file>`: one archive of the database and the uploaded files.

    manage.py backup /srv/backups/                       # /srv/backups/xianghu-backup-<time>.tar.gz
    manage.py backup /srv/backups/2026-11-26.tar.gz      # this name (.tar.gz, .tgz or .tar)

The database is copied first in one consistent snapshot (SQLite: the online backup API;
PostgreSQL: pg_dump in an exported snapshot), then every file under MEDIA_ROOT; the
manifest lists the row count of every table, the applied migrations and every file with
its size and SHA-256 (docs/operations.md, "Backup and restore"). The platform keeps running
meanwhile. An existing file is never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database (one consistent snapshot) and every file under MEDIA_ROOT "
        "into one archive with a manifest of tables, migrations and file checksums."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target",
            type=Path,
            help="a folder (a time-stamped .tar.gz is created in it) or a new file name "
            "ending in .tar.gz, .tgz or .tar",
        )

    def handle(self, *args: Any, target: Path, **options: Any) -> None:
        try:
            result = backup_create(target)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        for name in manifest["missing_references"]:
            self.stderr.write(
                _("Warning: %(name)s is referenced by the database but is not on disk.")
                % {"name": name}
            )
        self.stdout.write(
            _(
                "Backup written to %(path)s: %(vendor)s database, %(tables)s tables with "
                "%(rows)s rows, %(files)s files (%(bytes)s bytes) in %(seconds).1f s."
            )
            % {
                "path": result.path,
                "vendor": manifest["database"]["vendor"],
                "tables": len(manifest["tables"]),
                "rows": result.rows,
                "files": len(manifest["files"]),
                "bytes": result.file_bytes,
                "seconds": result.seconds,
            }
        )
