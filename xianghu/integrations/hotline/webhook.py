"""The signed webhook a 12345 system pushes tickets to (live, one or a few at a time).

    POST /integrations/hotline/webhook/<source id>/
    X-Xianghu-Timestamp: <unix seconds>
    X-Xianghu-Signature: hex(HMAC-SHA256(secret, "<timestamp>." + body))   ("sha256=" optional)
    {"number": "…", "content": "…", …}   or   {"tickets": [{…}, …]}

The same scheme as notify's outgoing webhooks, with the timestamp signed too: a push
older or newer than `WINDOW` seconds is refused, and so is a signature already accepted
(a replay within the window). Every refusal answers `{code, message, detail}` with a
stable code, is written to `WebhookRefusal` and logged on `xianghu.security`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from xianghu.core.client_address import client_address
from xianghu.core.errors import error_json

from .models import ImportSource, WebhookReceipt, WebhookRefusal
from .services import tickets_push

audit = logging.getLogger("xianghu.security")

TIMESTAMP_HEADER = "X-Xianghu-Timestamp"
SIGNATURE_HEADER = "X-Xianghu-Signature"
WINDOW = 300  # seconds
DEFAULT_MAX_BODY = 1 << 20  # 1 MiB
MAX_TICKETS = 500


def max_body() -> int:
    return int(getattr(settings, "XH_HOTLINE_WEBHOOK_MAX_BYTES", DEFAULT_MAX_BODY))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _client(request: HttpRequest) -> str:
    return client_address(request)[:64]


def _refuse(
    request: HttpRequest,
    source: ImportSource | None,
    status: int,
    code: str,
    message: str,
    size: int,
) -> JsonResponse:
    WebhookRefusal.objects.create(
        source=source, code=code, remote_addr=_client(request), body_size=size
    )
    audit.warning(
        "hotline webhook refused: %s (source %s, from %s, %s bytes)",
        code,
        source.pk if source else None,
        _client(request),
        size,
    )
    return error_json(code, status, message=message)


@csrf_exempt  # signed by the sender; no cookies
def receive(request: HttpRequest, source_id: int) -> JsonResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    size = int(declared) if declared.isdigit() else 0
    source = ImportSource.objects.select_related("county").filter(pk=source_id).first()
    if request.method != "POST":
        return error_json("method_not_allowed", 405, message=_("Use POST."))
    if size > max_body():
        return _refuse(
            request,
            source,
            413,
            "hotline.webhook.body_too_large",
            _("The body is larger than %(max)s bytes.") % {"max": max_body()},
            size,
        )
    if source is None or not source.webhook_secret:
        return _refuse(
            request, None, 404, "hotline.webhook.unknown_source", _("Unknown source."), size
        )
    body = request.read(max_body() + 1)
    size = len(body)
    if size > max_body():  # a body longer than it said
        return _refuse(
            request,
            source,
            413,
            "hotline.webhook.body_too_large",
            _("The body is larger than %(max)s bytes.") % {"max": max_body()},
            size,
        )
    stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    if not stamp.isdigit():
        return _refuse(
            request,
            source,
            401,
            "hotline.webhook.bad_timestamp",
            _("%(header)s must be the time in Unix seconds.") % {"header": TIMESTAMP_HEADER},
            size,
        )
    given = request.headers.get(SIGNATURE_HEADER, "").strip().lower().removeprefix("sha256=")
    if not hmac.compare_digest(given, sign(source.webhook_secret, stamp, body)):
        return _refuse(
            request, source, 401, "hotline.webhook.bad_signature", _("Bad signature."), size
        )
    if abs(time.time() - int(stamp)) > WINDOW:
        return _refuse(
            request,
            source,
            401,
            "hotline.webhook.stale_timestamp",
            _("The timestamp is outside the %(seconds)s-second window.") % {"seconds": WINDOW},
            size,
        )
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(source=source, signature=given)
            # Older receipts can go: their timestamps are refused anyway.
            WebhookReceipt.objects.filter(
                source=source, at__lt=timezone.now() - timedelta(seconds=WINDOW * 2)
            ).delete()
    except IntegrityError:
        return _refuse(
            request,
            source,
            409,
            "hotline.webhook.replayed",
            _("This push was already received."),
            size,
        )
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _bad_request("hotline.webhook.bad_json", _("The body is not JSON."))
    tickets = data.get("tickets") if isinstance(data, dict) and "tickets" in data else [data]
    if not isinstance(tickets, list) or not tickets:
        return _bad_request(
            "hotline.webhook.bad_json", _('Send a ticket object or {"tickets": [...]}.')
        )
    if len(tickets) > MAX_TICKETS:
        return _bad_request(
            "hotline.webhook.too_many",
            _("At most %(max)s tickets per push.") % {"max": MAX_TICKETS},
        )
    result = tickets_push(source=source, tickets=tickets)
    return JsonResponse(
        {
            "received": len(tickets),
            "inserted": result.inserted,
            "updated": result.updated,
            "failed": len({e.row for e in result.errors}),
            "errors": [e.as_dict() | {"index": e.row} for e in result.errors],
        },
        status=200 if result.numbers or not result.errors else 400,
    )


def _bad_request(code: str, message: str) -> JsonResponse:
    return error_json(code, 400, message=message)
