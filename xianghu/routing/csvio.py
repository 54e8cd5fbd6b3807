"""CSV files in and out for the routing commands (UTF-8 with or without BOM, or GB18030
as Chinese Excel saves it)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _


class CsvProblem(Exception):
    pass


@dataclass
class Table:
    columns: list[str]
    rows: list[dict[str, str]]


def read_table(path: str | Path, *, required: tuple[str, ...] = ()) -> Table:
    """The rows of a CSV file; a missing file or a missing column is a CsvProblem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvProblem(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
        ) from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise CsvProblem(_("%(path)s is neither UTF-8 nor GB18030 text.") % {"path": path})
    reader = csv.DictReader(text.splitlines(keepends=True))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = columns
    rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    missing = [c for c in required if c not in columns]
    if missing:
        raise CsvProblem(
            _("%(path)s has no column %(missing)s (its columns: %(columns)s).")
            % {
                "path": path,
                "missing": ", ".join(missing),
                "columns": ", ".join(columns) or "-",
            }
        )
    return Table(columns=columns, rows=rows)


def write_table(path: str | Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
