from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ImportForm(forms.Form):
    title = forms.CharField(
        label=_("Title of the new version"),
        max_length=200,
        required=False,
        help_text=_("Leave empty for “<list name>, version n”."),
    )
    file = forms.FileField(
        label=_("List file (.xlsx or .csv)"),
        help_text=_("The official table as exported here, or the CSV shape of the catalogue."),
    )
