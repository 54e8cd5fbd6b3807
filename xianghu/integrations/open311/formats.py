"""Rendering of Open311 responses: XML (required by the spec) and JSON (its mechanical
mapping: lists become arrays, a service definition an object)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"

# In XML every list is a wrapper element whose children carry the singular name.
_SINGULAR = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def w3c(value: datetime | None) -> str | None:
    """W3C datetime with the county's offset (`2026-01-05T09:30:00+08:00`)."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), key, child)
    elif isinstance(value, list):
        singular = _SINGULAR.get(name, "item")
        for child in value:
            _fill(ET.SubElement(element, singular), singular, child)
    elif value is not None:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, value)
    body = ET.tostring(element, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}'.encode()


def render(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """`value` is what the JSON shows; XML wraps it in `root` (lists per _SINGULAR)."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode()
        return HttpResponse(body, status=status, content_type=JSON_TYPE)
    return HttpResponse(to_xml(root, value), status=status, content_type=XML_TYPE)
