"""Extension points of the call pages: apps above `calls` (routing, …) add panels to the
call page and the new-call form without `calls` importing them. A provider registers in
its AppConfig.ready() and returns a `Panel` or None (nothing to show for this viewer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from xianghu.regions.models import Organisation

from .models import Call


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


CallPanelProvider = Callable[[HttpRequest, Call, set[str]], Panel | None]
FormPanelProvider = Callable[[HttpRequest, Organisation], Panel | None]

_call_providers: list[CallPanelProvider] = []
_form_providers: list[FormPanelProvider] = []


def register_call_panel(provider: CallPanelProvider) -> CallPanelProvider:
    if provider not in _call_providers:
        _call_providers.append(provider)
    return provider


def register_form_panel(provider: FormPanelProvider) -> FormPanelProvider:
    if provider not in _form_providers:
        _form_providers.append(provider)
    return provider


def _collect(providers: list[Any], *args: Any) -> list[Panel]:
    return [p for p in (provider(*args) for provider in providers) if p is not None]


def call_panels(request: HttpRequest, call: Call, parties: set[str]) -> list[Panel]:
    """The panels for the call page, for the viewer's parties on the call."""
    return _collect(_call_providers, request, call, parties)


def form_panels(request: HttpRequest, organisation: Organisation) -> list[Panel]:
    """The panels for the new-call form of `organisation`."""
    return _collect(_form_providers, request, organisation)
