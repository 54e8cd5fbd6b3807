"""Reading responsibility lists from files and writing a version back to Excel.

Two shapes come in:

* the shared CSV shape (`data/default-catalog.csv`): one row per item, English headers
  (`code, domain_code, domain_name, item_name, …`), the shape the demonstration
  catalogue and machine exports use;
* the official Excel table (.xlsx, first sheet) as counties publish it: Chinese headers
  (`序号, 领域, 事项名称, 主体责任单位, …`), optionally preceded by a title row and
  followed by the extra columns (`事项编码, 领域编码, 主体层级, …`) that make an export
  re-importable without loss, and optionally a second sheet “办理流程” with the items'
  procedures (one row per step: 事项编码, 序号, 环节, 责任方, 时限, 分界点/衔接点).

Reading is two steps so that every problem of a file is reported at once, never only
the first one: `read_csv` / `read_xlsx` turn the file into `RawRow`s (canonical field
name → cell text, with the sheet row number) and refuse the file only for sheet-level
problems (not a list, missing headers, unreadable); `validate_rows` then checks every
cell of every row and raises one `ImportFailed` listing all problems, or returns
`ItemSpec`s. An item the file gives no procedure for gets `default_steps`, marked
`default_procedure` so that the import service can carry the item's steps over from
the version in force instead. Nothing here writes to the database: the caller saves the specs (in a
version service) only when the whole file is valid, so a bad file changes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from xianghu.core.errors import InvalidInput
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from .limits import parse_limit
from .models import Item, ItemParty, PartyRole, PrimaryLevel, ProcedureStep, StepParty
from .selectors import DepartmentResolver
from .specs import TOWNSHIP_PARTY, TOWNSHIP_PARTY_ALIASES, ItemSpec, PartySpec, StepSpec

if TYPE_CHECKING:
    from .models import ListVersion

__all__ = [
    "CSV_HEADERS",
    "PROCEDURE_SHEET",
    "STEP_HEADERS",
    "XLSX_HEADERS",
    "ImportFailed",
    "Problem",
    "RawRow",
    "check_upload",
    "default_steps",
    "export_version_xlsx",
    "max_upload_bytes",
    "read_csv",
    "read_upload",
    "read_workbook",
    "read_xlsx",
    "validate_rows",
]

DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A list has at most a few thousand items (a whole province published 994); a cap
# keeps a hostile or mistaken file from tying up a worker.
MAX_ROWS = 10_000
# Columns read from a sheet; the layout has 18, anything far beyond is not a list.
MAX_COLUMNS = 64
# The header row is looked for among the first rows, below an optional title.
HEADER_SEARCH_ROWS = 5
# An .xlsx is a zip: refuse archives that inflate to more than this many times the
# upload limit before handing them to the XML parser (zip bombs).
MAX_INFLATION = 20
# Excel's own row limit: the read-only reader fills gaps between rows with empty
# rows, so a crafted row number must not make it generate billions of them.
_EXCEL_MAX_ROW = 1_048_576
# Problems listed in one `ImportFailed`; the summary still counts all of them.
MAX_PROBLEMS_LISTED = 500
# Steps of one item's procedure, and the highest step number a sheet may use.
MAX_STEPS = 50
MAX_STEP_NUMBER = 999

# --- the two shapes ---------------------------------------------------------------------

# Canonical fields are ItemSpec's; `primary` and `assisting` hold department names as
# the list writes them, separated by ; ； 、 (or newlines, commas).
CSV_HEADERS: dict[str, str] = {
    "code": "code",
    "domain_code": "domain_code",
    "domain_name": "domain_name",
    "item_name": "name",
    "item_name_en": "name_en",
    "primary_level": "primary_level",
    "primary_departments": "primary",
    "assisting_departments": "assisting",
    "primary_duties": "primary_duties",
    "cooperating_duties": "cooperating_duties",
    "respond_limit": "respond_limit",
    "complete_limit": "complete_limit",
    "callable": "callable",
    "source": "source",
    "legal_basis": "legal_basis",
    "keywords": "keywords",
}
_CSV_REQUIRED = (
    "code",
    "domain_code",
    "domain_name",
    "item_name",
    "primary_level",
    "primary_departments",
    "primary_duties",
    "respond_limit",
    "complete_limit",
)

# The official table's columns, in the order the export writes them. These are the
# file format, not interface text: they are written and read in Chinese whatever the
# user's language, like the item names inside the cells.
XLSX_HEADERS: tuple[str, ...] = (
    "序号",
    "领域",
    "事项名称",
    "主体责任单位",
    "主体责任",
    "配合责任单位",
    "配合责任",
    "协办单位",
    "法律依据",
    "响应时限",
    "办结时限",
    # the extra columns that make a round trip lossless (optional on import)
    "事项编码",
    "领域编码",
    "主体层级",
    "可呼叫",
    "关键词",
    "英文名称",
    "来源",
)
_XLSX_REQUIRED = ("领域", "事项名称", "主体责任单位", "主体责任", "响应时限", "办结时限")
# Other spellings met in published tables.
_XLSX_ALIASES = {
    "主体责任部门": "主体责任单位",
    "主责单位": "主体责任单位",
    "配合责任部门": "配合责任单位",
    "配合单位": "配合责任单位",
    "协办部门": "协办单位",
    "法律法规依据": "法律依据",
    "编号": "序号",
    "事项代码": "事项编码",
}
# Official column → canonical field, for the columns that map one to one.
_XLSX_FIELDS = {
    "事项编码": "code",
    "领域编码": "domain_code",
    "领域": "domain_name",
    "事项名称": "name",
    "英文名称": "name_en",
    "主体层级": "primary_level",
    "主体责任单位": "primary",
    "主体责任": "primary_duties",
    "配合责任": "cooperating_duties",
    "法律依据": "legal_basis",
    "关键词": "keywords",
    "响应时限": "respond_limit",
    "办结时限": "complete_limit",
    "可呼叫": "callable",
    "来源": "source",
}
_XLSX_WIDTHS = (6, 14, 28, 20, 40, 20, 40, 20, 30, 10, 10, 10, 9, 9, 7, 20, 28, 6)

# The procedure sheet (办理流程): one row per step, the item named by its code. Like the
# list's headers these are the file format, written and read in Chinese. 事项名称 is
# there for the reader of the sheet and is not read back.
PROCEDURE_SHEET = "办理流程"
STEP_HEADERS: tuple[str, ...] = (
    "事项编码",
    "事项名称",
    "序号",
    "环节",
    "责任方",
    "时限",
    "分界点/衔接点",
)
_STEP_REQUIRED = ("事项编码", "序号", "环节", "责任方")
_STEP_ALIASES = {
    "事项代码": "事项编码",
    "编码": "事项编码",
    "步骤序号": "序号",
    "环节序号": "序号",
    "步骤": "环节",
    "环节名称": "环节",
    "办理环节": "环节",
    "责任主体": "责任方",
    "责任单位": "责任方",
    "办理时限": "时限",
    "分界点": "分界点/衔接点",
    "衔接点": "分界点/衔接点",
    "分界点、衔接点": "分界点/衔接点",
    "分界点(衔接点)": "分界点/衔接点",
    "交接点": "分界点/衔接点",
}
_STEP_FIELDS = {
    "事项编码": "code",
    "序号": "order",
    "环节": "name",
    "责任方": "party",
    "时限": "time_limit",
    "分界点/衔接点": "handoff",
}
_STEP_WIDTHS = (12, 28, 6, 28, 14, 12, 36)
# How the sheet names a step's responsible party (StepParty), and other spellings.
_STEP_PARTY_LABELS = {
    StepParty.TOWNSHIP.value: "乡镇",
    StepParty.PLATFORM.value: "县级平台",
    StepParty.PRIMARY.value: "主体责任单位",
    StepParty.ASSISTING.value: "协办单位",
}
_STEP_PARTY_ALIASES = {
    **{v: k for k, v in _STEP_PARTY_LABELS.items()},
    **{k: k for k in _STEP_PARTY_LABELS},
    **dict.fromkeys(TOWNSHIP_PARTY_ALIASES, StepParty.TOWNSHIP.value),
    "乡镇(街道)": StepParty.TOWNSHIP.value,
    "乡镇街道": StepParty.TOWNSHIP.value,
    "平台": StepParty.PLATFORM.value,
    "县级平台": StepParty.PLATFORM.value,
    "指挥中心": StepParty.PLATFORM.value,
    "平台中心": StepParty.PLATFORM.value,
    "主体责任部门": StepParty.PRIMARY.value,
    "主体责任": StepParty.PRIMARY.value,
    "主责单位": StepParty.PRIMARY.value,
    "主责部门": StepParty.PRIMARY.value,
    "协办部门": StepParty.ASSISTING.value,
    "配合单位": StepParty.ASSISTING.value,
    "配合部门": StepParty.ASSISTING.value,
    "配合责任单位": StepParty.ASSISTING.value,
}

_LEVELS = {
    "county": PrimaryLevel.COUNTY.value,
    "县级": PrimaryLevel.COUNTY.value,
    "县": PrimaryLevel.COUNTY.value,
    "县级部门": PrimaryLevel.COUNTY.value,
    "township": PrimaryLevel.TOWNSHIP.value,
    "乡镇": PrimaryLevel.TOWNSHIP.value,
    "乡镇级": PrimaryLevel.TOWNSHIP.value,
    "乡镇(街道)": PrimaryLevel.TOWNSHIP.value,
}
_LEVEL_LABELS = {PrimaryLevel.COUNTY.value: "县级", PrimaryLevel.TOWNSHIP.value: "乡镇"}
_BOOLEANS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "是": True,
    "否": False,
}

_SEPARATORS = re.compile(r"[;；、,，\n]+")
# Characters XML 1.0 (and so openpyxl) cannot store; also removed from imported cells
# so that what is imported is exactly what an export can write back.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_NOISE = re.compile(r"[\s*＊]+")
_TOWNSHIP_KEYS = frozenset(
    _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", a)) for a in TOWNSHIP_PARTY_ALIASES
)


# --- problems ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an uploaded list: where (sheet, row, column header) and why.
    `sheet` is the workbook sheet's name; None for a CSV file."""

    message: str
    code: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "code": self.code,
        }


