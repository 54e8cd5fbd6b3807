"""Forms of the public pages: they shape input; the rules live in public_accounts.py and
public_reports.py (a `DomainError` from there is put back next to its field)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from xianghu.calls.forms import DomainErrorMixin
from xianghu.calls.models import Urgency
from xianghu.catalog.models import Item
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from .models_public import PublicKind

NOT_SURE = "not_sure"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several files; they are checked by the service (`calls.attachments` rules)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return list(data)
        return [data] if data else []


def _place_choices(places: Sequence[Region], *, villages: bool = True) -> list[Any]:
    """Townships with their villages indented under them."""
    choices: list[tuple[str, str]] = []
    for region in places:
        if region.level == RegionLevel.TOWNSHIP:
            choices.append((str(region.pk), region.name))
        elif villages:
            parent = region.parent.name if region.parent else ""
            choices.append((str(region.pk), f"{parent} · {region.name}"))
    return choices


class ReportForm(DomainErrorMixin, forms.Form):
    """A public report (mobile first): what, where, photos, and a contact for visitors."""

    description = forms.CharField(
        label=_("What is the problem?"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Do not write ID numbers or other people's phone numbers here."),
    )
    photos = PhotosField(label=_("Photos (optional)"), required=False)
    location = forms.ChoiceField(
        label=_("Township or village"),
        required=False,
        help_text=_("Not sure? Leave it and give the address or your position."),
    )
    address = forms.CharField(label=_("Address or landmark"), max_length=200, required=False)
    latitude = forms.DecimalField(
        label=_("Latitude"), required=False, max_digits=9, decimal_places=6
    )
    longitude = forms.DecimalField(
        label=_("Longitude"), required=False, max_digits=9, decimal_places=6
    )
    item = forms.ChoiceField(label=_("Which matter is it?"), required=False)
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        choices=Urgency.choices,
        initial=Urgency.NORMAL,
        widget=forms.RadioSelect,
    )
    contact = forms.CharField(
        label=_("Mobile or e-mail for updates (optional)"),
        max_length=254,
        required=False,
        help_text=_(
            "Only the township handling your report can see it, masked; it is never shown publicly."
        ),
    )
    consent = forms.BooleanField(
        label=_(
            "I have read the privacy notice and agree that my contact is used for this report."
        ),
        required=False,
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self,
        *args: Any,
        places: Sequence[Region],
        items: Iterable[Item],
        anonymous: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.places = {str(r.pk): r for r in places}
        location = cast(forms.ChoiceField, self.fields["location"])
        location.choices = [("", _("— not sure —")), *_place_choices(places)]
        self.items = {str(i.pk): i for i in items}
        groups: dict[str, list[tuple[str, str]]] = {}
        for item in self.items.values():
            groups.setdefault(item.domain.name, []).append((str(item.pk), item.name))
        item_field = cast(forms.ChoiceField, self.fields["item"])
        item_field.choices = [("", _("— not sure —")), *groups.items()]
        if not anonymous:
            del self.fields["contact"]
            del self.fields["consent"]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    @property
    def location_region(self) -> Region | None:
        return self.places.get(str(self.cleaned_data.get("location") or ""))

    @property
    def item_obj(self) -> Item | None:
        return self.items.get(str(self.cleaned_data.get("item") or ""))


class RegisterForm(DomainErrorMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("I register as"),
        choices=PublicKind.choices,
        initial=PublicKind.RESIDENT,
        widget=forms.RadioSelect,
    )
    contact = forms.CharField(
        label=_("Mobile number or e-mail"),
        max_length=254,
        help_text=_("We send a code to check it; it is also your login name."),
    )
    name = forms.CharField(label=_("Your name (optional)"), max_length=64, required=False)
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(render_value=False), strip=False
    )
    password2 = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(render_value=False), strip=False
    )
    org_name = forms.CharField(label=_("Organisation name"), max_length=128, required=False)
    credit_code = forms.CharField(
        label=_("Unified social credit code"), max_length=18, required=False
    )
    org_township = forms.ChoiceField(label=_("Township where it works"), required=False)
    org_address = forms.CharField(label=_("Organisation address"), max_length=200, required=False)
    org_description = forms.CharField(
        label=_("What it does, its capacities and skills"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    consent = forms.BooleanField(
        label=_("I have read and accept the privacy notice."),
        required=True,
        error_messages={"required": _("Please read and accept the privacy notice.")},
    )

    def __init__(self, *args: Any, townships: Sequence[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.townships = {str(r.pk): r for r in townships}
        field = cast(forms.ChoiceField, self.fields["org_township"])
        field.choices = [("", _("— choose —")), *_place_choices(townships, villages=False)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, again = data.get("password"), data.get("password2")
        if password and again and password != again:
            self.add_error("password2", _("The two passwords differ."))
        elif password:
            try:
                validate_password(password)
            except ValidationError as error:
                self.add_error("password", error)
        return data

    @property
    def township(self) -> Region | None:
        return self.townships.get(str(self.cleaned_data.get("org_township") or ""))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class RatingForm(DomainErrorMixin, forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with the outcome?"),
        choices=[(str(n), "★" * n) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose from 1 to 5 stars.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
