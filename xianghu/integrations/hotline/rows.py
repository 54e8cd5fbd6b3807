"""One ticket row: the fields, the column headings they are found under, and the checks.

`RowParser` turns the cells of one row (or one pushed JSON ticket) into a `TicketRow`, or
a list of `RowError`s with stable codes. It is built once per import (the county's
regions are read once) and is cheap per row: a million rows are parsed in seconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xianghu.calls.models import Urgency
from xianghu.regions.models import Region
from xianghu.regions.places import PlaceFinder

from .models import TicketType

# field → (label, required, max length or 0 for long text)
FIELDS: dict[str, tuple[Any, bool, int]] = {
    "number": (gettext_lazy("Ticket number"), True, 64),
    "channel": (gettext_lazy("Channel"), False, 32),
    "received_at": (gettext_lazy("Received at"), False, 0),
    "caller_name": (gettext_lazy("Caller"), False, 64),
    "caller_phone": (gettext_lazy("Caller's phone"), False, 32),
    "type": (gettext_lazy("Type"), False, 0),
    "category": (gettext_lazy("Category"), False, 200),
    "title": (gettext_lazy("Title"), False, 200),
    "content": (gettext_lazy("Content"), True, 0),
    "address": (gettext_lazy("Address"), False, 200),
    "region_code": (gettext_lazy("Region code"), False, 0),
    "urgency": (gettext_lazy("Urgency"), False, 0),
    "handling_unit": (gettext_lazy("Handling unit"), False, 128),
    "deadline": (gettext_lazy("Deadline"), False, 0),
    "result": (gettext_lazy("Result"), False, 0),
    "followup_result": (gettext_lazy("Follow-up result"), False, 0),
    "satisfaction": (gettext_lazy("Satisfaction"), False, 32),
    "source_status": (gettext_lazy("Status at the hotline"), False, 32),
}
REQUIRED = tuple(name for name, (_label, required, _n) in FIELDS.items() if required)
MAX_TEXT = 10_000  # content, result, follow-up result

# The headings 12345 systems commonly use (GB/T 33358 names first), matched after
# normalising (NFKC, no spaces or punctuation, lower case).
ALIASES: dict[str, tuple[str, ...]] = {
    "number": ("工单编号", "工单号", "编号", "受理编号", "number", "ticket_number"),
    "channel": ("来源渠道", "受理渠道", "渠道", "来源", "channel"),
    "received_at": ("来电时间", "受理时间", "登记时间", "创建时间", "received_at"),
    "caller_name": ("来电人", "诉求人", "来电人姓名", "姓名", "caller_name"),
    "caller_phone": ("来电号码", "联系电话", "诉求人电话", "电话", "caller_phone"),
    "type": ("诉求类型", "工单类型", "类型", "type"),
    "category": ("诉求分类", "问题分类", "分类", "业务分类", "category"),
    "title": ("标题", "诉求标题", "工单标题", "title"),
    "content": ("诉求内容", "工单内容", "内容", "来电内容", "content"),
    "address": ("事发地址", "诉求地址", "地址", "address"),
    "region_code": ("区划代码", "行政区划代码", "所属区划", "region_code"),
    "urgency": ("紧急程度", "缓急程度", "urgency"),
    "handling_unit": ("承办单位", "办理单位", "处理单位", "handling_unit"),
    "deadline": ("办理时限", "办结时限", "截止时间", "deadline"),
    "result": ("办理结果", "处理结果", "答复内容", "result"),
    "followup_result": ("回访结果", "回访情况", "followup_result"),
    "satisfaction": ("满意度", "满意程度", "satisfaction"),
    "source_status": ("工单状态", "状态", "source_status", "status"),
}

_NOISE = re.compile(r"[\s_\-:：*（）()\[\]【】]+")


def heading_key(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", str(text))).lower()


def guess_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Field → heading, for the headings that match a known alias."""
    by_key = {heading_key(h): h for h in headers if h}
    found: dict[str, str] = {}
    for field, aliases in ALIASES.items():
        for alias in aliases:
            heading = by_key.get(heading_key(alias))
            if heading is not None:
                found[field] = heading
                break
    return found