class ImportFailed(InvalidInput):
    """A list file was refused; `detail` lists every problem found, not only the first,
    so that whoever prepared the file can fix it in one pass."""

    code = "catalog.import_failed"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        listed = [p.as_dict() for p in self.problems[:MAX_PROBLEMS_LISTED]]
        if count > MAX_PROBLEMS_LISTED:
            listed.append(
                Problem(
                    _("%(count)s further problems are not listed.")
                    % {"count": count - MAX_PROBLEMS_LISTED},
                    "catalog.more_problems",
                ).as_dict()
            )
        message = ngettext(
            "Import failed: %(count)d problem was found; nothing was saved.",
            "Import failed: %(count)d problems were found; nothing was saved.",
            count,
        ) % {"count": count}
        super().__init__(message, detail=listed)


def _fail(
    message: str,
    code: str,
    *,
    row: int | None = None,
    column: str | None = None,
    sheet: str | None = None,
) -> ImportFailed:
    return ImportFailed([Problem(message, code, row, column, sheet)])


# --- raw rows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row of a file, before validation.

    `values` maps canonical field names (ItemSpec's, plus `primary` and `assisting` for
    the department lists) to cell text; `columns` maps each field to the header it came
    from in this file, so that problems name the column the user sees.
    """

    row: int
    values: Mapping[str, str]
    columns: Mapping[str, str] = field(default_factory=dict)
    sheet: str | None = None  # the workbook sheet's name; None for a CSV file

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def column(self, name: str) -> str:
        return self.columns.get(name, name)

    def problem(self, name: str, message: str, code: str) -> Problem:
        """A problem of this row's cell `name`."""
        return Problem(message, code, self.row, self.column(name), self.sheet)


