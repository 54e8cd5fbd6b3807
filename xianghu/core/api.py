"""The API's exception handlers: every failure inside ninja becomes the one error shape
`{code, message, detail}` (built by `core.errors.error_json`)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PageNumberPagination

from .errors import (
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    code_for_status,
    error_json,
)

log = logging.getLogger("xianghu.api")
# Refusals (401, 403, 404: a bad key, a forbidden action, another organisation's object)
# belong to the security audit trail.
security_log = logging.getLogger("xianghu.security")


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


#: The id of a row in a request body: a positive 64-bit integer (the primary keys are
#: BigAutoFields; a larger number in a lookup is a database error, found by the fuzzer).
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]

#: The highest page number a list accepts: a larger one would make an SQL offset beyond what
#: the database can take (a 500 found by the API fuzzer); no list has that many pages.
MAX_PAGE = 1_000_000


class Pagination(PageNumberPagination):
    """ninja's page-number pagination with a bounded page number (422 beyond it)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1)


def file_responses(description: str, *content_types: str) -> dict[str, Any]:
    """`openapi_extra` of an operation answering 200 with a file: the file's content types
    (its errors are `ERROR_RESPONSES`, given as the operation's `response`)."""
    return {
        "responses": {
            "200": {
                "description": description,
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}} for t in content_types
                },
            }
        }
    }


def _respond(request: HttpRequest, error: DomainError, status: int | None = None) -> HttpResponse:
    status = status or error.status
    if status >= 500:
        log.error("api error %s", error.code, extra={"path": request.path})
    elif status in (401, 403, 404):
        security_log.warning("api refused %s %s", status, error.code, extra={"path": request.path})
        _audit_refusal(request, error, status)
    return error_json(error, status)


def _audit_refusal(request: HttpRequest, error: DomainError, status: int) -> None:
    from .audit import audit_record
    from .models import AuditKind, AuditOutcome

    # A refused API key is an API-key event; every other refusal a permission denial.
    kind = AuditKind.API_KEY if error.code.startswith("auth.api_key") else None
    audit_record(
        kind=kind or AuditKind.PERMISSION_DENIED,
        request=request,
        outcome=AuditOutcome.DENIED,
        message=error.code,
        detail={"status": status, "code": error.code},
    )


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _respond(request, exc)

    @api.exception_handler(NinjaValidationError)
    def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        detail = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors
        ]
        return _respond(request, InvalidInput(detail=detail), 422)

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _respond(request, NotAuthenticated())

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(request, NotFound())

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        error = DomainError(str(exc), code=code_for_status(exc.status_code))
        return _respond(request, error, exc.status_code)

    @api.exception_handler(SuspiciousOperation)
    def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # Django's request parser refuses a body over its limits (size, files, fields);
        # reading it may happen first in the CSRF check of session auth.
        security_log.warning("api refused a request: %s", exc, extra={"path": request.path})
        code = "payload_too_large" if isinstance(exc, RequestDataTooBig) else "bad_request"
        return error_json(code)

    @api.exception_handler(DataError)
    def _unstorable(request: HttpRequest, exc: DataError) -> HttpResponse:
        # PostgreSQL refuses text SQLite stores (a NUL character, even in a lookup): the
        # input is bad, not the server.
        log.warning("api input the database refused: %s", exc, extra={"path": request.path})
        return error_json(
            "invalid_input",
            message=gettext("The request holds characters that cannot be stored, such as NUL."),
        )

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error", extra={"path": request.path})
        return error_json("internal_error")
