"""Masking of personal data (PIPL: show only what the viewer needs)."""

from __future__ import annotations

import re

# What `manage.py privacy_purge` writes over a personal value whose retention ran out
# (docs/privacy.md). Masking shows it as it is: it hides nothing and identifies nobody.
ANONYMISED = "已匿名"


def mask_phone(phone: str | None) -> str:
    """138****5678 for mobile numbers; keeps the area code of landlines."""
    if not phone:
        return ""
    if phone == ANONYMISED:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


def mask_email(email: str | None) -> str:
    """a***@example.cn: the first letter of the name and the domain."""
    if email == ANONYMISED:
        return email
    name, _at, domain = (email or "").partition("@")
    return f"{name[:1]}***@{domain}" if domain else ""


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
    if len(name) == 1 or name == ANONYMISED:
        return name
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"


# Personal data inside free text (a report's description, a public case's outcome): the
# patterns are deliberately broad — a false positive hides a harmless number, a miss
# exposes a person.
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
    r"(\d{3}[\dXx])(?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
_PLATE = re.compile(
    r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼])"
    r"([A-HJ-NP-Z])[·\s]?([A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]?)"
)


def mask_personal_text(text: str | None) -> str:
    """The text with resident ID numbers, mobile and landline numbers and vehicle plates
    masked (鲁C·12345 → 鲁C·***45), for anything shown to the public."""
    if not text:
        return ""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(3)[-4:]}"[:18], text)
    text = _MOBILE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text)
    text = _LANDLINE.sub(
        lambda m: f"{m.group(1)}-{'*' * (len(m.group(2)) - 2)}{m.group(2)[-2:]}", text
    )
    return _PLATE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}·{'*' * (len(m.group(3)) - 2)}{m.group(3)[-2:]}", text
    )


def contains_personal_data(text: str | None) -> bool:
    """Whether the text still holds something `mask_personal_text` would mask."""
    return bool(text) and mask_personal_text(text) != text
