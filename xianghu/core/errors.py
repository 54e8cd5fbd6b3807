"""One error model for the whole platform.

Services raise `DomainError` subclasses with a stable machine-readable `code` and a
user-facing `message` (Chinese by default through gettext). The API maps them to
`{code, message, detail}` in exactly one place (`xianghu.core.api`), views map them to
pages or form errors. Codes are part of the public API: never rename one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code: str = "error"
    status: int = 400
    default_message: Any = _("The request could not be processed.")

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
        return {"code": self.code, "message": str(self.message), "detail": self.detail}


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = _("The submitted data is invalid.")


class NotAuthenticated(DomainError):
    code = "auth.required"
    status = 401
    default_message = _("Please log in or provide a valid API key.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to perform this action.")


class NotFound(DomainError):
    """Raised both for objects that do not exist and for objects the actor may not see.

    The message is the same in both cases so that a response never reveals whether
    another organisation's object exists.
    """

    code = "not_found"
    status = 404
    default_message = _("The object does not exist or you are not allowed to access it.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state of the object.")
