"""Time limits as written in the lists: `30m`, `2h`, `24h` (clock time), `5wd` (working
days on the Chinese statutory calendar) and `2wh` (working hours inside the county's
office hours)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput

_LIMIT = re.compile(r"^\s*(\d{1,4})\s*(m|h|wh|wd|d)\s*$")
UNIT_LABELS = {"m": "分钟", "h": "小时", "wh": "个工作小时", "wd": "个工作日", "d": "天"}


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    unit: str  # "m" minutes, "h" hours, "d" calendar days, "wd" working days, "wh" working hours

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def label(self) -> str:
        """How the official tables write it: 30分钟, 24小时, 5个工作日."""
        return f"{self.amount}{UNIT_LABELS[self.unit]}"

    @property
    def minutes(self) -> int | None:
        """Clock minutes for m/h/d; None for working days and hours (they need the calendar)."""
        return {"m": 1, "h": 60, "d": 1440}.get(self.unit, 0) * self.amount or None


_LABEL = re.compile(r"^\s*(\d{1,4})\s*(分钟|个工作小时|工作小时|小时|个工作日|工作日|天|日)\s*$")
_LABEL_UNITS = {
    "分钟": "m",
    "小时": "h",
    "个工作小时": "wh",
    "工作小时": "wh",
    "个工作日": "wd",
    "工作日": "wd",
    "天": "d",
    "日": "d",
}


def parse_limit(value: str) -> Limit:
    """Parse `5wd` or the official label `5个工作日`; anything else is an `InvalidInput`.

    A bare "5天" is refused on purpose: in a list it is ambiguous (working or calendar
    days?), so calendar days must be written `5d` and working days `5wd` / 5个工作日.
    """
    text = (value or "").strip()
    match = _LIMIT.match(text)
    if match:
        return _checked(int(match.group(1)), match.group(2), text)
    match = _LABEL.match(text)
    if match and match.group(2) not in ("天", "日"):
        return _checked(int(match.group(1)), _LABEL_UNITS[match.group(2)], text)
    raise InvalidInput(
        _(
            "The time limit “%(value)s” cannot be read: write 30m, 2h, 24h, 2wh or 5wd "
            "(or 30分钟, 2小时, 2个工作小时, 5个工作日)."
        )
        % {"value": text},
        code="catalog.bad_limit",
    )


def _checked(amount: int, unit: str, text: str) -> Limit:
    if amount <= 0:
        raise InvalidInput(
            _("The time limit “%(value)s” must be greater than zero.") % {"value": text},
            code="catalog.bad_limit",
        )
    return Limit(amount, unit)


def limit_label(value: str) -> str:
    """`5wd` → 5个工作日 for display; an unreadable value is shown as it is."""
    if not value:
        return ""
    try:
        return parse_limit(value).label
    except InvalidInput:
        return value
