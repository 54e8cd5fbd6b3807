"""Cleaning of free text that users and other systems send."""

from __future__ import annotations

import re

# C0 controls except tab, newline and carriage return, and DEL: they break Excel exports
# and PostgreSQL refuses NUL in text columns.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object) -> str:
    """`value` as text without control characters, stripped."""
    if value is None:
        return ""
    return _CONTROL.sub("", str(value)).strip()
