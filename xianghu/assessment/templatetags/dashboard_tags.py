"""Filters of the assessment dashboards: rates, scores and durations with "no data" where
there is none (never 0 % or 100 %), the labels of ranks and losses, and whether the role
the user works as opens the dashboards (for the navigation)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from xianghu.assessment import dashboards

register = template.Library()


def _no_data() -> SafeString:
    return format_html('<span class="no-data" data-no-data>{}</span>', _("no data"))


@register.filter
def pct(value: Decimal | None) -> SafeString | str:
    """A rate (0–1) as a percentage with one decimal: 0.75 → 75.0%."""
    if value is None:
        return _no_data()
    shown = (Decimal(value) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{shown}%"


@register.filter
def points(value: Decimal | None) -> SafeString | str:
    """A score or points with two decimals."""
    if value is None:
        return _no_data()
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@register.filter
def duration(seconds: int | None) -> SafeString | str:
    """Seconds as minutes, hours or days, whichever reads best."""
    if seconds is None:
        return _no_data()
    if seconds < 3600:
        return _("%(n)s min") % {"n": round(seconds / 60)}
    if seconds < 2 * 86400:
        return _("%(n)s h") % {"n": f"{seconds / 3600:.1f}"}
    return _("%(n)s d") % {"n": f"{seconds / 86400:.1f}"}


@register.filter
def status_label(status: str) -> str:
    return str(dashboards.STATUS_LABELS.get(status, status))


@register.filter
def component_label(key: str) -> str:
    return str(dashboards.COMPONENT_LABELS.get(key, key))


@register.filter
def loss_label(kind: str) -> str:
    return str(dashboards.LOSS_LABELS.get(kind, kind))


@register.filter
def loss_reasons(loss: Any) -> str:
    return dashboards.reasons_text(loss.kind, loss.reasons)


@register.filter
def kind_label(kind: str) -> str:
    return str(dashboards.KIND_LABELS.get(kind, kind))


@register.filter
def may_see_dashboards(membership: Any) -> bool:
    return dashboards.may_see_dashboards(membership)