def resolve_mapping(
    headers: Sequence[str], saved: Mapping[str, str] | None
) -> tuple[dict[str, int], list[str]]:
    """Column index of each field: the saved mapping's heading where the file has it,
    else a known alias. Returns (indices, missing required fields)."""
    by_key = {heading_key(h): i for i, h in enumerate(headers) if h}
    guessed = guess_mapping(headers)
    indices: dict[str, int] = {}
    for field in FIELDS:
        heading = (saved or {}).get(field) or guessed.get(field)
        if heading and heading_key(heading) in by_key:
            indices[field] = by_key[heading_key(heading)]
    missing = [f for f in REQUIRED if f not in indices]
    return indices, missing


# ---- values ------------------------------------------------------------------------------

TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("咨询", TicketType.ENQUIRY),
    ("求助", TicketType.HELP),
    ("投诉", TicketType.COMPLAINT),
    ("举报", TicketType.TIP_OFF),
    ("建议", TicketType.SUGGESTION),
    ("意见", TicketType.SUGGESTION),
    ("感谢", TicketType.THANKS),
    ("表扬", TicketType.THANKS),
    ("其他", TicketType.OTHER),
    ("其它", TicketType.OTHER),
)
_TYPES = {t.value: t.value for t in TicketType} | {
    str(t.label).lower(): t.value for t in TicketType
}
URGENCY_WORDS = {
    "": Urgency.NORMAL,
    "一般": Urgency.NORMAL,
    "普通": Urgency.NORMAL,
    "正常": Urgency.NORMAL,
    "normal": Urgency.NORMAL,
    "紧急": Urgency.URGENT,
    "加急": Urgency.URGENT,
    "特急": Urgency.URGENT,
    "急": Urgency.URGENT,
    "urgent": Urgency.URGENT,
    "复杂": Urgency.COMPLEX,
    "complex": Urgency.COMPLEX,
}


def ticket_type(text: str) -> str | None:
    key = text.strip().lower()
    if not key:
        return TicketType.OTHER
    if key in _TYPES:
        return _TYPES[key]
    for word, value in TYPE_WORDS:
        if word in key:
            return value
    return None


_DATE_PARTS = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2})\s*秒?)?\s*分?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001  (made aware where used)


