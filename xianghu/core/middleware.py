from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .logging import request_id_var

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
    """Turn a `DomainError` raised in a page view into the matching error page."""

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
            # Never the domain error's own text: absent and forbidden must look the same.
            return error_response(request, "not_found")
        if exception.status == 403:
            return permission_denied(request)
        return error_response(
            request, "bad_request", message=exception.message, status=exception.status
        )


class ApiErrorShapeMiddleware:
    """Safety net: an API response that failed outside our handlers (405 from the
    router, 404 from the URL resolver, 413 from the request parser) still gets the
    `{code, message, detail}` shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            from django.http import JsonResponse
            from django.utils.translation import gettext as _

            codes = {
                400: ("bad_request", _("The request is invalid.")),
                403: ("permission_denied", _("You do not have permission to perform this action.")),
                404: (
                    "not_found",
                    _("The object does not exist or you are not allowed to access it."),
                ),
                405: ("method_not_allowed", _("This method is not allowed here.")),
                413: ("payload_too_large", _("The request body is too large.")),
            }
            code, message = codes.get(
                response.status_code, ("error", _("The request could not be processed."))
            )
            shaped = JsonResponse(
                {"code": code, "message": str(message), "detail": None},
                status=response.status_code,
            )
            if response.has_header("Allow"):
                shaped["Allow"] = response["Allow"]
            return shaped
        return response
