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


class ChangeImportForm(forms.Form):
    """An edited list file whose differences become change requests."""

    file = forms.FileField(
        label=_("List file (.xlsx or .csv)"),
        help_text=_(
            "The list as exported here, edited: every new or changed row becomes a change "
            "request. Rows left out are not removals."
        ),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    legal_basis = forms.CharField(
        label=_("Legal basis"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
