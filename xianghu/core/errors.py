"""One error model for the whole platform.

Services raise `DomainError` subclasses with a stable machine-readable `code` and a
user-facing `message` (Chinese by default through gettext). Every JSON error body,
`{code, message, detail}`, is built by `error_body`/`error_json` here, with the status
and default message of its kind from the one table `ERROR_KINDS`; the API's handlers
(`xianghu.core.api`), the API safety net and the error pages (`xianghu.core.middleware`,
`xianghu.core.views`) and the expired-session reply (`accounts.middleware`) all call it.
Codes are part of the public API: never rename one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _


class ErrorKind(NamedTuple):
    status: int
    message: Any  # the default API message (lazy)


_GENERIC = _("The request could not be processed.")

#: Every generic error code: its HTTP status and default message. Domain-specific codes
#: (`membership.role_not_allowed`) take the status of the `DomainError` class raised.
ERROR_KINDS: dict[str, ErrorKind] = {
    # The first code of each status is the one a bare HTTP status maps to.
    "bad_request": ErrorKind(400, _("The request is invalid.")),
    "error": ErrorKind(400, _GENERIC),
    "invalid_input": ErrorKind(400, _("The submitted data is invalid.")),
    "auth.required": ErrorKind(401, _("Please log in or provide a valid API key.")),
    "auth.session_expired": ErrorKind(401, _("Your session has expired. Please log in again.")),
    "permission_denied": ErrorKind(403, _("You do not have permission to perform this action.")),
    "csrf_failed": ErrorKind(
        403,
        _("The page has expired or the request came from an invalid source. Please reload."),
    ),
    "not_found": ErrorKind(
        404, _("The object does not exist or you are not allowed to access it.")
    ),
    "method_not_allowed": ErrorKind(405, _("This method is not allowed here.")),
    "conflict": ErrorKind(409, _("The request conflicts with the current state of the object.")),
    "payload_too_large": ErrorKind(413, _("The request body is too large.")),
    "unsupported_media_type": ErrorKind(415, _GENERIC),
    "rate_limited": ErrorKind(429, _GENERIC),
    "internal_error": ErrorKind(
        500, _("An internal error occurred. It has been logged; please try again later.")
    ),
}

_CODE_BY_STATUS: dict[int, str] = {}
for _code, _error_kind in ERROR_KINDS.items():
    _CODE_BY_STATUS.setdefault(_error_kind.status, _code)


def code_for_status(status: int) -> str:
    """The generic code of a bare HTTP status (a 405 from the router, a 413 from the
    request parser, ninja's `HttpError`); "error" for a status without one."""
    return _CODE_BY_STATUS.get(status, "error")


class DomainError(Exception):
    code: str = "error"
    status: int = ERROR_KINDS["error"].status
    default_message: Any = ERROR_KINDS["error"].message

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        detail: Any = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.detail = detail
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        return error_body(self)


class InvalidInput(DomainError):
    code = "invalid_input"
    status = ERROR_KINDS["invalid_input"].status
    default_message = ERROR_KINDS["invalid_input"].message


class NotAuthenticated(DomainError):
    code = "auth.required"
    status = ERROR_KINDS["auth.required"].status
    default_message = ERROR_KINDS["auth.required"].message


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = ERROR_KINDS["permission_denied"].status
    default_message = ERROR_KINDS["permission_denied"].message


class NotFound(DomainError):
    """Raised both for objects that do not exist and for objects the actor may not see.

    The message is the same in both cases so that a response never reveals whether
    another organisation's object exists.
    """

    code = "not_found"
    status = ERROR_KINDS["not_found"].status
    default_message = ERROR_KINDS["not_found"].message


class Conflict(DomainError):
    code = "conflict"
    status = ERROR_KINDS["conflict"].status
    default_message = ERROR_KINDS["conflict"].message


def error_body(
    error_or_code: DomainError | str, *, message: Any = None, detail: Any = None
) -> dict[str, Any]:
    """`{code, message, detail}` for a domain error or a code of `ERROR_KINDS`;
    `message` and `detail` override the error's own (or the kind's default)."""
    if isinstance(error_or_code, DomainError):
        code = error_or_code.code
        default_message = error_or_code.message
        default_detail = error_or_code.detail
    else:
        code = error_or_code
        default_message = ERROR_KINDS.get(code, ERROR_KINDS["error"]).message
        default_detail = None
    return {
        "code": code,
        "message": str(message if message is not None else default_message),
        "detail": detail if detail is not None else default_detail,
    }


def error_status(error_or_code: DomainError | str) -> int:
    if isinstance(error_or_code, DomainError):
        return error_or_code.status
    return ERROR_KINDS.get(error_or_code, ERROR_KINDS["error"]).status


def error_json(
    error_or_code: DomainError | str,
    status: int | None = None,
    *,
    message: Any = None,
    detail: Any = None,
) -> JsonResponse:
    """The one JSON error response: `error_body` with the error's (or kind's) status
    unless `status` is given, encoded as the API encodes every answer."""
    from ninja.responses import NinjaJSONEncoder

    return JsonResponse(
        error_body(error_or_code, message=message, detail=detail),
        status=status or error_status(error_or_code),
        encoder=NinjaJSONEncoder,
        content_type="application/json; charset=utf-8",
    )
