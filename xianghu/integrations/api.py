"""REST endpoints of the integrations app, mounted at /api/v1/integrations/.

`GET hotline/updates` gives a 12345 system the status of the tickets the platform has
handled (turned into calls or dispatched), changed since a moment, oldest change first:
the system keeps the last `updated_at` it saw and asks again with it. An API key of the
county's platform centre (`X-API-Key`) or a session of its operators."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from xianghu.accounts.api_auth import API_AUTH
from xianghu.core.api import ERROR_RESPONSES
from xianghu.core.errors import PermissionDenied

from .hotline import selectors
from .hotline.services import access_counties

router = Router(tags=["integrations"])


class StatusOut(Schema):
    number: str
    disposition: str
    call_number: str | None
    call_state: str | None
    call_state_label: str | None
    call_state_changed_at: str | None
    closed: bool
    township: str | None
    caller: str
    caller_phone: str
    updated_at: str


class UpdatesIn(Schema):
    since: datetime | None = None
    limit: int = 1000
    all: bool = False


@router.get(
    "/hotline/updates",
    response={200: list[StatusOut], **ERROR_RESPONSES},
    auth=API_AUTH,
    summary="Status updates of handled hotline tickets",
)
def hotline_updates(request: HttpRequest, filters: Query[UpdatesIn]) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    if not access_counties(actor) and not actor.is_superuser:
        raise PermissionDenied(
            _("Only the county's platform centre handles hotline tickets."),
            code="hotline.forbidden",
        )
    qs = selectors.status_updates(actor=actor, since=filters.since, handled_only=not filters.all)
    limit = max(1, min(filters.limit, 5000))
    return [selectors.status_row(t) for t in qs[:limit]]
