"""Import a 12345 hotline file (CSV or .xlsx) into the county's tickets.

    manage.py hotline_import tickets.csv --county 371221 --source 12345
    manage.py hotline_import export.xlsx --county 371221 --source "市12345" \\
        --map number=工单编号 --map content=诉求内容 --encoding gb18030

The column mapping is saved on the source (`--map field=heading`, repeated); headings
12345 systems commonly use are recognised without one. Progress goes to stderr; the
summary, and where the report of failed rows is, to stdout. Exit status 1 when the file
could not be imported at all, 0 otherwise (failed rows are reported, not fatal).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xianghu.integrations.hotline import services
from xianghu.integrations.hotline.importer import DEFAULT_BATCH, media_path, run_import
from xianghu.integrations.hotline.models import Encoding, ImportRun, RunStatus
from xianghu.integrations.hotline.rows import FIELDS
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel


class Progress:
    """One line on stderr, rewritten in place on a terminal, else every few seconds."""

    def __init__(self, stream: Any, total_bytes: int) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, run: ImportRun) -> None:
        now = time.monotonic()
        done = run.status == RunStatus.DONE
        if not done and not self.tty and now - self.last < 5:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        share = 1.0 if done else run.bytes_read / self.total
        width = 30
        bar = "#" * int(share * width) + "-" * (width - int(share * width))
        line = (
            f"[{bar}] {share * 100:5.1f}%  {run.total:,} rows  {run.total / elapsed:,.0f} rows/s"
            f"  new {run.inserted:,}  updated {run.updated:,}  failed {run.failed:,}"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Import 12345 hotline tickets from a CSV or .xlsx file (idempotent by ticket number)."
    requires_system_checks: list[str] = []  # seconds saved; the import checks its input

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--county", required=True, help="the county's region code")
        parser.add_argument("--source", default="12345", help="the source's name (default 12345)")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=HEADING",
            help=f"column of a field; fields: {', '.join(FIELDS)}",
        )
        parser.add_argument("--encoding", choices=Encoding.values, default=None)
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--quiet", action="store_true", help="no progress line")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        county = Region.objects.filter(code=options["county"], level=RegionLevel.COUNTY).first()
        if county is None:
            raise CommandError(f"No county with the code {options['county']}")
        mapping = None
        if options["map"]:
            mapping = {}
            for pair in options["map"]:
                field, sep, heading = pair.partition("=")
                if not sep or field not in FIELDS:
                    raise CommandError(
                        f"--map wants FIELD=HEADING with a field of: {', '.join(FIELDS)}"
                    )
                mapping[field] = heading
        source = services.source_ensure(
            actor=None,
            county=county,
            name=options["source"],
            mapping=mapping,
            encoding=options["encoding"],
        )
        run = services.run_for_file(source=source, path=path)
        progress = None if options["quiet"] else Progress(sys.stderr, run.file_size)
        started = time.monotonic()
        run = run_import(run=run, batch_size=max(1, options["batch_size"]), progress=progress)
        elapsed = time.monotonic() - started
        if run.status == RunStatus.FAILED:
            raise CommandError(run.message)
        self.stdout.write(
            f"run {run.pk}: {run.total} rows in {elapsed:.1f} s "
            f"({run.total / max(elapsed, 1e-6):.0f} rows/s): {run.inserted} new, "
            f"{run.updated} updated, {run.failed} failed"
        )
        if run.failed:
            self.stdout.write(f"failed rows: {media_path(run.error_file)}")
