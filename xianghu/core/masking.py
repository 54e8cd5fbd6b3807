"""Masking of personal data (PIPL: show only what the viewer needs)."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """138****5678 for mobile numbers; keeps the area code of landlines."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


def mask_id_number(value: str | None) -> str:
    """Resident ID numbers: region prefix and the last four, birth date hidden."""
    if not value:
        return ""
    value = value.strip()
    if len(value) < 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_name(name: str | None) -> str:
    """张*明 style: first and (for 3+ characters) last character kept."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"
