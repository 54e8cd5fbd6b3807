from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from xianghu.core.actor import Actor
from xianghu.core.errors import DomainError
from xianghu.regions.models import Organisation
from xianghu.regions.roles import ROLE_ORG_KINDS, Role

from .scopes import SCOPES


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "The username or password is incorrect. After %(limit)s failed attempts the "
            "account is locked for a while."
        ),
        "inactive": _("This account has been disabled. Please contact your administrator."),
    }

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def get_invalid_login_error(self) -> forms.ValidationError:
        from django.conf import settings

        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": settings.AXES_FAILURE_LIMIT},
        )


class ApiKeyForm(forms.Form):
    """A new API key of one organisation; the service (`apikey_create`) validates again."""

    name = forms.CharField(
        label=_("Key name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("What the key is for, such as the system that uses it (12345 hotline)."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        help_text=_("The key acts for the organisation with this role, as a member would."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        choices=[(code, format_lazy("{} · {}", code, label)) for code, label in SCOPES.items()],
        help_text=_("Give the key only the parts of the API the other system needs."),
        error_messages={"required": _("Choose at least one scope.")},
    )

    def __init__(self, *args: Any, organisation: Organisation, actor: Actor, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["role"].choices = [  # type: ignore[attr-defined]
            (role.value, role.label)
            for role in Role
            if organisation.kind in ROLE_ORG_KINDS[role]
            and (role != Role.SYSTEM_ADMIN or actor.has_role(Role.SYSTEM_ADMIN))
        ]

    def add_domain_error(self, exc: DomainError) -> None:
        """Put a service's error next to its field (`detail`), else above the form."""
        placed = False
        for problem in exc.detail if isinstance(exc.detail, list) else []:
            field = str(problem.get("field", "")) if isinstance(problem, dict) else ""
            if field in self.fields:
                self.add_error(field, str(problem.get("message", "")))
                placed = True
        if not placed:
            self.add_error(None, str(exc.message))


#: The grace periods the page offers when a key is replaced, in hours (0: stop it now).
GRACE_CHOICES = (
    (0, _("Stop the old key now")),
    (24, _("Old key works 24 more hours")),
    (168, _("Old key works 7 more days")),
)


class ApiKeyRotateForm(forms.Form):
    grace_hours = forms.TypedChoiceField(
        label=_("Grace period"),
        coerce=int,
        choices=[(str(h), label) for h, label in GRACE_CHOICES],
        initial="24",
    )


class TwoFactorCodeForm(forms.Form):
    """The code of the authenticator app (6 digits) or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
        ),
    )


class TwoFactorDisableForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
