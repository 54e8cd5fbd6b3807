"""Evidence photos for the demo's simulated steps.

The demo drives the real workflow, so a step that needs a photo under the rule in force
(`XH_EVIDENCE_REQUIRED`, `calls.services.evidence_required`: an on-site response and a
completion by default) gets one: a tiny generated PNG (2 × 2 pixels), stored like any
other photo. Steps the rule does not cover get none, so the history is the same as
without the rule apart from those photos.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from xianghu.calls import services

_NAMES = {"respond": "现场.png", "complete": "办结.png"}


def png_bytes() -> bytes:
    """A valid 2 × 2 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80\x00\x80\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def evidence_photos(action: str, data: Mapping[str, Any]) -> list[SimpleUploadedFile]:
    """One generated photo if the step needs evidence, else none."""
    if not services.evidence_required(action, data):
        return []
    name = _NAMES.get(action, "照片.png")
    return [SimpleUploadedFile(name, png_bytes(), content_type="image/png")]
