"""Extension point of the stationed-agency page: apps above `regions` (assessment: the
agency's figures) add panels to it without `regions` importing them.

An app provides a module `agency_panels.py` that calls `register_agency_panel` when it is
imported; `RegionsConfig.ready` imports every installed app's `agency_panels` module
(`autodiscover`, as the admin does with `admin.py`). A provider is called with the request
and an agency the viewer may see, and returns an `AgencyPanel` or None (nothing to show).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from .models import Organisation


@dataclass(frozen=True)
class AgencyPanel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100  # smaller first


AgencyPanelProvider = Callable[[HttpRequest, Organisation], AgencyPanel | None]

_providers: list[AgencyPanelProvider] = []


def register_agency_panel(provider: AgencyPanelProvider) -> AgencyPanelProvider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def agency_panels(request: HttpRequest, agency: Organisation) -> list[AgencyPanel]:
    """The panels of the agency page, in their order."""
    panels = [p for p in (provider(request, agency) for provider in _providers) if p is not None]
    return sorted(panels, key=lambda p: p.order)


def autodiscover() -> None:
    """Import every installed app's `agency_panels` module (they register themselves)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("agency_panels")
