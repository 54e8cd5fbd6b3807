"""The PostgreSQL fast path of the CSV import: rows go in raw, the checks run in SQL.

The reader thread only splits the CSV into cells (no per-row checks); each batch goes
with one `COPY` of raw text into a temporary table, and set-based SQL does what
`rows.RowParser` does in Python for the rows in the forms 12345 exports use:

- required fields and lengths (`length` counts characters, as `len` does; the reader
  has already trimmed each cell with `str.strip()`, as `RowParser` does);
- dates `YYYY-MM-DD[ HH:MM[:SS]]` (or `T`), the forms `datetime.fromisoformat` reads:
  the day by a join to the run's table of the days seen (each checked once by Python,
  with its local midnight computed by `zoneinfo`), the time by a join to the minutes of
  a day and a check of the seconds' digits — no text is cast before it is known to be
  valid, and no time-zone rule is applied in SQL; the days around a change of the
  zone's UTC offset have no midnight in the table, so their rows go to Python;
- type and urgency by joins to the exact words Python maps (`rows.ticket_type`,
  `rows.URGENCY_WORDS`), computed by Python itself when the tables are filled;
- region codes by a join to the county's townships and villages; addresses without a
  code by a join to a per-run table of the distinct addresses, each resolved once by
  `regions.places.PlaceFinder` (the longest township or village name, other counties);
- the phone number by the same character class.

A row that does not pass every check in SQL is not refused by SQL: it goes back to
Python and `RowParser` decides (an error with its code and message, or a ticket in a
form SQL does not read, such as 2025年3月1日 or 其他意见). So SQL only ever accepts rows
that Python would accept with the same values, and every error is Python's. Rows with
the replacement character (bad encoding) are reported and rows with NUL are checked by
Python before the batch is copied (`_sort_out`).

The same statement writes the rows that pass and whose number is on no other row of
the batch, with `INSERT … ON CONFLICT DO UPDATE … WHERE import_run_id IS DISTINCT FROM
…`: a number this run already wrote in an earlier batch is left alone and reported as a
duplicate. It returns the counts, those duplicates, and the raw rows Python must decide:
the rows that did not pass, and every row of a number found on more than one row of the
batch. Python checks these in file order, keeps the first valid row of each number
(later ones are duplicates) and writes them through a second temporary table with the
same upsert."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from xianghu.core.masking import ANONYMISED
from xianghu.regions.models import Region

from .models import PERSONAL_FIELDS, Ticket
from .rows import (
    _TYPES,
    FIELDS,
    MAX_TEXT,
    ROW_COLUMNS,
    TYPE_WORDS,
    URGENCY_WORDS,
    RowError,
    RowParser,
    TicketRow,
    ticket_type,
)

REPLACEMENT = "\ufffd"
FIRST_YEAR, LAST_YEAR = 1990, 2100  # the years rows.parse_datetime_cell accepts
_PHONE_RE = "^[-0-9+() 转*#]*$"  # rows._PHONE_OK without the length (checked apart)
# The columns an import (or a push) updates: never what the platform did with the ticket.
UPDATE_COLUMNS = (*ROW_COLUMNS, "source_id", "import_run_id", "updated_at")
# For the batch's transaction only: memory for its joins and sorts, and the commit does
# not wait for the WAL to reach the disk (a bulk load's usual setting: after a crash of
# the server the last batches committed, with the run's counters, may be missing — no
# ticket is half written, and the import is run again, idempotent by number).
BATCH_SETTINGS = (
    "SELECT set_config('work_mem', '64MB', true), set_config('synchronous_commit', 'off', true)"
)
_TYPES_SQL = {
    "received_at": "timestamptz",
    "deadline": "timestamptz",
    "township_id": "integer",
    "location_id": "integer",
}


def upsert_assignments(table: str) -> str:
    """The `SET` of an upsert's `ON CONFLICT (county_id, number) DO UPDATE`: every column
    an import writes from `EXCLUDED`, except the caller's data of a ticket whose personal
    data was purged (a value anonymised): a re-sent ticket does not bring it back."""
    purged = " OR ".join(f"{table}.{c} = '{ANONYMISED}'" for c in PERSONAL_FIELDS)
    return ", ".join(
        f"{c} = CASE WHEN {purged} THEN {table}.{c} ELSE EXCLUDED.{c} END"
        if c in PERSONAL_FIELDS
        else f"{c} = EXCLUDED.{c}"
        for c in UPDATE_COLUMNS
    )


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # numbers this run had written already
    errors: list[RowError] = field(default_factory=list)  # the fast path's failed rows


@dataclass
class RawBatch:
    """Rows as the CSV reader gave them: every column of the file, then the row's number
    in the file; plus errors the reader found itself (in row order after merging)."""

    rows: list[list[str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)


def bad_encoding(row: int, encoding: str) -> RowError:
    return RowError(
        row,
        "",
        "hotline.bad_encoding",
        _(
            "The row is not valid %(encoding)s text; save the file as UTF-8 "
            "or GBK and import it again."
        )
        % {"encoding": encoding},
    )


def offset_change_days(tz: ZoneInfo, first: int = FIRST_YEAR, last: int = LAST_YEAR) -> list[date]:
    """The days (with two before and one after) on which the zone's UTC offset changes:
    dates on them are read by Python, not SQL."""
    days: set[date] = set()
    day = date(first, 1, 1)
    previous = datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()
    end = date(last, 12, 31)
    while day < end:
        day += timedelta(days=1)
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()
        if offset != previous:
            days.update(day + timedelta(days=d) for d in (-2, -1, 0, 1))
        previous = offset
    return sorted(days)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def day_midnight(text: str, tz: ZoneInfo, skip: frozenset[date]) -> datetime | None:
    """The local midnight of a day `YYYY-MM-DD` SQL may read (as `fromisoformat` does,
    in the years Python accepts, not on a day the zone's offset changes), else None."""
    if not _DAY.match(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR or day in skip:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _date_sql(x: str, day: str, minute: str) -> str:
    """The timestamptz of the text x when it is `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or
    `YYYY-MM-DD HH:MM:SS` (or `T`) of a day in the day table, else NULL; `day` and
    `minute` are the rows of the day and minute tables joined on x's parts."""
    seconds = (
        f"substr({x}, 17, 1) = ':' AND substr({x}, 18, 1) COLLATE \"C\" BETWEEN '0' AND '5' "
        f"AND substr({x}, 19, 1) COLLATE \"C\" BETWEEN '0' AND '9'"
    )
    return (
        f"CASE WHEN length({x}) = 10 THEN {day}.midnight "
        f"WHEN substr({x}, 11, 1) IN (' ', 'T') AND {minute}.secs IS NOT NULL THEN "
        f"CASE WHEN length({x}) = 16 THEN {day}.midnight + {minute}.secs * interval '1 second' "
        f"WHEN length({x}) = 19 AND {seconds} THEN {day}.midnight "
        f"+ ({minute}.secs + substr({x}, 18, 2)::int) * interval '1 second' END END"
    )


class SqlCheckWriter:
    """One batch of raw CSV rows: COPY, check and convert in SQL, upsert (see above)."""

    RAW, STAGE = "hotline_raw", "hotline_stage"
    PLACE, ADDR = "hotline_place", "hotline_addr"
    TYPE, URGENCY = "hotline_type", "hotline_urgency"
    DAY, MINUTE = "hotline_day", "hotline_minute"
    WRITERS = 2  # the work is the server's: two batches at once (importer.Pipeline)

    def __init__(
        self,
        *,
        run_id: int | None,
        county: Region,
        source_id: int | None,
        indices: dict[str, int],
        width: int,
        encoding: str,
    ) -> None:
        self.run_id, self.county, self.source_id = run_id, county, source_id
        self.width, self.encoding = width, encoding
        self.parser = RowParser(county, indices)
        self.places = self.parser.places
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.local = threading.local()  # which connection this thread prepared
        self.number_column = indices["number"]
        cols = [f"c{i}" for i in range(width)]
        self.raw_columns = cols
        self.create_raw = (
            f"CREATE TEMPORARY TABLE {self.RAW} ("
            + ", ".join(f"{c} text" for c in cols)
            + ", rn integer)"
        )
        self.create_stage = (
            f"CREATE TEMPORARY TABLE {self.STAGE} (rn integer, "
            + ", ".join(f"{c} {_TYPES_SQL.get(c, 'text')}" for c in ROW_COLUMNS)
            + ")"
        )
        self.convert = self._convert_sql(indices)
        self.lookups = self._lookups_sql(indices)
        self.skip_days = frozenset(offset_change_days(self.tz))
        self.upsert = self._insert_sql(self.STAGE) + " RETURNING number, (xmax = 0)"

    # ---- SQL ---------------------------------------------------------------------------

    @staticmethod
    def _value(indices: dict[str, int], name: str) -> str:
        return f"r.c{indices[name]}" if name in indices else "''::text"

    def _lookups_sql(self, indices: dict[str, int]) -> str:
        """The days and the addresses (without a region code) of the batch that the run's
        tables do not hold yet."""
        parts = []
        days = [self._value(indices, n) for n in ("received_at", "deadline") if n in indices]
        if days:
            texts = " UNION ALL ".join(
                f"SELECT left({d}, 10) AS x FROM {self.RAW} r"  # noqa: S608  (names from code)
                for d in days
            )
            parts.append(
                f"SELECT DISTINCT 'd', x FROM ({texts}) s WHERE x <> '' "  # noqa: S608
                f"AND NOT EXISTS (SELECT 1 FROM {self.DAY} t WHERE t.day = s.x)"
            )
        if "address" in indices:
            address, code = self._value(indices, "address"), self._value(indices, "region_code")
            parts.append(
                f"SELECT DISTINCT 'a', {address} FROM {self.RAW} r "  # noqa: S608
                f"WHERE {code} = '' AND {address} <> '' AND length({address}) <= 200 "
                f"AND NOT EXISTS (SELECT 1 FROM {self.ADDR} a WHERE a.address = {address})"
            )
        return " UNION ALL ".join(parts)

    def _convert_sql(self, indices: dict[str, int]) -> str:
        """Every row converted (an inner query, kept apart by `OFFSET 0` so that each
        value is computed once), then whether it passes; the rows that pass go to the
        stage table, the others back to Python."""
        f = {name: self._value(indices, name) for name in FIELDS}
        code, address = f["region_code"], f["address"]
        out = {
            "received_at": _date_sql(f["received_at"], "dr", "mr"),
            "type": "ty.value",
            "region_code": f"left({code}, 12)",
            "township_id": f"CASE WHEN {code} = '' THEN ad.township_id ELSE pl.township_id END",
            "location_id": f"CASE WHEN {code} = '' THEN ad.location_id ELSE pl.location_id END",
            "urgency": "ur.value",
            "deadline": _date_sql(f["deadline"], "dd", "md"),
        }
        selected = ", ".join(f"{out.get(c) or f[c]} AS {c}" for c in ROW_COLUMNS)
        extra = {  # what the check needs beyond the converted values
            "received_text": f["received_at"],
            "deadline_text": f["deadline"],
            "code_text": code,
            "place_ok": f"CASE WHEN {code} = '' THEN {address} = '' OR ad.outside IS FALSE "
            "ELSE pl.code IS NOT NULL END",
        }
        text = {
            "received_at": "received_text",
            "deadline": "deadline_text",
            "region_code": "code_text",
        }
        # octet_length is free and bounds length (characters): length only when needed.
        limits = " AND ".join(
            f"(octet_length({text.get(name, name)}) <= {spec[2] or MAX_TEXT} "
            f"OR length({text.get(name, name)}) <= {spec[2] or MAX_TEXT})"
            for name, spec in FIELDS.items()
            if name in indices
        )
        ok = (
            "number <> '' AND content <> ''"
            + (f" AND {limits}" if limits else "")
            + " AND (received_text = '' OR received_at IS NOT NULL)"
            " AND (deadline_text = '' OR deadline IS NOT NULL)"
            " AND type IS NOT NULL AND urgency IS NOT NULL"
            " AND (caller_phone = '' OR btrim(caller_phone, '0123456789') = ''"
            f" OR caller_phone ~ '{_PHONE_RE}')"
            " AND place_ok"
        )
        raw = ", ".join(f"r.{c}" for c in self.raw_columns)
        nulls = "".join(", NULL" for _c in self.raw_columns[2:])  # the width of a raw row
        checked = ", ".join(f"{v} AS {k}" for k, v in extra.items())
        return (
            f"WITH c AS MATERIALIZED (SELECT s.*, ({ok}) AS ok FROM ("  # noqa: S608
            f"SELECT r.rn, {selected}, {checked} FROM {self.RAW} r "
            f"LEFT JOIN {self.TYPE} ty ON ty.word = {f['type']} "
            f"LEFT JOIN {self.URGENCY} ur ON ur.word = {f['urgency']} "
            f"LEFT JOIN {self.PLACE} pl ON pl.code = {code} "
            f"LEFT JOIN {self.ADDR} ad ON ad.address = {address} AND {code} = '' "
            f"LEFT JOIN {self.DAY} dr ON dr.day = left({f['received_at']}, 10) "
            f"LEFT JOIN {self.MINUTE} mr ON mr.hm = substr({f['received_at']}, 12, 5) "
            f"LEFT JOIN {self.DAY} dd ON dd.day = left({f['deadline']}, 10) "
            f"LEFT JOIN {self.MINUTE} md ON md.hm = substr({f['deadline']}, 12, 5) "
            "OFFSET 0) s), "
            # Numbers on more than one row of the batch (or on a row Python holds) are
            # decided in Python, in file order; the other rows that pass go in here.
            "multi AS (SELECT number FROM c GROUP BY number HAVING count(*) > 1 "
            "UNION ALL SELECT unnest(%(held)s::text[])), "
            "fast AS (SELECT * FROM c WHERE ok AND number NOT IN (SELECT number FROM multi)), "
            f"up AS ({self._insert_sql('fast')} RETURNING number, (xmax = 0) AS fresh) "
            "SELECT 'n', -1, (SELECT count(*) FROM up WHERE fresh)::text, "
            f"(SELECT count(*) FROM up WHERE NOT fresh)::text{nulls} "
            f"UNION ALL SELECT 'k', rn, number, NULL{nulls} FROM fast "
            "WHERE number NOT IN (SELECT number FROM up) "
            f"UNION ALL SELECT 's', r.rn, {raw} FROM {self.RAW} r WHERE r.rn IN "
            "(SELECT rn FROM c WHERE NOT ok OR number IN (SELECT number FROM multi)) "
            "ORDER BY 2"
        )

    @staticmethod
    def _insert_sql(source: str) -> str:
        """The upsert of the rows of `source` (file order): what the platform did with a
        ticket is never overwritten, and a ticket this run wrote already is left alone."""
        table = Ticket._meta.db_table
        columns = ", ".join(ROW_COLUMNS)
        updates = upsert_assignments(table)
        return (
            f"INSERT INTO {table} (county_id, source_id, import_run_id, {columns}, "  # noqa: S608
            "disposition, created_at, updated_at) "
            f"SELECT %(county)s, %(source)s, %(run)s, {columns}, 'new', %(now)s, %(now)s "
            f"FROM {source} ORDER BY rn "
            f"ON CONFLICT (county_id, number) DO UPDATE SET {updates} "
            f"WHERE {table}.import_run_id IS DISTINCT FROM EXCLUDED.import_run_id"
        )

    # ---- per connection ------------------------------------------------------------------

    def _prepare(self, cursor: Any) -> None:
        """The temporary tables of this run on this connection, and the lookups."""
        tables = (self.RAW, self.STAGE, self.PLACE, self.ADDR, self.TYPE, self.URGENCY)
        for table in (*tables, self.DAY, self.MINUTE):
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        cursor.execute(self.create_raw)
        cursor.execute(self.create_stage)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {self.PLACE} "
            "(code text PRIMARY KEY, location_id integer, township_id integer)"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {self.ADDR} (address text PRIMARY KEY, "
            "location_id integer, township_id integer, outside boolean NOT NULL)"
        )
        for table in (self.TYPE, self.URGENCY):
            cursor.execute(f"CREATE TEMPORARY TABLE {table} (word text PRIMARY KEY, value text)")
        county_code = self.county.code
        places = []
        for code, region in self.places.by_code.items():
            # What RowParser accepts: a code of the county other than the county's own.
            if code.startswith(county_code) and code != county_code:
                township = self.places.township(region)
                places.append((code, region.pk, township.pk if township else None))
        self._copy(cursor, f"{self.PLACE} (code, location_id, township_id)", places)
        # The words Python maps, with Python's answer for each (exact text only).
        words = {"", *(w for w, _v in TYPE_WORDS), *(f"{w}类" for w, _v in TYPE_WORDS), *_TYPES}
        types = [(w, ticket_type(w)) for w in sorted(words)]
        self._copy(cursor, f"{self.TYPE} (word, value)", [t for t in types if t[1] is not None])
        urgencies = [(w, URGENCY_WORDS.get(w.lower())) for w in URGENCY_WORDS]
        self._copy(
            cursor, f"{self.URGENCY} (word, value)", [u for u in urgencies if u[1] is not None]
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {self.DAY} (day text PRIMARY KEY, midnight timestamptz)"
        )
        cursor.execute(f"CREATE TEMPORARY TABLE {self.MINUTE} (hm text PRIMARY KEY, secs integer)")
        minutes = [(f"{m // 60:02d}:{m % 60:02d}", m * 60) for m in range(24 * 60)]
        self._copy(cursor, f"{self.MINUTE} (hm, secs)", minutes)
        for table in (self.PLACE, self.TYPE, self.URGENCY, self.MINUTE):
            cursor.execute(f"ANALYZE {table}")

    @staticmethod
    def _copy(cursor: Any, target: str, rows: list[tuple[Any, ...]]) -> None:
        with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    # ---- one batch -----------------------------------------------------------------------

    def numbers(self, batch: RawBatch) -> frozenset[str]:
        """The ticket numbers of a batch (as RowParser reads them): batches that share
        none may be written at once."""
        column = self.number_column
        return frozenset(row[column].replace("\x00", "")[:64] for row in batch.rows)

    def write(self, batch: RawBatch, now: datetime) -> Written:
        written = Written()
        errors: list[RowError] = []
        rows = batch.rows
        with connection.cursor() as cursor:
            if getattr(self.local, "connection", None) is not connection.connection:
                self._prepare(cursor)
                self.local.connection = connection.connection
            else:
                cursor.execute(f"TRUNCATE {self.RAW}, {self.STAGE}")
            body = self._body(rows)
            parsed: list[tuple[int, TicketRow]] = []
            if body is None:  # unusual text: separate rows (bad encoding, NUL, separators)
                rows = self._sort_out(rows, errors, parsed)
                body = self._body(rows)
            with cursor.cursor.copy(f"COPY {self.RAW} FROM STDIN") as copy:
                if body is not None:
                    copy.write(body)
                else:
                    for cells in rows:
                        copy.write_row(cells)
            cursor.execute(BATCH_SETTINGS)
            if self.lookups:
                self._resolve(cursor)
            params = {
                "county": self.county.pk,
                "source": self.source_id,
                "run": self.run_id,
                "now": now,
                "held": [row.number for _rn, row in parsed],
            }
            cursor.execute(self.convert, params)
            for kind, rn, *cells in cursor.fetchall():
                if kind == "n":
                    written.inserted, written.updated = int(cells[0]), int(cells[1])
                elif kind == "k":
                    errors.append(duplicate(rn, cells[0]))
                else:
                    result = self.parser.from_cells(rn, cells)
                    if isinstance(result, list):
                        errors.extend(result)
                    else:
                        parsed.append((rn, result))
            if parsed:
                self._write_held(
                    cursor, sorted(parsed, key=lambda p: p[0]), params, written, errors
                )
        errors.sort(key=lambda e: e.row)
        written.errors = errors
        return written

    def _write_held(
        self,
        cursor: Any,
        parsed: list[tuple[int, TicketRow]],
        params: dict[str, Any],
        written: Written,
        errors: list[RowError],
    ) -> None:
        """The rows Python decided (and those sharing a number in the batch): the first
        of each number is written, the later ones are duplicates."""
        first: dict[str, int] = {}
        with cursor.cursor.copy(
            f"COPY {self.STAGE} (rn, {', '.join(ROW_COLUMNS)}) FROM STDIN"
        ) as copy:
            for rn, row in parsed:
                if row.number in first:
                    errors.append(duplicate(rn, row.number))
                    continue
                first[row.number] = rn
                copy.write_row([rn, *(getattr(row, c) for c in ROW_COLUMNS)])
        cursor.execute(self.upsert, params)
        returned = set()
        for number, fresh in cursor.fetchall():
            returned.add(number)
            if fresh:
                written.inserted += 1
            else:
                written.updated += 1
        errors.extend(duplicate(rn, n) for n, rn in first.items() if n not in returned)

    def _body(self, rows: list[list[str]]) -> str | None:
        """The batch as COPY text, built on the whole batch (no per-row Python), or None
        when a row holds something to sort out first: the replacement character (bad
        encoding), NUL (PostgreSQL text cannot hold it: Python checks those rows), or the
        characters the batch is joined with."""
        body = "\x1e".join(map("\x1f".join, rows))
        if (
            REPLACEMENT in body
            or "\x00" in body
            or body.count("\x1f") != len(rows) * self.width
            or body.count("\x1e") != max(len(rows) - 1, 0)
        ):
            return None
        if "\\" in body or "\t" in body or "\n" in body or "\r" in body:
            body = (
                body.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return body.replace("\x1f", "\t").replace("\x1e", "\n") + "\n" if rows else ""

    def _sort_out(
        self, rows: list[list[str]], errors: list[RowError], parsed: list[tuple[int, TicketRow]]
    ) -> list[list[str]]:
        """Rows with the replacement character are reported; rows with NUL are checked by
        Python; the others go on (written one by one if they hold the join characters)."""
        kept = []
        for cells in rows:
            rn = int(cells[-1])
            if any(REPLACEMENT in c for c in cells):
                errors.append(bad_encoding(rn, self.encoding))
            elif any("\x00" in c for c in cells):
                result = self.parser.from_cells(rn, cells[:-1])
                if isinstance(result, list):
                    errors.extend(result)
                else:
                    parsed.append((rn, result))
            else:
                kept.append(cells)
        return kept

    def _resolve(self, cursor: Any) -> None:
        """The days and addresses not seen yet in this run, each resolved once by Python
        into the run's tables: a day's local midnight (`day_midnight`), an address's
        place (`PlaceFinder.by_address`)."""
        cursor.execute(self.lookups)
        days: list[tuple[Any, ...]] = []
        found: list[tuple[Any, ...]] = []
        for kind, text in cursor.fetchall():
            if kind == "d":
                days.append((text, day_midnight(text, self.tz, self.skip_days)))
                continue
            place = self.places.by_address(text)
            if place is False:
                found.append((text, None, None, True))
            elif isinstance(place, Region):
                township = self.places.township(place)
                found.append((text, place.pk, township.pk if township else None, False))
            else:
                found.append((text, None, None, False))
        if days:
            self._copy(cursor, f"{self.DAY} (day, midnight)", days)
        if found:
            self._copy(cursor, f"{self.ADDR} (address, location_id, township_id, outside)", found)


def duplicate(row: int, number: str) -> RowError:
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
