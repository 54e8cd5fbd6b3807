"""The navigation's question: does the membership acting now work above the counties
(a province or city organisation), so that the oversight pages are its home?"""

from __future__ import annotations

from typing import Any

from django import template

from xianghu.oversight.access import works_above_counties

register = template.Library()


@register.filter
def may_open_oversight(membership: Any) -> bool:
    return works_above_counties(membership)