def _cell_text(value: Any) -> str:
    """A cell as text: Excel gives numbers, booleans and dates; a list wants strings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def _header_key(text: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()


_CSV_KEYS = {_header_key(h): h for h in CSV_HEADERS}
_XLSX_KEYS = {_header_key(h): h for h in XLSX_HEADERS} | {
    _header_key(a): h for a, h in _XLSX_ALIASES.items()
}
_STEP_KEYS = {_header_key(h): h for h in STEP_HEADERS} | {
    _header_key(a): h for a, h in _STEP_ALIASES.items()
}
_STEP_PARTY_KEYS = {_header_key(a): p for a, p in _STEP_PARTY_ALIASES.items()}


def _read_grid(grid: Iterable[tuple[int, list[str]]], *, sheet: str | None = None) -> list[RawRow]:
    """Find the header row among the first rows, check the headers and turn the data
    rows below it into RawRows. Works for both shapes whatever the file type, so an
    official table saved as CSV reads too. `sheet` names the sheet in problems."""
    head: list[tuple[int, list[str]]] = []
    iterator = iter(grid)
    for number, cells in iterator:
        head.append((number, cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    best: tuple[int, str, int, list[str]] | None = None  # (matches, shape, row, cells)
    for number, cells in head:
        keys = [_header_key(c) for c in cells]
        for shape, vocabulary in (("csv", _CSV_KEYS), ("xlsx", _XLSX_KEYS)):
            matches = len({vocabulary[k] for k in keys if k in vocabulary})
            if matches >= 3 and (best is None or matches > best[0]):
                best = (matches, shape, number, cells)
    if best is None:
        raise _fail(
            _(
                "This is not a responsibility list: none of the first %(rows)s rows holds "
                "the list's column headers (序号, 领域, 事项名称, 主体责任单位, 主体责任, "
                "响应时限, 办结时限 — or code, domain_code, item_name… in the CSV shape)."
            )
            % {"rows": HEADER_SEARCH_ROWS},
            "catalog.not_a_list",
            sheet=sheet,
        )
    _matches, shape, header_row, header_cells = best
    vocabulary = _CSV_KEYS if shape == "csv" else _XLSX_KEYS
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    for index, cell in enumerate(header_cells):
        name = vocabulary.get(_header_key(cell))
        if name is not None and name not in positions:  # the first of a repeated header wins
            positions[name] = index
            labels[name] = cell.strip()
    missing = [
        h for h in (_CSV_REQUIRED if shape == "csv" else _XLSX_REQUIRED) if h not in positions
    ]
    if shape == "xlsx" and "序号" not in positions and "事项编码" not in positions:
        missing.insert(0, "序号")
    if missing:
        raise ImportFailed(
            [
                Problem(
                    _("The column “%(column)s” is missing from the header row.") % {"column": h},
                    "catalog.missing_header",
                    header_row,
                    h,
                    sheet,
                )
                for h in missing
            ]
        )

    def data_rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, cells in [*head, *iterator]:
            if number <= header_row or not any(cells):
                continue
            if number > MAX_ROWS + header_row:
                raise _fail(
                    _("The list has more than %(max)s rows; split it or check the file.")
                    % {"max": MAX_ROWS},
                    "catalog.too_many_rows",
                    row=number,
                    sheet=sheet,
                )
            yield (
                number,
                {name: (cells[i] if i < len(cells) else "") for name, i in positions.items()},
            )

    if shape == "csv":
        columns = {f: labels[h] for h, f in CSV_HEADERS.items() if h in labels}
        return [
            RawRow(number, {CSV_HEADERS[h]: v for h, v in cells.items()}, columns, sheet)
            for number, cells in data_rows()
        ]
    return _official_rows(data_rows(), labels=labels, sheet=sheet)


def _split_names(text: str) -> list[str]:
    """Department names of a cell, in order, without repeats."""
    names: list[str] = []
    for part in _SEPARATORS.split(text or ""):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def _is_township(name: str) -> bool:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", name)) in _TOWNSHIP_KEYS


def _official_rows(
    rows: Iterable[tuple[int, dict[str, str]]], *, labels: dict[str, str], sheet: str | None
) -> list[RawRow]:
    """Map the official table onto canonical fields, deriving what its extra columns
    would say when they are absent (so a county's own table imports as it is)."""
    out: list[tuple[int, dict[str, str], dict[str, str]]] = []
    previous_domain = ("", "")
    for number, cells in rows:
        values = {f: cells.get(h, "") for h, f in _XLSX_FIELDS.items()}
        columns = {f: labels.get(h, h) for h, f in _XLSX_FIELDS.items()}
        # A 领域 cell merged down over its items reads as empty below its first row.
        if not values["domain_name"] and previous_domain[1]:
            values["domain_name"] = previous_domain[1]
            values["domain_code"] = values["domain_code"] or previous_domain[0]
        if not values["code"]:
            columns["code"] = labels.get("序号", "序号")
            seq = cells.get("序号", "")
            values["code"] = f"X-{seq}" if seq else ""
        if not values["primary_level"]:
            columns["primary_level"] = columns["primary"]
            primary = _split_names(values["primary"])
            township = bool(primary) and all(_is_township(n) for n in primary)
            values["primary_level"] = (
                PrimaryLevel.TOWNSHIP.value if township else PrimaryLevel.COUNTY.value
            )
        # 配合责任单位 is the township for a county item and the cooperating departments
        # for a township item; 协办单位 lists further assisting departments. Both end
        # up in `assisting`, the township party left out.
        sources = [
            h
            for h in ("配合责任单位", "协办单位")
            if any(not _is_township(n) for n in _split_names(cells.get(h, "")))
        ]
        values["assisting"] = ";".join(
            cells.get(h, "") for h in ("配合责任单位", "协办单位") if cells.get(h)
        )
        columns["assisting"] = "、".join(labels.get(h, h) for h in sources) or labels.get(
            "协办单位", "协办单位"
        )
        previous_domain = (values["domain_code"], values["domain_name"])
        out.append((number, values, columns))

    # 领域编码 missing: D1, D2… in the order the domains first appear, skipping codes
    # the file uses explicitly.
    explicit = {
        v["domain_name"]: v["domain_code"]
        for _n, v, _c in out
        if v["domain_code"] and v["domain_name"]
    }
    used = set(explicit.values())
    derived: dict[str, str] = {}
    counter = 0
    for _number, values, columns in out:
        name = values["domain_name"]
        if values["domain_code"] or not name:
            continue
        if name not in explicit and name not in derived:
            counter += 1
            while f"D{counter}" in used:
                counter += 1
            derived[name] = f"D{counter}"
            used.add(derived[name])
        values["domain_code"] = explicit.get(name) or derived[name]
        columns["domain_code"] = columns["domain_name"]
    return [RawRow(number, values, columns, sheet) for number, values, columns in out]


def read_csv(*, data: bytes) -> list[RawRow]:
    """Read a UTF-8 CSV (a BOM is fine: Excel writes one for “CSV UTF-8”) into RawRows.

    Sheet-level problems raise `ImportFailed`; cell problems are left to `validate_rows`.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(
            _(
                "The file is not UTF-8 text (it may have been saved as GBK/ANSI). In Excel "
                "choose “Save as” → “CSV UTF-8 (comma delimited)”, or upload the .xlsx file."
            ),
            "catalog.bad_encoding",
        ) from None
    if "\x00" in text:
        raise _fail(_("The file is not a CSV text file."), "catalog.bad_file_type")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        raise _fail(
            _("The CSV file cannot be read; check its quotes and separators."),
            "catalog.unreadable_file",
        ) from None
    return _read_grid(
        (
            (number, [_cell_text(c) for c in cells[:MAX_COLUMNS]])
            for number, cells in enumerate(records, 1)
        )
    )


def _check_zip(data: bytes) -> None:
    """Refuse what is not an .xlsx archive, and archives that would inflate beyond
    reason, before the XML parser sees them."""
    not_xlsx = _(
        "The file is not an Excel .xlsx workbook (an old .xls or a protected file cannot "
        "be read). Open it in Excel and save it as .xlsx."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _fail(not_xlsx, "catalog.bad_file_type") from None
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise _fail(not_xlsx, "catalog.bad_file_type")
    if sum(i.file_size for i in infos) > max_upload_bytes() * MAX_INFLATION:
        raise _fail(
            _("The workbook is too large once unpacked; remove images or other sheets."),
            "catalog.file_too_large",
        )


def _sheet_key(title: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", title or ""))


def read_workbook(*, data: bytes) -> tuple[list[RawRow], list[RawRow] | None]:
    """Read an .xlsx workbook: the list (its first sheet other than the procedure
    sheet) and the procedure sheet “办理流程” (None when the workbook has none).

    Cached values are read, not formulas. Sheet-level problems of either sheet raise
    `ImportFailed`; cell problems are left to `validate_rows`.
    """
    import openpyxl  # heavy; only the import page needs it

    _check_zip(data)
    unreadable = _("The workbook cannot be read; open it in Excel and save it again.")
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception:  # a parser fed arbitrary bytes can fail in many ways
        raise _fail(unreadable, "catalog.unreadable_file") from None
    try:
        worksheets = list(workbook.worksheets)
        procedure_key = _sheet_key(PROCEDURE_SHEET)
        procedures = [s for s in worksheets if _sheet_key(s.title) == procedure_key]
        lists = [s for s in worksheets if _sheet_key(s.title) != procedure_key]
        if not lists:
            raise _fail(unreadable, "catalog.not_a_list")

        def grid(sheet: Any) -> Iterator[tuple[int, list[str]]]:
            try:
                rows = sheet.iter_rows(
                    min_row=1, max_row=_EXCEL_MAX_ROW, max_col=MAX_COLUMNS, values_only=True
                )
                for number, cells in enumerate(rows, 1):
                    yield number, [_cell_text(c) for c in cells]
            except ImportFailed:
                raise
            except Exception:  # malformed sheet XML
                raise _fail(unreadable, "catalog.unreadable_file", sheet=sheet.title) from None

        items = _read_grid(grid(lists[0]), sheet=str(lists[0].title))
        steps = (
            _read_step_grid(grid(procedures[0]), sheet=str(procedures[0].title))
            if procedures
            else None
        )
        return items, steps
    finally:
        workbook.close()


def read_xlsx(*, data: bytes) -> list[RawRow]:
    """The list rows of an .xlsx workbook (`read_workbook` without the procedure)."""
    return read_workbook(data=data)[0]


def _read_step_grid(grid: Iterable[tuple[int, list[str]]], *, sheet: str) -> list[RawRow]:
    """The procedure sheet's rows: find its header row among the first rows, check the
    headers, and give one RawRow per step (fields code, order, name, party,
    time_limit, handoff)."""
    head: list[tuple[int, list[str]]] = []
    iterator = iter(grid)
    for number, cells in iterator:
        head.append((number, cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    best: tuple[int, int, list[str]] | None = None  # (matches, row, cells)
    for number, cells in head:
        matches = len({_STEP_KEYS[k] for k in map(_header_key, cells) if k in _STEP_KEYS})
        if matches >= 3 and (best is None or matches > best[0]):
            best = (matches, number, cells)
    if best is None:
        # An empty procedure sheet says nothing: the items keep their procedures.
        if not any(any(cells) for _number, cells in head):
            return []
        raise _fail(
            _(
                "The sheet “%(sheet)s” holds no procedure: none of its first %(rows)s rows "
                "holds the column headers (事项编码, 序号, 环节, 责任方, 时限, 分界点/衔接点)."
            )
            % {"sheet": sheet, "rows": HEADER_SEARCH_ROWS},
            "catalog.not_a_procedure",
            sheet=sheet,
        )
    _matches, header_row, header_cells = best
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    for index, cell in enumerate(header_cells):
        name = _STEP_KEYS.get(_header_key(cell))
        if name is not None and name not in positions:
            positions[name] = index
            labels[name] = cell.strip()
    missing = [h for h in _STEP_REQUIRED if h not in positions]
    if missing:
        raise ImportFailed(
            [
                Problem(
                    _("The column “%(column)s” is missing from the header row.") % {"column": h},
                    "catalog.missing_header",
                    header_row,
                    h,
                    sheet,
                )
                for h in missing
            ]
        )
    columns = {f: labels.get(h, h) for h, f in _STEP_FIELDS.items()}
    out: list[RawRow] = []
    for number, cells in [*head, *iterator]:
        if number <= header_row or not any(cells):
            continue
        if len(out) >= MAX_ROWS * 10:
            raise _fail(
                _("The procedure has more than %(max)s steps; check the file.")
                % {"max": MAX_ROWS * 10},
                "catalog.too_many_rows",
                row=number,
                sheet=sheet,
            )
        values = {
            f: cells[positions[h]] if h in positions and positions[h] < len(cells) else ""
            for h, f in _STEP_FIELDS.items()
        }
        out.append(RawRow(number, values, columns, sheet))
    return out


def max_upload_bytes() -> int:
    """The largest list file an import accepts (XH_CATALOG_MAX_UPLOAD_BYTES)."""
    return int(getattr(settings, "XH_CATALOG_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def check_upload(*, filename: str, size: int) -> str:
    """Refuse a file over the size limit or of another type than .xlsx/.csv, from its
    name and size alone (before anything is read); return its type ("xlsx"/"csv")."""
    limit = max_upload_bytes()
    if size > limit:
        raise _fail(
            _("The file is larger than %(size)s; split the list or remove images.")
            % {"size": _human_size(limit)},
            "catalog.file_too_large",
        )
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in ("xlsx", "csv"):
        raise _fail(
            _("Only .xlsx workbooks and UTF-8 .csv files can be imported (got “%(name)s”).")
            % {"name": filename[-80:]},
            "catalog.bad_file_type",
        )
    return suffix


def read_upload(*, filename: str, data: bytes, county: Region | None = None) -> list[ItemSpec]:
    """Read and validate an uploaded list; the one entry point for views and the API.

    Size and type are checked before any parsing so that an oversized or wrong file
    costs nothing. Raises `ImportFailed` (an `InvalidInput`) and nothing else for any
    content of the file.
    """
    if check_upload(filename=filename, size=len(data)) == "xlsx":
        rows, steps = read_workbook(data=data)
    else:
        rows, steps = read_csv(data=data), None
    return validate_rows(rows=rows, steps=steps, county=county)


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


# --- validation -------------------------------------------------------------------------


def _max_length(model: Any, name: str) -> int:
    return int(model._meta.get_field(name).max_length)


_LENGTHS = {
    "code": _max_length(Item, "code"),
    "name": _max_length(Item, "name"),
    "name_en": _max_length(Item, "name_en"),
    "keywords": _max_length(Item, "keywords"),
    "source": _max_length(Item, "source"),
    "domain_code": 16,
    "domain_name": 64,
}
_PARTY_NAME_LENGTH = _max_length(ItemParty, "name")
_STEP_NAME_LENGTH = _max_length(ProcedureStep, "name")
_HANDOFF_LENGTH = _max_length(ProcedureStep, "handoff")


def validate_rows(
    *,
    rows: Sequence[RawRow],
    county: Region | None = None,
    steps: Sequence[RawRow] | None = None,
) -> list[ItemSpec]:
    """Check every cell of every row and return the items, or raise one `ImportFailed`
    listing all problems (so the file can be fixed in one pass, and nothing half-valid
    is ever saved).

    `steps` are the rows of the procedure sheet (None: the file has none). An item with
    steps there gets them in the order of their 序号; an item without gets
    `default_steps` and `default_procedure=True`, so that the import service may carry
    its steps over from the version in force instead.

    With `county` (a county region) departments are resolved to the county's active
    organisations; without it (a province's guidance catalogue) they stay names. The
    township party (TOWNSHIP_PARTY_ALIASES) is never resolved and never listed as a
    party: it stands for whichever township the call comes from.
    """
    if county is not None and county.level != RegionLevel.COUNTY:
        raise ValueError("validate_rows needs a county region")
    departments = DepartmentResolver(county=county) if county is not None else None
    problems: list[Problem] = []
    specs: list[ItemSpec] = []
    code_rows: dict[str, list[RawRow]] = {}
    domains: dict[str, tuple[str, int]] = {}
    for raw in rows:
        spec, found = _validate_row(raw, departments=departments)
        if raw.get("code"):
            code_rows.setdefault(raw.get("code"), []).append(raw)
        domain_code, domain_name = raw.get("domain_code"), raw.get("domain_name")
        if domain_code and domain_name:
            first = domains.setdefault(domain_code, (domain_name, raw.row))
            if first[0] != domain_name:
                found.append(
                    raw.problem(
                        "domain_name",
                        _("The domain code %(code)s is already used for “%(name)s” (row %(row)s).")
                        % {"code": domain_code, "name": first[0], "row": first[1]},
                        "catalog.domain_conflict",
                    )
                )
        problems.extend(found)
        if spec is not None and not found:
            specs.append(spec)

    for code, same in code_rows.items():
        if len(same) > 1:
            listed = "、".join(str(r.row) for r in same)
            problems.extend(
                raw.problem(
                    "code",
                    _("The item code %(code)s appears more than once (rows %(rows)s).")
                    % {"code": code, "rows": listed},
                    "catalog.duplicate_code",
                )
                for raw in same
            )
    if not rows:
        problems.append(Problem(_("The list has no items."), "catalog.empty_list"))
    procedures = _validate_steps(steps or (), codes=set(code_rows), problems=problems)
    if problems:
        list_sheet = rows[0].sheet if rows else None
        raise ImportFailed(
            sorted(problems, key=lambda p: (p.sheet not in (None, list_sheet), p.row or 0))
        )
    return [
        dataclasses.replace(spec, steps=procedures[spec.code], default_procedure=False)
        if spec.code in procedures
        else spec
        for spec in specs
    ]


def _validate_step_row(
    raw: RawRow, *, codes: set[str]
) -> tuple[int, StepSpec | None, list[Problem]]:
    """One row of the procedure sheet: its step number (0 when unreadable), its step
    when it has no problem, and its problems."""
    found: list[Problem] = []

    def add(name: str, message: str, code: str) -> None:
        found.append(raw.problem(name, message, code))

    required = _("This cell must not be empty.")
    code = raw.get("code")
    if not code:
        add("code", required, "catalog.required")
    elif code not in codes:
        add(
            "code",
            _("The item code %(code)s is not on the list sheet.") % {"code": code},
            "catalog.step_unknown_item",
        )
    order_text = raw.get("order")
    order = int(order_text) if re.fullmatch(r"[0-9]{1,4}", order_text) else 0
    if not order_text:
        add("order", required, "catalog.required")
    elif not 1 <= order <= MAX_STEP_NUMBER:
        order = 0
        add(
            "order",
            _("“%(value)s” is not a step number: write a whole number from 1 to %(max)s.")
            % {"value": order_text, "max": MAX_STEP_NUMBER},
            "catalog.bad_step_order",
        )
    name = raw.get("name")
    if not name:
        add("name", required, "catalog.required")
    elif len(name) > _STEP_NAME_LENGTH:
        add("name", _too_long(_STEP_NAME_LENGTH, len(name)), "catalog.too_long")
    party_text = raw.get("party")
    party = _STEP_PARTY_KEYS.get(_header_key(party_text), "")
    if not party_text:
        add("party", required, "catalog.required")
    elif not party:
        add(
            "party",
            _("“%(value)s” is not a responsible party: write %(choices)s.")
            % {"value": party_text, "choices": "、".join(_STEP_PARTY_LABELS.values())},
            "catalog.bad_step_party",
        )
    limit = ""
    if raw.get("time_limit"):
        try:
            limit = str(parse_limit(raw.get("time_limit")))
        except InvalidInput as exc:
            add("time_limit", str(exc.message), "catalog.bad_limit")
    handoff = raw.get("handoff")
    if len(handoff) > _HANDOFF_LENGTH:
        add("handoff", _too_long(_HANDOFF_LENGTH, len(handoff)), "catalog.too_long")
    return order, (None if found else StepSpec(name, party, limit, handoff)), found


def _validate_steps(
    rows: Sequence[RawRow], *, codes: set[str], problems: list[Problem]
) -> dict[str, tuple[StepSpec, ...]]:
    """The procedure sheet's steps by item code, in the order of their 序号; the
    problems found are appended to `problems`."""
    by_item: dict[str, list[tuple[int, RawRow, StepSpec | None]]] = {}
    for raw in rows:
        order, step, found = _validate_step_row(raw, codes=codes)
        problems.extend(found)
        if raw.get("code"):
            by_item.setdefault(raw.get("code"), []).append((order, raw, step))

    out: dict[str, tuple[StepSpec, ...]] = {}
    for code, entries in by_item.items():
        numbers: dict[int, list[RawRow]] = {}
        for order, row, _step in entries:
            if order:
                numbers.setdefault(order, []).append(row)
        for order, same in numbers.items():
            if len(same) > 1:
                listed = "、".join(str(r.row) for r in same)
                problems.extend(
                    r.problem(
                        "order",
                        _("Step %(order)s of item %(code)s appears more than once (rows %(rows)s).")
                        % {"order": order, "code": code, "rows": listed},
                        "catalog.duplicate_step",
                    )
                    for r in same
                )
        if len(entries) > MAX_STEPS:
            problems.append(
                entries[MAX_STEPS][1].problem(
                    "code",
                    _("Item %(code)s has more than %(max)s steps.")
                    % {"code": code, "max": MAX_STEPS},
                    "catalog.too_many_steps",
                )
            )
        steps = [(order, step) for order, _raw, step in entries if step is not None]
        if len(steps) == len(entries):
            out[code] = tuple(step for _order, step in sorted(steps, key=lambda e: e[0]))
    return out


def _validate_row(
    raw: RawRow, *, departments: DepartmentResolver | None
) -> tuple[ItemSpec | None, list[Problem]]:
    """One row's problems, and its spec when it has none."""
    found: list[Problem] = []

    def add(name: str, message: str, code: str) -> None:
        found.append(raw.problem(name, message, code))

    required = _("This cell must not be empty.")
    for name in ("code", "domain_code", "domain_name", "name", "primary_duties"):
        if not raw.get(name):
            add(name, required, "catalog.required")
    for name, maximum in _LENGTHS.items():
        if len(raw.get(name)) > maximum:
            add(name, _too_long(maximum, len(raw.get(name))), "catalog.too_long")

    level = ""
    level_text = raw.get("primary_level")
    if not level_text:
        add("primary_level", required, "catalog.required")
    else:
        level = _LEVELS.get(_header_key(level_text), "")
        if not level:
            add(
                "primary_level",
                _("“%(value)s” is not a primary level: write county or township (县级/乡镇).")
                % {"value": level_text},
                "catalog.bad_level",
            )

    limits: dict[str, str] = {}
    for name in ("respond_limit", "complete_limit"):
        text = raw.get(name)
        if not text:
            add(name, required, "catalog.required")
            continue
        try:
            limits[name] = str(parse_limit(text))
        except InvalidInput as exc:
            add(name, str(exc.message), "catalog.bad_limit")

    callable_text = raw.get("callable")
    callable_ = _BOOLEANS.get(_header_key(callable_text)) if callable_text else True
    if callable_ is None:
        add(
            "callable",
            _("“%(value)s” is not yes or no: write 是/否, true/false, 1/0 or Y/N.")
            % {"value": callable_text},
            "catalog.bad_boolean",
        )

    primary_names = _split_names(raw.get("primary"))
    primary_departments = [n for n in primary_names if not _is_township(n)]
    if level == PrimaryLevel.COUNTY:
        if len(primary_departments) < len(primary_names):
            add(
                "primary",
                _(
                    "The township cannot be the primary party of a county item; set the "
                    "primary level to township or name the county department."
                ),
                "catalog.bad_party",
            )
        elif not primary_departments:
            add("primary", _("A county item must name its primary department."), "catalog.required")
    elif level == PrimaryLevel.TOWNSHIP and primary_departments:
        add(
            "primary",
            _(
                "The primary party of a township item is the township; list county "
                "departments as cooperating or assisting units instead."
            ),
            "catalog.bad_party",
        )
    assisting_names = [n for n in _split_names(raw.get("assisting")) if not _is_township(n)]
    for name in assisting_names:
        if name in primary_departments:
            add(
                "assisting",
                _("“%(name)s” is already the primary party of this item.") % {"name": name},
                "catalog.bad_party",
            )

    def parties(names: list[str], *, column: str, primary: bool) -> tuple[PartySpec, ...]:
        out: list[PartySpec] = []
        for name in names:
            if len(name) > _PARTY_NAME_LENGTH:
                add(column, _too_long(_PARTY_NAME_LENGTH, len(name)), "catalog.too_long")
                continue
            organisation_id = None
            if departments is not None:
                organisation_id, code, message = departments.resolve(name, primary=primary)
                if code is not None:
                    add(column, message, code)
            out.append(PartySpec(name=name, organisation_id=organisation_id))
        return tuple(out)

    primary = parties(
        primary_departments if level != PrimaryLevel.TOWNSHIP else [],
        column="primary",
        primary=True,
    )
    assisting = parties(assisting_names, column="assisting", primary=False)
    if found or callable_ is None:
        return None, found
    spec = ItemSpec(
        code=raw.get("code"),
        domain_code=raw.get("domain_code"),
        domain_name=raw.get("domain_name"),
        name=raw.get("name"),
        primary_level=level,
        primary_duties=raw.get("primary_duties"),
        respond_limit=limits["respond_limit"],
        complete_limit=limits["complete_limit"],
        name_en=raw.get("name_en"),
        cooperating_duties=raw.get("cooperating_duties"),
        legal_basis=raw.get("legal_basis"),
        keywords=raw.get("keywords"),
        callable=callable_,
        source=raw.get("source"),
        primary=primary,
        assisting=assisting,
        row=raw.row,
    )
    return dataclasses.replace(spec, steps=default_steps(spec=spec), default_procedure=True), found


def _too_long(maximum: int, length: int) -> str:
    return _("At most %(max)s characters are allowed here (found %(length)s).") % {
        "max": maximum,
        "length": length,
    }


# --- the default procedure --------------------------------------------------------------

# Step names and hand-off points are list content stored with the item, like item
# names, and so are written in Chinese rather than translated at import time (which
# would store whatever language the importing user happened to use).


def default_steps(*, spec: ItemSpec) -> tuple[StepSpec, ...]:
    """The procedure an item gets when its source has none: the loop the platform runs
    (乡镇吹哨、部门报到), with the item's own limits at the steps they govern."""
    if spec.primary_level == PrimaryLevel.TOWNSHIP:
        return (
            StepSpec("乡镇巡查发现并处置", StepParty.TOWNSHIP.value, spec.complete_limit),
            StepSpec("需要时呼叫协办部门", StepParty.TOWNSHIP.value, "", "呼叫县级平台请求协助"),
            StepSpec("协办部门配合处置", StepParty.ASSISTING.value, spec.respond_limit),
            StepSpec("乡镇办结归档", StepParty.TOWNSHIP.value),
        )
    return (
        StepSpec("乡镇巡查发现并报告", StepParty.TOWNSHIP.value, "", "乡镇呼叫：问题移交县级平台"),
        StepSpec("平台受理并派单", StepParty.PLATFORM.value, "4h", "派单至主体责任部门"),
        StepSpec(
            "主体责任部门签收响应",
            StepParty.PRIMARY.value,
            spec.respond_limit,
            "部门联系乡镇或到场",
        ),
        StepSpec(
            "主体责任部门依法处置办结", StepParty.PRIMARY.value, spec.complete_limit, "办结反馈乡镇"
        ),
        StepSpec("乡镇评价反馈", StepParty.TOWNSHIP.value, "3wd", "评价后结案"),
    )


# --- export -----------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _limit_label(value: str) -> str:
    try:
        return parse_limit(value).label
    except InvalidInput:  # a stored value the parser refuses: write it as it is
        return value


def export_version_xlsx(*, version: ListVersion) -> bytes:
    """The version as the official Excel table, with the extra columns that let the
    file be edited offline and imported again without losing anything, and the items'
    procedures on a second sheet “办理流程”."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    items = list(
        Item.objects.filter(version=version)
        .select_related("domain")
        .prefetch_related(
            Prefetch("parties", queryset=ItemParty.objects.order_by("role", "order", "pk")),
            Prefetch("steps", queryset=ProcedureStep.objects.order_by("order")),
        )
        .order_by("domain__order", "domain__code", "order", "code")
    )
    title = _("%(name)s (version %(number)s)") % {
        "name": version.catalogue.name,
        "number": version.number,
    }

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _clean(_("List"))[:31] or "List"
    width = len(XLSX_HEADERS)
    sheet.append([_clean(title)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 28
    sheet.append(list(XLSX_HEADERS))
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for column in range(1, width + 1):
        cell = sheet.cell(2, column)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    wrap = Alignment(wrap_text=True, vertical="top")
    for number, item in enumerate(items, 1):
        parties = list(item.parties.all())
        primary = "、".join(p.name for p in parties if p.role == PartyRole.PRIMARY)
        assisting = "、".join(p.name for p in parties if p.role == PartyRole.ASSISTING)
        township = item.primary_level == PrimaryLevel.TOWNSHIP
        values: list[Any] = [
            number,
            item.domain.name,
            item.name,
            TOWNSHIP_PARTY if township else primary,
            item.primary_duties,
            assisting if township else TOWNSHIP_PARTY,
            item.cooperating_duties,
            "" if township else assisting,
            item.legal_basis,
            _limit_label(item.respond_limit),
            _limit_label(item.complete_limit),
            item.code,
            item.domain.code,
            _LEVEL_LABELS.get(item.primary_level, item.primary_level),
            "是" if item.callable else "否",
            item.keywords,
            item.name_en,
            item.source,
        ]
        row = number + 2
        for column, value in enumerate(values, 1):
            cell = sheet.cell(row, column)
            if isinstance(value, str):
                cell.value = _clean(value)
                # Text that starts with "=" stays text, never a formula.
                cell.data_type = "s"
            else:
                cell.value = value
            cell.alignment = wrap

    for column, column_width in enumerate(_XLSX_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = column_width
    sheet.freeze_panes = "A3"
    if items:
        sheet.auto_filter.ref = f"A2:{get_column_letter(width)}{len(items) + 2}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"
    _write_procedure_sheet(workbook, items=items, title=title)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_procedure_sheet(workbook: Any, *, items: Sequence[Item], title: str) -> None:
    """The sheet “办理流程”: every item's steps, one row each, the item by its code."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(PROCEDURE_SHEET)
    width = len(STEP_HEADERS)
    sheet.append([_clean(f"{title} — {PROCEDURE_SHEET}")])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 28
    sheet.append(list(STEP_HEADERS))
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for column in range(1, width + 1):
        cell = sheet.cell(2, column)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    row = 2
    for item in items:
        for step in item.steps.all():
            row += 1
            values: list[Any] = [
                item.code,
                item.name,
                step.order,
                step.name,
                _STEP_PARTY_LABELS.get(step.party, step.party),
                _limit_label(step.time_limit) if step.time_limit else "",
                step.handoff,
            ]
            for column, value in enumerate(values, 1):
                cell = sheet.cell(row, column)
                if isinstance(value, str):
                    cell.value = _clean(value)
                    cell.data_type = "s"
                else:
                    cell.value = value
                cell.alignment = wrap
    for column, column_width in enumerate(_STEP_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = column_width
    sheet.freeze_panes = "A3"
    if row > 2:
        sheet.auto_filter.ref = f"A2:{get_column_letter(width)}{row}"
    sheet.print_title_rows = "2:2"
