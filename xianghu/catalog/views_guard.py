"""The guard as a page: before a department hands a township a task, it sees whether
the list allows it (and why not)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from xianghu.core.errors import PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

from . import selectors
from .guard import handoff_check
from .models import Item


class ItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Item) -> str:
        return f"{obj.code} {obj.name}"


class GuardForm(forms.Form):
    township = forms.ModelChoiceField(label=_("Township"), queryset=Organisation.objects.none())
    item = ItemChoiceField(
        label=_("List item"),
        queryset=Item.objects.none(),
        required=False,
        empty_label=_("— not on the list —"),
    )
    duty = forms.ChoiceField(
        label=_("What is asked"),
        choices=[
            ("primary", _("The task itself")),
            ("cooperating", _("The township's cooperating duties only")),
        ],
        initial="primary",
    )

    def __init__(self, *args, department: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        township_field = self.fields["township"]
        assert isinstance(township_field, forms.ModelChoiceField)
        township_field.queryset = Organisation.objects.filter(
            county=department.county, kind=OrgKind.TOWNSHIP, is_active=True
        ).order_by("region__code")
        version = (
            selectors.county_version_in_force(county=department.county)
            if department.county
            else None
        )
        item_field = self.fields["item"]
        assert isinstance(item_field, forms.ModelChoiceField)
        item_field.queryset = (
            Item.objects.filter(version=version).order_by("domain__order", "order")
            if version
            else Item.objects.none()
        )


@login_required
def guard_check(request: XhRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None or membership.organisation.kind not in (
        OrgKind.DEPARTMENT,
        OrgKind.STATIONED_AGENCY,
    ):
        raise PermissionDenied()
    department = membership.organisation
    form = GuardForm(request.GET or None, department=department)
    decision = None
    if request.GET and form.is_valid():
        decision = handoff_check(
            giver=department,
            receiver=form.cleaned_data["township"],
            item=form.cleaned_data["item"],
            duty=form.cleaned_data["duty"],
        )
    return render(
        request,
        "catalog/keeper/guard.html",
        {"form": form, "decision": decision, "department": department},
    )
