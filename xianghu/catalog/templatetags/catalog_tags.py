from __future__ import annotations

from django import template

from xianghu.catalog.limits import limit_label

register = template.Library()


@register.filter
def limit(value: str) -> str:
    """`5wd` → 5个工作日, as the official tables write time limits."""
    return limit_label(value)
