from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .logging import request_id_var

security_log = logging.getLogger("xianghu.security")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Take `X-Request-ID` from the proxy (or make one) and echo it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DomainErrorMiddleware:
    """Turn a `DomainError` raised in a page view into the matching error page; refusals
    (403, 404: another organisation's object, a forbidden action) are logged on
    `xianghu.security`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from .errors import DomainError
        from .views import error_response, permission_denied

        if not isinstance(exception, DomainError):
            return None
        if exception.status == 404:
            security_log.warning(
                "not found or not visible",
                extra={"path": request.path, "code": exception.code, **_who(request)},
            )
            _audit_not_found(request, exception.code)
            # Never the domain error's own text: absent and forbidden must look the same.
            return error_response(request, "not_found")
        if exception.status == 403:
            # `permission_denied` logs the refusal.
            return permission_denied(request, exception)
        return error_response(
            request, "bad_request", message=exception.message, status=exception.status
        )


def _audit_not_found(request: HttpRequest, code: str) -> None:
    from .audit import audit_record
    from .models import AuditKind, AuditOutcome

    audit_record(
        kind=AuditKind.PERMISSION_DENIED,
        request=request,
        outcome=AuditOutcome.DENIED,
        message=code,
        detail={"status": 404, "code": code},
    )


def _who(request: HttpRequest) -> dict[str, int | None]:
    user = getattr(request, "user", None)
    return {"user_id": user.pk if user is not None and user.is_authenticated else None}


class ApiErrorShapeMiddleware:
    """Safety net: an API response that failed outside our handlers (405 from the
    router, 404 from the URL resolver, 413 from the request parser) still gets the
    `{code, message, detail}` shape, with the generic code of its status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            from .errors import code_for_status, error_json

            shaped = error_json(code_for_status(response.status_code), response.status_code)
            if response.has_header("Allow"):
                shaped["Allow"] = response["Allow"]
            return shaped
        return response
