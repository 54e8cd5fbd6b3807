"""The bulk import of a hotline file: stream rows, check them, upsert them in batches.

Memory stays bounded whatever the file's size: one batch of rows, the error report is
written to a CSV file as it goes (the first `ImportRun.ERRORS_KEPT` failed rows are also
kept on the run), and duplicate ticket numbers inside one file are found by the
database (a ticket already written by this run is not written again), not by a set of
every number read.

Each batch is one transaction, with the run's counters, so the progress page always
shows what is committed, and a run that stops half way can simply be run again (the
import is idempotent by ticket number).

On PostgreSQL a CSV file takes the fast path of `sqlcheck.py`: rows are not checked in
Python one by one but go in raw with `COPY`, and set-based SQL checks and converts them,
handing back to `RowParser` only the rows it cannot accept itself (docs/benchmarks.md).
Other files on PostgreSQL (.xlsx) are checked in Python and go in with `COPY` into a
temporary table and one `INSERT … SELECT … ON CONFLICT (county_id, number) DO UPDATE …
RETURNING`; elsewhere with `bulk_create(update_conflicts=True)` after reading which
numbers already exist.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.errors import DomainError
from xianghu.core.masking import ANONYMISED

from .models import PERSONAL_FIELDS, ImportRun, RunStatus, Ticket
from .reader import REPLACEMENT, CsvReader, FileRefused, open_table
from .rows import FIELDS, ROW_COLUMNS, RowError, RowParser, TicketRow, resolve_mapping
from .sqlcheck import (
    BATCH_SETTINGS,
    UPDATE_COLUMNS,
    RawBatch,
    SqlCheckWriter,
    Written,
    bad_encoding,
    duplicate,
    upsert_assignments,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 5000
UPLOAD_DIR = "hotline/uploads"
REPORT_DIR = "hotline/reports"


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


# ---- writing a batch ----------------------------------------------------------------------


class OrmWriter:
    """Any database: read which numbers exist, then one bulk upsert."""

    def __init__(self, run: ImportRun | None, county_id: int, source_id: int | None) -> None:
        self.run_id = run.pk if run else None
        self.county_id = county_id
        self.source_id = source_id

    def write(self, rows: list[TicketRow], now: datetime) -> Written:
        numbers = [r.number for r in rows]
        existing = {
            number: (run_id, personal)
            for number, run_id, *personal in Ticket.objects.filter(
                county_id=self.county_id, number__in=numbers
            ).values_list("number", "import_run_id", *PERSONAL_FIELDS)
        }
        written = Written()
        objects = []
        for row in rows:
            values = {c: getattr(row, c) for c in ROW_COLUMNS}
            if row.number in existing:
                run_id, personal = existing[row.number]
                if self.run_id is not None and run_id == self.run_id:
                    written.skipped.append(row.number)
                    continue
                written.updated += 1
                if ANONYMISED in personal:  # purged: a re-sent ticket does not bring it back
                    values.update(zip(PERSONAL_FIELDS, personal, strict=True))
            else:
                written.inserted += 1
            objects.append(
                Ticket(
                    county_id=self.county_id,
                    source_id=self.source_id,
                    import_run_id=self.run_id,
                    created_at=now,
                    updated_at=now,
                    **values,
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
        updates = upsert_assignments(table)
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
            cursor.execute(BATCH_SETTINGS)
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
        self.rows = 0  # failed rows: a row may have several problems
        self._last_row: int | None = None
        self.kept: list[dict[str, Any]] = []

    def add(self, error: RowError) -> None:
        # A row's problems are reported together (checked together, in row order).
        if error.row != self._last_row:
            self.rows += 1
            self._last_row = error.row
        self.writer.writerow((error.row, error.number, error.column, error.code, error.message))
        if len(self.kept) < ImportRun.ERRORS_KEPT:
            self.kept.append(error.as_dict())

    def close(self) -> None:
        self.file.close()


# ---- the run --------------------------------------------------------------------------------

Progress = Callable[[ImportRun], None]


_duplicate = duplicate


def run_import(
    *,
    run: ImportRun,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    sql_checks: bool | None = None,
) -> ImportRun:
    """Import the run's file into tickets; the run records counts, progress and errors.

    A file that cannot be read at all (wrong type, no heading row, a required column
    missing) fails the run with a message and writes nothing. `sql_checks`: the fast
    path (checks in SQL, `sqlcheck.py`), possible for CSV files on PostgreSQL and taken
    there unless False."""
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
        possible = connection.vendor == "postgresql" and isinstance(table, CsvReader)
        fast = possible and sql_checks is not False
        if fast:
            writer = SqlCheckWriter(
                run_id=run.pk,
                county=county,
                source_id=source.pk,
                indices=indices,
                width=len(table.headers),
                encoding=table.encoding,
            )
            pipeline = Pipeline(run, writer, report)
            _read_raw(run, table, pipeline, batch_size, progress)
        else:
            pipeline = Pipeline(run, writer_for(run, county.pk, source.pk), report)
            _read_checked(run, table, RowParser(county, indices), pipeline, batch_size, progress)
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
        if pipeline is not None:
            pipeline.shutdown()
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


def _read_raw(
    run: ImportRun,
    table: Any,
    pipeline: Pipeline,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """The fast path's reader: the cells trimmed (`str.strip`, as `RowParser` does), with
    the row's number last; no checks here but the row's width (and the replacement
    character in cells past the headings, which the batch's text does not carry)."""
    width = len(table.headers)
    batch = RawBatch()
    rows = batch.rows
    for number, cells in table.rows():
        if not any(cells):
            continue  # an empty line: no ticket
        run.total += 1
        if len(cells) != width:
            if any(REPLACEMENT in c for c in cells[width:]):
                batch.errors.append(bad_encoding(number, table.encoding))
                continue
            cells = (cells + [""] * width)[:width]
        rows.append([*map(str.strip, cells), str(number)])
        if len(rows) >= batch_size:
            pipeline.submit(batch, table.progress())
            batch = RawBatch()
            rows = batch.rows
            if progress:
                progress(run)
    pipeline.submit(batch, 1.0)


def _read_checked(
    run: ImportRun,
    table: Any,
    parser: RowParser,
    pipeline: Pipeline,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """Every row checked in Python (`RowParser`) before it is written."""
    batch: dict[str, tuple[int, TicketRow]] = {}
    report = pipeline.report
    for number, cells in table.rows():
        if not any(cells):
            continue  # an empty line: no ticket
        run.total += 1
        if any(isinstance(c, str) and REPLACEMENT in c for c in cells):
            report.add(bad_encoding(number, table.encoding))
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


def _write(writer: Any, rows: Any, threaded: bool) -> Written:
    """One batch in one transaction (in the writer thread: on that thread's connection,
    which stays open for the run: the fast path keeps its temporary tables on it)."""
    with transaction.atomic():
        return writer.write(rows, timezone.now()) if rows else Written()


Batch = dict[str, tuple[int, TicketRow]] | RawBatch


def _account(
    run: ImportRun, written: Written, batch: Batch, report: ErrorReport, share: float
) -> None:
    """Count a committed batch and store the progress."""
    if isinstance(batch, RawBatch):
        # The reader's and the writer's errors of the batch, in row order.
        for error in sorted((*batch.errors, *written.errors), key=lambda e: e.row):
            report.add(error)
    for number in written.skipped:
        report.add(_duplicate(batch[number][0], number))  # type: ignore[index]
    run.inserted += written.inserted
    run.updated += written.updated
    run.failed = report.rows
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


def _close_connection() -> None:
    connection.close()  # `connection` is the calling thread's


class Pipeline:
    """Batches go to the database while the next one is read.

    On PostgreSQL outside a transaction, writer threads with their own connections write
    batch n while this thread reads batch n + 1 (the server works on the other core).
    The fast path (`sqlcheck`), whose work is mostly the server's, has two writers, so
    that two batches are written at once: a batch that shares a ticket number with a
    batch still being written waits for it (the first row of a number must win), and
    batches are counted in file order. At most `writers + 1` batches are held. Elsewhere
    (SQLite, or inside a transaction, as in tests) each batch is written at once."""

    def __init__(self, run: ImportRun, writer: Any, report: ErrorReport) -> None:
        self.run, self.writer, self.report = run, writer, report
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.writers = getattr(writer, "WRITERS", 1) if self.threaded else 0
        self.pool = ThreadPoolExecutor(max_workers=self.writers) if self.threaded else None
        self.pending: list[tuple[Future[Written], Batch, float, frozenset[str]]] = []

    def submit(self, batch: Batch, share: float) -> None:
        rows = batch if isinstance(batch, RawBatch) else [row for _n, row in batch.values()]
        if self.pool is None:
            _account(self.run, _write(self.writer, rows, False), batch, self.report, share)
            return
        numbers = self.writer.numbers(rows) if self.writers > 1 else frozenset()
        while self.pending and (
            len(self.pending) >= self.writers
            or any(not numbers.isdisjoint(p[3]) for p in self.pending)
        ):
            self._wait_oldest()
        self.pending.append(
            (self.pool.submit(_write, self.writer, rows, True), batch, share, numbers)
        )

    def _wait_oldest(self) -> None:
        future, batch, share, _numbers = self.pending.pop(0)
        _account(self.run, future.result(), batch, self.report, share)

    def wait(self) -> None:
        while self.pending:
            self._wait_oldest()

    def close(self) -> None:
        self.wait()

    def shutdown(self) -> None:
        """Close the writer threads' connections and stop them (also after a failure)."""
        if self.pool is not None:
            pool, self.pool = self.pool, None
            try:
                barrier = threading.Barrier(self.writers)

                def close() -> None:
                    _close_connection()
                    barrier.wait(timeout=60)  # one close on each thread

                for future in [pool.submit(close) for _n in range(self.writers)]:
                    future.result()
            finally:
                pool.shutdown(wait=True)


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
