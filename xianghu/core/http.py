"""The request type our middleware produces, for typed views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from .actor import Actor


class XhRequest(HttpRequest):
    actor: Actor
    htmx: HtmxDetails
    request_id: str
