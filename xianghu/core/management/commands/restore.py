"""`manage.py restore <archive> [--force] [--verify-only]`: put a backup back.

    manage.py restore /srv/backups/xianghu-backup-20261126-020000.tar.gz
    manage.py restore --verify-only backup.tar.gz     # check the archive, change nothing

Stop the web server and the workers first. Everything is checked before anything is
written: every member of the archive against the checksums of its manifest, the format
version, the kind of database (a SQLite backup goes into SQLite, a PostgreSQL one into
PostgreSQL), the migrations (not newer than this code) and that the database and MEDIA_ROOT
are empty — a database that `migrate` has just created counts as empty — unless --force
(docs/operations.md, "Backup and restore"). Exits with status 1 and a coded message when
it refuses or fails.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.backup import BackupError, archive_verify, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup archive (manage.py backup) into an empty database and MEDIA_ROOT, "
        "after verifying its checksums, format version and database vendor."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="the archive written by manage.py backup")
        parser.add_argument(
            "--force",
            action="store_true",
            help="overwrite a database that holds rows and write over files in MEDIA_ROOT",
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="check the archive against its manifest and stop; change nothing",
        )
        parser.add_argument(
            "--work-dir",
            type=Path,
            default=None,
            help="where to unpack the archive meanwhile (default: the system's temporary folder)",
        )

    def handle(
        self,
        *args: Any,
        archive: Path,
        force: bool,
        verify_only: bool,
        work_dir: Path | None,
        **options: Any,
    ) -> None:
        try:
            if verify_only:
                with tempfile.TemporaryDirectory(prefix="xianghu-verify-", dir=work_dir) as work:
                    manifest = archive_verify(archive, Path(work)).manifest
                self.stdout.write(
                    _(
                        "%(path)s is intact: %(vendor)s database of %(created)s, %(tables)s "
                        "tables with %(rows)s rows, %(files)s files."
                    )
                    % {
                        "path": archive,
                        "vendor": manifest["database"]["vendor"],
                        "created": manifest["created_at"],
                        "tables": len(manifest["tables"]),
                        "rows": sum(manifest["tables"].values()),
                        "files": len(manifest["files"]),
                    }
                )
                return
            result = backup_restore(archive, force=force, work_dir=work_dir)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for name in result.manifest["missing_references"]:
            self.stderr.write(
                _("Warning: %(name)s was referenced by the database but missing from the backup.")
                % {"name": name}
            )
        if result.extra_tables:
            self.stderr.write(
                _("Warning: tables the backup does not know still hold rows: %(tables)s.")
                % {"tables": ", ".join(result.extra_tables)}
            )
        self.stdout.write(
            _(
                "Restored the backup of %(created)s: %(tables)s tables with %(rows)s rows, "
                "%(files)s files (%(bytes)s bytes) in %(seconds).1f s."
            )
            % {
                "created": result.manifest["created_at"],
                "tables": result.tables,
                "rows": result.rows,
                "files": result.files,
                "bytes": result.file_bytes,
                "seconds": result.seconds,
            }
        )
        if result.pending_migrations:
            self.stdout.write(
                _(
                    "The backup predates %(n)s migrations of this version: run manage.py "
                    "migrate now."
                )
                % {"n": len(result.pending_migrations)}
            )
