from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import ERROR_KINDS, error_json
from .health import health_report

log = logging.getLogger("xianghu.security")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers and monitoring.

    200 while the database answers (a missing or stale worker is reported as
    "degraded"); 503 when the database does not, or with `?strict=1` when the worker is
    not healthy either.
    """
    report = health_report()
    status = 200
    if report["status"] == "error" or (request.GET.get("strict") and report["status"] != "ok"):
        status = 503
    return JsonResponse(report, status=status)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(
        ("/api/", "/open311/")
    ) or "application/json" in request.headers.get("Accept", "")


# Error pages: kind (a code of `core.errors.ERROR_KINDS`, which gives the status and the
# API message) → (page title, page text); one template renders them all.
_PAGES: dict[str, tuple[Any, Any]] = {
    "bad_request": (_("Request not accepted"), _("The request could not be processed.")),
    "permission_denied": (
        _("Access denied"),
        _(
            "You do not have permission to perform this action. If you think you should, "
            "ask your system administrator."
        ),
    ),
    "not_found": (
        _("Not found"),
        _("The page or object does not exist, or you are not allowed to access it."),
    ),
    "csrf_failed": (
        _("Page expired"),
        _(
            "The page has expired or the request came from an invalid source. Go back, "
            "reload the page and try again."
        ),
    ),
}


def _audit_refusal(request: HttpRequest, code: str, exception: Any, **detail: Any) -> None:
    from .audit import audit_record
    from .models import AuditKind, AuditOutcome

    code = getattr(exception, "code", None) or code
    audit_record(
        kind=AuditKind.PERMISSION_DENIED,
        request=request,
        outcome=AuditOutcome.DENIED,
        message=code,
        detail={"status": 403, "code": code, **detail},
    )


def error_response(
    request: HttpRequest, kind: str, *, message: Any = None, status: int | None = None
) -> HttpResponse:
    """The error page (or the API error shape) for one of `_PAGES`; `message` overrides
    the default text with a domain error's own message."""
    status = status or ERROR_KINDS[kind].status
    if _wants_json(request):
        return error_json(kind, status, message=message or None)
    title, page_text = _PAGES[kind]
    context = {"status": status, "title": title, "message": message or page_text}
    return render(request, "errors/error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return error_response(request, "bad_request")


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    log.warning("forbidden", extra={"path": request.path})
    _audit_refusal(request, "permission_denied", exception)
    return error_response(request, "permission_denied")


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return error_response(request, "not_found")


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a request context: the failure may be in a context processor.
    from django.template import loader

    if _wants_json(request):
        return error_json("internal_error")
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    log.warning("csrf failure", extra={"path": request.path, "reason": reason})
    _audit_refusal(request, "csrf_failed", None, reason=reason)
    return error_response(request, "csrf_failed")
