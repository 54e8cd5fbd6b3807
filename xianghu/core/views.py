from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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


def _error(
    request: HttpRequest, status: int, code: str, template: str, message: Any
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": code, "message": str(message), "detail": None}, status=status)
    return render(request, template, {"status": status}, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 400, "bad_request", "errors/400.html", _("The request is invalid."))


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    log.warning("forbidden", extra={"path": request.path})
    return _error(
        request,
        403,
        "permission_denied",
        "errors/403.html",
        _("You do not have permission to perform this action."),
    )


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(
        request,
        404,
        "not_found",
        "errors/404.html",
        _("The object does not exist or you are not allowed to access it."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a request context: the failure may be in a context processor.
    from django.template import loader

    if _wants_json(request):
        return JsonResponse(
            {
                "code": "internal_error",
                "message": _(
                    "An internal error occurred. It has been logged; please try again later."
                ),
                "detail": None,
            },
            status=500,
        )
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    log.warning("csrf failure", extra={"path": request.path, "reason": reason})
    return _error(
        request,
        403,
        "csrf_failed",
        "errors/csrf.html",
        _("The page has expired or the request came from an invalid source. Please reload."),
    )
