"""The form of the webhook pages; the service (`services.webhook_create`) validates."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from xianghu.core.errors import DomainError


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
        help_text=_("An http:// or https:// address of your system that accepts a POST."),
    )
    events = forms.CharField(
        label=_("Events"),
        max_length=1000,
        initial="*",
        help_text=_(
            'Event names separated by spaces or commas, such as "call.dispatch call.complete"; '
            '"*" for every event.'
        ),
    )

    def event_names(self) -> list[str]:
        return [n for n in re.split(r"[\s,，、]+", self.cleaned_data["events"]) if n]

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
