from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Organisation
from .roles import ROLE_ORG_KINDS, Role


class MemberAddForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"))
    title = forms.CharField(label=_("Job title"), max_length=64, required=False)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the roles this kind of organisation can hold; system administrators are
        # appointed in the admin.
        role_field = cast(forms.ChoiceField, self.fields["role"])
        role_field.choices = [
            (value, label)
            for value, label in Role.choices
            if organisation.kind in ROLE_ORG_KINDS[value] and value != Role.SYSTEM_ADMIN
        ]
