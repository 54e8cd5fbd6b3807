"""The API's one error shape, `{code, message, detail}`, produced here and nowhere else."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from .errors import DomainError, InvalidInput, NotAuthenticated, NotFound

log = logging.getLogger("xianghu.api")


class ErrorOut(Schema):
    code: str
    message: str
    detail: Any = None


# Response documentation for every operation: the statuses any endpoint may answer with.
ERROR_RESPONSES: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "auth.required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _respond(api: NinjaAPI, request: HttpRequest, error: DomainError) -> HttpResponse:
    if error.status >= 500:
        log.error("api error %s", error.code, extra={"path": request.path})
    elif error.status in (401, 403, 404):
        log.warning("api refused %s %s", error.status, error.code, extra={"path": request.path})
    return api.create_response(request, error.as_dict(), status=error.status)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _respond(api, request, exc)

    @api.exception_handler(NinjaValidationError)
    def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        detail = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors
        ]
        error = InvalidInput(
            _("The submitted data is invalid."), code="invalid_input", detail=detail
        )
        error.status = 422
        return _respond(api, request, error)

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _respond(api, request, NotAuthenticated())

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(api, request, NotFound())

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        error = DomainError(str(exc), code=_HTTP_CODES.get(exc.status_code, "error"))
        error.status = exc.status_code
        return _respond(api, request, error)

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error", extra={"path": request.path})
        error = DomainError(
            _("An internal error occurred. It has been logged; please try again later."),
            code="internal_error",
        )
        error.status = 500
        return api.create_response(request, error.as_dict(), status=500)
