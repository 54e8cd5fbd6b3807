from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassValidator:
    """At least three of: lower-case, upper-case, digits, symbols (等保 2.0 complexity)."""

    def validate(self, password: str, user: Any = None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                _(
                    "The password must contain at least three of: lower-case letters, "
                    "upper-case letters, digits and symbols."
                ),
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must contain at least three of: lower-case letters, upper-case "
            "letters, digits and symbols."
        )


class PasswordHistoryValidator:
    """A new password may not equal the current one or one of the last
    `XH_PASSWORD_HISTORY` (0: no rule). Django calls `password_changed` after a user with a
    new password is saved: that is where the history is written."""

    def _depth(self) -> int:
        from django.conf import settings

        return max(int(getattr(settings, "XH_PASSWORD_HISTORY", 0)), 0)

    def validate(self, password: str, user: Any = None) -> None:
        from django.contrib.auth.hashers import check_password

        depth = self._depth()
        if not depth or user is None or user.pk is None:
            return
        from .models import PasswordHistory

        hashes = list(
            PasswordHistory.objects.filter(user_id=user.pk).values_list("password_hash", flat=True)[
                :depth
            ]
        )
        # The password in use, also for accounts older than the history.
        from django.contrib.auth import get_user_model

        current = (
            get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True).first()
        )
        if current:
            hashes.append(current)
        if any(check_password(password, encoded) for encoded in hashes):
            raise ValidationError(
                _("The new password must differ from your last %(count)d passwords."),
                code="password_reused",
                params={"count": depth},
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        depth = self._depth()
        if user is None or user.pk is None or not depth or not user.has_usable_password():
            return
        from .models import PasswordHistory

        PasswordHistory.objects.create(user_id=user.pk, password_hash=user.password)
        keep = PasswordHistory.objects.filter(user_id=user.pk).values_list("pk", flat=True)[:depth]
        PasswordHistory.objects.filter(user_id=user.pk).exclude(pk__in=list(keep)).delete()

    def get_help_text(self) -> str:
        depth = self._depth()
        if not depth:
            return ""
        return _("Your password must differ from your last %(count)d passwords.") % {"count": depth}