def parse_datetime_cell(value: Any, tz: ZoneInfo) -> datetime | None:
    """A date or date-time in the forms 12345 exports use (2025-03-01 08:30[:00],
    2025/3/1 8:30, 2025年3月1日 8时30分, 20250301083000, ISO 8601 with an offset, an
    Excel date); naive times are the county's. Raises ValueError when unreadable."""
    if type(value) is str:  # the usual case first: ISO text from a CSV
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if 1990 <= parsed.year <= 2100:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
            raise ValueError(value)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial date
            return (_EXCEL_EPOCH + timedelta(days=float(value))).replace(tzinfo=tz)
        raise ValueError(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        match = _DATE_PARTS.match(text) or _COMPACT.match(text)
        if match is None:
            raise
        parts = [int(p) if p else 0 for p in match.groups()]
        parsed = datetime(*parts)  # type: ignore[arg-type]  # noqa: DTZ001  (aware below)
    if parsed.year < 1990 or parsed.year > 2100:
        raise ValueError(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


_PHONE_OK = re.compile(r"^[0-9+\-() 转*#]{0,32}$")


# ---- rows --------------------------------------------------------------------------------


@dataclass(slots=True)
class TicketRow:
    number: str
    channel: str
    received_at: datetime | None
    caller_name: str
    caller_phone: str
    type: str
    category: str
    title: str
    content: str
    address: str
    region_code: str
    township_id: int | None
    location_id: int | None
    urgency: str
    handling_unit: str
    deadline: datetime | None
    result: str
    followup_result: str
    satisfaction: str
    source_status: str


# The columns written for a row, in this order (the SQL of the importer uses them too).
ROW_COLUMNS = tuple(TicketRow.__slots__)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the row in the file (the heading row is 1), or the index of a pushed ticket
    number: str
    code: str
    message: str
    column: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "number": self.number,
            "code": self.code,
            "column": self.column,
            "message": self.message,
        }


_ORDER = tuple(FIELDS)
_POS = {name: i for i, name in enumerate(_ORDER)}
_LIMITS = tuple((i, spec[2] or MAX_TEXT) for i, spec in enumerate(FIELDS.values()))
_REQUIRED = tuple(_POS[name] for name in REQUIRED)


class RowParser:
    """Cells → TicketRow or errors, for one county and one column mapping."""

    def __init__(self, county: Region, indices: Mapping[str, int] | None = None) -> None:
        self.county = county
        # The column of each field in FIELDS order; -1: not in the file.
        self.columns = [(indices or {}).get(name, -1) for name in _ORDER]
        self.places = PlaceFinder(county)
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.labels = [str(spec[0]) for spec in FIELDS.values()]

    def from_cells(self, row: int, cells: Sequence[Any]) -> TicketRow | list[RowError]:
        n = len(cells)
        values = [cells[i] if 0 <= i < n else None for i in self.columns]
        return self._parse(row, values)

    def parse(self, row: int, values: Mapping[str, Any]) -> TicketRow | list[RowError]:
        """A ticket given as a mapping of field names (a pushed JSON ticket)."""
        return self._parse(row, [values.get(name) for name in _ORDER])

    def _parse(self, row: int, raw: list[Any]) -> TicketRow | list[RowError]:
        vals = [
            v.strip() if isinstance(v, str) else ("" if v is None else cell_text(v)) for v in raw
        ]
        if "\x00" in "".join(vals):  # PostgreSQL text cannot hold NUL
            vals = [v.replace("\x00", "") for v in vals]
        labels = self.labels
        number = vals[0][:64]
        errors: list[RowError] = []

        def error(pos: int, code: str, message: str) -> None:
            errors.append(RowError(row, number, code, message, labels[pos]))

        for pos in _REQUIRED:
            if not vals[pos]:
                error(
                    pos,
                    f"hotline.{_ORDER[pos]}_missing",
                    _("%(column)s is empty.") % {"column": labels[pos]},
                )
        for pos, limit in _LIMITS:
            if len(vals[pos]) > limit:
                error(
                    pos,
                    "hotline.too_long",
                    _("%(column)s is too long (at most %(max)s characters).")
                    % {"column": labels[pos], "max": limit},
                )
        stamps: list[datetime | None] = []
        for field in ("received_at", "deadline"):
            pos = _POS[field]
            try:
                stamps.append(parse_datetime_cell(raw[pos] if vals[pos] else None, self.tz))
            except (ValueError, OverflowError, TypeError):
                stamps.append(None)
                error(
                    pos,
                    "hotline.bad_date",
                    _(
                        "%(column)s: cannot read the date “%(value)s” (write it like 2025-03-01 08:30)."
                    )
                    % {"column": labels[pos], "value": vals[pos][:40]},
                )
        (
            _number,
            channel,
            _received,
            caller_name,
            phone,
            kind_text,
            category,
            title,
            content,
            address,
            code,
            urgency_text,
            handling_unit,
            _deadline,
            result,
            followup_result,
            satisfaction,
            source_status,
        ) = vals
        kind = ticket_type(kind_text)
        if kind is None:
            error(
                _POS["type"],
                "hotline.bad_type",
                _("Unknown type “%(value)s” (咨询, 求助, 投诉, 举报, 建议, 感谢 or 其他).")
                % {"value": kind_text[:40]},
            )
        urgency = URGENCY_WORDS.get(urgency_text.lower())
        if urgency is None:
            error(
                _POS["urgency"],
                "hotline.bad_urgency",
                _("Unknown urgency “%(value)s” (一般, 紧急 or 复杂).")
                % {"value": urgency_text[:40]},
            )
        if phone and not _PHONE_OK.match(phone):
            error(_POS["caller_phone"], "hotline.bad_phone", _("The phone number is not valid."))
        location: Region | None = None
        if code:
            if not code.startswith(self.county.code):
                error(
                    _POS["region_code"],
                    "hotline.outside_county",
                    _("The region code %(code)s is outside %(county)s.")
                    % {"code": code[:20], "county": self.county.name},
                )
            elif code != self.county.code:
                location = self.places.by_code.get(code)
                if location is None:
                    error(
                        _POS["region_code"],
                        "hotline.bad_region_code",
                        _("No township or village of %(county)s has the code %(code)s.")
                        % {"code": code[:20], "county": self.county.name},
                    )
        if location is None and not errors and address:
            found = self.places.by_address(address)
            if found is False:
                error(
                    _POS["address"],
                    "hotline.outside_county",
                    _("The address is outside %(county)s.") % {"county": self.county.name},
                )
            elif isinstance(found, Region):
                location = found
        if errors:
            return errors
        township = self.places.township(location)
        return TicketRow(
            number,
            channel,
            stamps[0],
            caller_name,
            phone,
            kind or TicketType.OTHER,
            category,
            title,
            content,
            address,
            code[:12],
            township.pk if township else None,
            location.pk if location else None,
            urgency or Urgency.NORMAL,
            handling_unit,
            stamps[1],
            result,
            followup_result,
            satisfaction,
            source_status,
        )
