"""API-key scopes: which parts of the API a key may use, on top of what its role allows.

A key acts for one organisation with one role (the role decides *what* it may do to
*which* objects, as for a member); its scopes narrow that to parts of the API. The scope a
request needs comes from one small table: the first (or first two) segments of the path
below `/api/v1/` name a scope base, the method picks `:read` (GET, HEAD, OPTIONS) or `:write` (anything
else), and a few explicit exceptions override that. `ApiKeyAuth` enforces it (the one
place for the REST API); Open311's POST asks for `open311:post` (`integrations/open311/
keys.py`). A path missing from the table needs a scope no key holds, so a new router
is closed to keys until it is added here (a test checks every mounted operation).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

#: Every scope, in display order, with its label.
SCOPES: dict[str, Promise] = {
    "calls:read": _("Read calls and time limits"),
    "calls:write": _("Create calls and act on them; change time limits"),
    "lists:read": _("Read responsibility lists"),
    "lists:write": _("File and decide list change requests and admissions"),
    "assessment:read": _("Read assessment figures"),
    "assessment:write": _("Change assessment weights, file evaluation forms"),
    "routing:read": _("Ask for item suggestions"),
    "directory:read": _("Read regions, organisations and members"),
    "directory:write": _("Add and remove members"),
    "participation:write": _("Submit public participation data"),
    "hotline:read": _("Read the status of handled 12345 hotline tickets"),
    "open311:post": _("Post Open311 service requests"),
}

ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)

#: Path prefix below /api/v1/ (its first one or two segments; two win) → scope base
#: (config/api.py mounts these routers).
API_SCOPE_BASES: dict[str, str] = {
    "calls": "calls",
    "time-limits": "calls",
    "catalog": "lists",
    "assessment": "assessment",
    "routing": "routing",
    "regions": "directory",
    "organisations": "directory",
    "memberships": "directory",
    "participation": "participation",  # no endpoints yet; add participation:read with a GET
    "integrations/hotline": "hotline",
    "integrations": "integrations",  # other integrations: add their scopes with them
}

#: (method, path below /api/v1/ without slashes at the ends) → scope; None = any valid key.
API_SCOPE_EXCEPTIONS: dict[tuple[str, str], str | None] = {
    ("POST", "routing/suggest"): "routing:read",  # a question, not a write
    ("GET", "me"): None,  # who am I: every key may ask
}

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def default_scopes() -> list[str]:
    """The default of `ApiKey.scopes` (and of `apikey_create`): every scope."""
    return list(ALL_SCOPES)


def scopes_normalise(scopes: Iterable[str]) -> list[str]:
    """Known scopes of `scopes`, without duplicates, in display order."""
    wanted = set(scopes)
    return [s for s in ALL_SCOPES if s in wanted]


def scope_label(code: str) -> str:
    label = SCOPES.get(code)
    return str(label) if label is not None else code


def scope_required(*, method: str, path: str) -> str | None:
    """The scope a request needs; `path` is below the API root (`calls/12/events`).

    None: any valid key may make the request. A path outside the table yields a
    scope that no key holds (`<segment>:read|write`)."""
    method = method.upper()
    path = path.strip("/")
    if (method, path) in API_SCOPE_EXCEPTIONS:
        return API_SCOPE_EXCEPTIONS[(method, path)]
    segments = path.split("/")
    base = API_SCOPE_BASES.get("/".join(segments[:2])) or API_SCOPE_BASES.get(
        segments[0], segments[0] or "api"
    )
    return f"{base}:{'read' if method in READ_METHODS else 'write'}"


def apikey_scopes_backfill(api_key_model: Any, *, scopes: Iterable[str] = ALL_SCOPES) -> int:
    """Give every key without scopes the given ones (the data migration 0003 gives the
    keys made before scopes existed all of them, so that nothing stops working).
    `api_key_model` is the model class (the historical one in a migration)."""
    scopes = list(scopes)
    count = 0
    for key in api_key_model.objects.all().only("pk", "scopes"):
        if not key.scopes:
            api_key_model.objects.filter(pk=key.pk).update(scopes=scopes)
            count += 1
    return count
