"""Excel workbooks for exports (openpyxl): one call, sheets of a title, a header and rows.

Text is cleaned of the control characters XML cannot hold (openpyxl refuses them), and
text starting with "=" stays text, never a formula. The header row is bold, frozen and
filtered; columns wrap; sheets print landscape, one page wide, the header repeated.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Characters Excel forbids in sheet titles.
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Sheet:
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    widths: Sequence[int] | None = None  # in characters
    heading: str = ""  # a merged title line above the header


def clean_cell(value: Any) -> Any:
    """A value openpyxl can store: text without control characters; aware datetimes
    as local wall-clock time (Excel has no time zones)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        return value
    if isinstance(value, date | int | float | bool):
        return value
    return _CONTROL.sub("", str(value))


def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_TITLE.sub("", _CONTROL.sub("", title)).strip()[:31] or "Sheet"
    name, n = base, 2
    while name in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name)
    return name


def render_xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for spec in sheets:
        sheet = workbook.create_sheet(_sheet_title(spec.title, used))
        width = max(len(spec.header), 1)
        first = 1
        if spec.heading:
            sheet.cell(1, 1, clean_cell(spec.heading)).font = Font(bold=True, size=14)
            if width > 1:
                sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
            first = 2
        for column, label in enumerate(spec.header, 1):
            cell = sheet.cell(first, column, clean_cell(label))
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for offset, row in enumerate(spec.rows, 1):
            for column, value in enumerate(row, 1):
                cell = sheet.cell(first + offset, column)
                clean = clean_cell(value)
                cell.value = clean
                if isinstance(clean, str):
                    cell.data_type = "s"  # "=…" stays text
                elif isinstance(clean, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                cell.alignment = wrap
        for column, chars in enumerate(spec.widths or [18] * width, 1):
            sheet.column_dimensions[get_column_letter(column)].width = chars
        sheet.freeze_panes = sheet.cell(first + 1, 1)
        if spec.rows and spec.header:
            sheet.auto_filter.ref = f"A{first}:{get_column_letter(width)}{first + len(spec.rows)}"
        sheet.print_title_rows = f"{first}:{first}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
