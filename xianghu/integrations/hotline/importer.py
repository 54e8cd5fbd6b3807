"""The bulk import of a hotline file: stream rows, check them, upsert them in batches.

Memory stays bounded whatever the file's size: one batch of rows, the error report is
written to a CSV file as it goes (the first `ImportRun.ERRORS_KEPT` failed rows are also
kept on the run), and duplicate ticket numbers inside one file are found by the
database (a ticket already written by this run is not written again), not by a set of
every number read.

Each batch is one transaction, with the run's counters, so the progress page always
shows what is committed, and a run that stops half way can simply be run again (the
import is idempotent by ticket number).

On PostgreSQL a batch goes in with `COPY` into a temporary table and one
`INSERT … SELECT … ON CONFLICT (county_id, number) DO UPDATE … RETURNING` (docs/
benchmarks.md); elsewhere with `bulk_create(update_conflicts=True)` after reading which
numbers already exist.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.errors import DomainError

from .models import ImportRun, RunStatus, Ticket
from .reader import REPLACEMENT, FileRefused, open_table
from .rows import FIELDS, ROW_COLUMNS, RowError, RowParser, TicketRow, resolve_mapping

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 5000
# The columns an import (or a push) updates: never what the platform did with the ticket.
UPDATE_COLUMNS = (*ROW_COLUMNS, "source_id", "import_run_id", "updated_at")
UPLOAD_DIR = "hotline/uploads"
REPORT_DIR = "hotline/reports"


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


# ---- writing a batch ----------------------------------------------------------------------


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # numbers this run had written already


class OrmWriter:
    """Any database: read which numbers exist, then one bulk upsert."""

    def __init__(self, run: ImportRun | None, county_id: int, source_id: int | None) -> None:
        self.run_id = run.pk if run else None
        self.county_id = county_id
        self.source_id = source_id

    def write(self, rows: list[TicketRow], now: datetime) -> Written:
        numbers = [r.number for r in rows]
        existing = dict(
            Ticket.objects.filter(county_id=self.county_id, number__in=numbers).values_list(
                "number", "import_run_id"
            )
        )
        written = Written()
        objects = []
        for row in rows:
            if row.number in existing:
                if self.run_id is not None and existing[row.number] == self.run_id:
                    written.skipped.append(row.number)
                    continue
                written.updated += 1
            else:
                written.inserted += 1
            objects.append(
                Ticket(
                    county_id=self.county_id,
                    source_id=self.source_id,
                    import_run_id=self.run_id,
                    created_at=now,
                    updated_at=now,
                    **{c: getattr(row, c) for c in ROW_COLUMNS},
                )
            )
        if objects:
            Ticket.objects.bulk_create(
                objects,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["county", "number"],
                update_fields=[c.removesuffix("_id") for c in UPDATE_COLUMNS],
            )
        return written


_PG_TYPES = {
    "received_at": "timestamptz",
    "deadline": "timestamptz",
    "township_id": "integer",
    "location_id": "integer",
}


class PgWriter:
    """PostgreSQL: COPY into a temporary table, then one INSERT … ON CONFLICT … RETURNING.

    `xmax = 0` in RETURNING tells a new row from an updated one; a row whose ticket this
    run already wrote (a duplicate inside the file) is left alone by the `WHERE` of the
    update and is missing from RETURNING."""

    STAGE = "hotline_stage"

    def __init__(self, run: ImportRun | None, county_id: int, source_id: int | None) -> None:
        self.run_id = run.pk if run else None
        self.county_id = county_id
        self.source_id = source_id
        table = Ticket._meta.db_table
        columns = ", ".join(ROW_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATE_COLUMNS)
        self.create = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.STAGE} ("
            + ", ".join(f"{c} {_PG_TYPES.get(c, 'text')}" for c in ROW_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        self.copy = f"COPY {self.STAGE} ({columns}) FROM STDIN"
        # Names from the model, values bound.
        self.upsert = (
            f"INSERT INTO {table} (county_id, source_id, import_run_id, {columns}, "  # noqa: S608
            "disposition, created_at, updated_at) "
            f"SELECT %s, %s, %s, {columns}, 'new', %s, %s FROM {self.STAGE} "
            f"ON CONFLICT (county_id, number) DO UPDATE SET {updates} "
            f"WHERE {table}.import_run_id IS DISTINCT FROM EXCLUDED.import_run_id "
            "RETURNING number, (xmax = 0)"
        )

    def write(self, rows: list[TicketRow], now: datetime) -> Written:
        written = Written()
        with connection.cursor() as cursor:
            cursor.execute(self.create)
            # Emptied on commit; inside an outer transaction (tests) it must be emptied here.
            cursor.execute(f"TRUNCATE {self.STAGE}")
            with cursor.cursor.copy(self.copy) as copy:
                for row in rows:
                    copy.write_row([getattr(row, c) for c in ROW_COLUMNS])
            cursor.execute(self.upsert, [self.county_id, self.source_id, self.run_id, now, now])
            returned = cursor.fetchall()
        seen = set()
        for number, inserted in returned:
            seen.add(number)
            if inserted:
                written.inserted += 1
            else:
                written.updated += 1
        if len(seen) != len(rows):
            written.skipped = [r.number for r in rows if r.number not in seen]
        return written


def writer_for(run: ImportRun | None, county_id: int, source_id: int | None) -> Any:
    if connection.vendor == "postgresql":
        return PgWriter(run, county_id, source_id)
    return OrmWriter(run, county_id, source_id)


# ---- the error report -----------------------------------------------------------------------


class ErrorReport:
    """Every failed row into a CSV file (UTF-8 with BOM, for Excel); the first few also
    on the run."""

    HEADER = ("row", "ticket number", "column", "code", "message")

    def __init__(self, run: ImportRun) -> None:
        self.relative = f"{REPORT_DIR}/run-{run.pk}-errors.csv"
        path = media_path(self.relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.writer.writerow(self.HEADER)
        self.count = 0
        self.kept: list[dict[str, Any]] = []

    def add(self, error: RowError) -> None:
        self.count += 1
        self.writer.writerow((error.row, error.number, error.column, error.code, error.message))
        if len(self.kept) < ImportRun.ERRORS_KEPT:
            self.kept.append(error.as_dict())

    def close(self) -> None:
        self.file.close()


# ---- the run --------------------------------------------------------------------------------

Progress = Callable[[ImportRun], None]


def _duplicate(row: int, number: str) -> RowError:
    return RowError(
        row,
        number,
        "hotline.duplicate_in_file",
        _(
            "The ticket number %(number)s appears earlier in this file; this row was not "
            "imported (the first row is kept)."
        )
        % {"number": number},
        str(FIELDS["number"][0]),
    )


def run_import(
    *, run: ImportRun, batch_size: int = DEFAULT_BATCH, progress: Progress | None = None
) -> ImportRun:
    """Import the run's file into tickets; the run records counts, progress and errors.

    A file that cannot be read at all (wrong type, no heading row, a required column
    missing) fails the run with a message and writes nothing."""
    source = run.source
    county = source.county
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    report = ErrorReport(run)
    run.error_file = report.relative
    started = time.monotonic()
    try:
        table = open_table(Path(run.file_path), run.file_name, source.encoding)
    except DomainError as error:
        report.close()
        return _fail(run, str(error.message))
    pipeline: Pipeline | None = None
    try:
        indices, missing = resolve_mapping(table.headers, source.mapping)
        if missing:
            names = "、".join(str(FIELDS[f][0]) for f in missing)
            return _fail(
                run,
                _(
                    "Required columns are missing: %(names)s. Map them to columns of the "
                    "file (the file's headings: %(headings)s)."
                )
                % {"names": names, "headings": "、".join(h for h in table.headers if h)[:500]},
            )
        parser = RowParser(county, indices)
        pipeline = Pipeline(run, writer_for(run, county.pk, source.pk), report)
        batch: dict[str, tuple[int, TicketRow]] = {}
        for number, cells in table.rows():
            if not any(cells):
                continue  # an empty line: no ticket
            run.total += 1
            if any(isinstance(c, str) and REPLACEMENT in c for c in cells):
                report.add(
                    RowError(
                        number,
                        "",
                        "hotline.bad_encoding",
                        _(
                            "The row is not valid %(encoding)s text; save the file as UTF-8 "
                            "or GBK and import it again."
                        )
                        % {"encoding": table.encoding},
                    )
                )
                continue
            parsed = parser.from_cells(number, cells)
            if isinstance(parsed, list):
                for problem in parsed:
                    report.add(problem)
                continue
            if parsed.number in batch:
                report.add(_duplicate(number, parsed.number))
                continue
            batch[parsed.number] = (number, parsed)
            if len(batch) >= batch_size:
                pipeline.submit(batch, table.progress())
                batch = {}
                if progress:
                    progress(run)
        pipeline.submit(batch, 1.0)
        pipeline.close()
    except FileRefused as error:
        return _fail(run, str(error.message))
    except Exception:
        logger.exception("hotline import %s failed", run.pk)
        return _fail(
            run,
            _(
                "The import stopped at row %(row)s because of an internal error; rows before it are in."
            )
            % {"row": run.total + 1},
        )
    finally:
        if pipeline is not None and pipeline.pool is not None:
            pipeline.pool.shutdown(wait=True)
        report.close()
        table.close()
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "bytes_read"])
    _remove_upload(run)
    if progress:
        progress(run)
    logger.info(
        "hotline import %s: %s rows, %s new, %s updated, %s failed in %.1f s",
        run.pk,
        run.total,
        run.inserted,
        run.updated,
        run.failed,
        time.monotonic() - started,
    )
    return run


def _write(writer: Any, rows: list[TicketRow], threaded: bool) -> Written:
    """One batch in one transaction (in the writer thread: on that thread's connection)."""
    try:
        with transaction.atomic():
            return writer.write(rows, timezone.now()) if rows else Written()
    finally:
        if threaded:
            connection.close()  # the thread's own connection; a new one per batch is cheap


def _account(
    run: ImportRun,
    written: Written,
    batch: dict[str, tuple[int, TicketRow]],
    report: ErrorReport,
    share: float,
) -> None:
    """Count a committed batch and store the progress."""
    for number in written.skipped:
        report.add(_duplicate(batch[number][0], number))
    run.inserted += written.inserted
    run.updated += written.updated
    run.failed = report.count
    run.errors = report.kept
    run.bytes_read = int(run.file_size * share)
    report.file.flush()
    ImportRun.objects.filter(pk=run.pk).update(
        total=run.total,
        inserted=run.inserted,
        updated=run.updated,
        failed=run.failed,
        errors=run.errors,
        bytes_read=run.bytes_read,
        error_file=run.error_file,
    )


class Pipeline:
    """Batches go to the database while the next one is parsed.

    On PostgreSQL outside a transaction, a single writer thread with its own connection
    writes batch n while this thread reads and checks batch n + 1 (the server works on
    the other core): at most two batches are held. Elsewhere (SQLite, or inside a
    transaction, as in tests) each batch is written at once."""

    def __init__(self, run: ImportRun, writer: Any, report: ErrorReport) -> None:
        self.run, self.writer, self.report = run, writer, report
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.pool = ThreadPoolExecutor(max_workers=1) if self.threaded else None
        self.pending: tuple[Future[Written], dict[str, tuple[int, TicketRow]], float] | None = None

    def submit(self, batch: dict[str, tuple[int, TicketRow]], share: float) -> None:
        rows = [row for _n, row in batch.values()]
        if self.pool is None:
            _account(self.run, _write(self.writer, rows, False), batch, self.report, share)
            return
        self.wait()
        self.pending = (self.pool.submit(_write, self.writer, rows, True), batch, share)

    def wait(self) -> None:
        if self.pending is not None:
            future, batch, share = self.pending
            self.pending = None
            _account(self.run, future.result(), batch, self.report, share)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)


def _fail(run: ImportRun, message: str) -> ImportRun:
    run.status = RunStatus.FAILED
    run.message = message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at", "error_file"])
    _remove_upload(run)
    return run


def _remove_upload(run: ImportRun) -> None:
    """Uploaded files are removed once imported (the error report keeps the failed rows);
    files named on the command line are the user's and stay."""
    upload_dir = media_path(UPLOAD_DIR).resolve()
    path = Path(run.file_path).resolve() if run.file_path else None
    if path is not None and path.is_relative_to(upload_dir):
        path.unlink(missing_ok=True)
