from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import Conflict, InvalidInput, NotFound
from xianghu.core.http import XhRequest

from . import selectors, services
from .forms import MemberAddForm
from .models import Membership, Organisation
from .roles import OrgKind


@login_required
def organisation_list(request: XhRequest) -> HttpResponse:
    """The directory of organisations the user may see, with kind filter and search."""
    kind = request.GET.get("kind") or None
    if kind not in OrgKind.values:
        kind = None
    search = (request.GET.get("q") or "").strip()[:50] or None
    qs = selectors.organisation_list(actor=request.actor, kind=kind, search=search)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    context = {"page": page, "kind": kind or "", "q": search or "", "kinds": OrgKind.choices}
    template = (
        "regions/_organisation_rows.html" if request.htmx else "regions/organisation_list.html"
    )
    return render(request, template, context)


@login_required
def organisation_detail(request: XhRequest, pk: int) -> HttpResponse:
    actor = request.actor
    org = selectors.organisation_get(actor=actor, pk=pk)
    show_members = access.can(actor, "view_members", org)
    children = None
    if org.kind == OrgKind.TOWNSHIP:
        children = selectors.organisation_list(actor=actor, township_id=org.township_id).exclude(
            pk=org.pk
        )
    elif org.kind == OrgKind.DEPARTMENT:
        children = org.stationed_agencies.select_related("township").order_by("name")
    return render(
        request,
        "regions/organisation_detail.html",
        {
            "org": org,
            "show_members": show_members,
            "members": selectors.organisation_members(actor=actor, organisation=org)
            if show_members
            else None,
            "can_manage": show_members and access.can(actor, "manage_members", org),
            "form": MemberAddForm(organisation=org),
            "children": children,
        },
    )


def _members_section(
    request: XhRequest,
    org: Organisation,
    form: MemberAddForm | None = None,
    notice: str = "",
    error: str = "",
) -> HttpResponse:
    """The members card alone, for htmx swaps (htmx swaps 200 responses only)."""
    actor = request.actor
    return render(
        request,
        "regions/_members.html",
        {
            "org": org,
            "members": selectors.organisation_members(actor=actor, organisation=org),
            "can_manage": access.can(actor, "manage_members", org),
            "form": form or MemberAddForm(organisation=org),
            "notice": notice,
            "error": error,
        },
    )


@login_required
@require_POST
def organisation_member_add(request: XhRequest, pk: int) -> HttpResponse:
    """Leaders give an existing account a role in their organisation (htmx or plain POST)."""
    actor = request.actor
    org = selectors.organisation_get(actor=actor, pk=pk)
    access.require(actor, "manage_members", org)
    form = MemberAddForm(request.POST, organisation=org)
    if form.is_valid():
        try:
            user = selectors.user_by_username(username=form.cleaned_data["username"])
            services.membership_create(
                actor=actor,
                user=user,
                organisation=org,
                role=form.cleaned_data["role"],
                title=form.cleaned_data["title"],
            )
        except (InvalidInput, Conflict, NotFound) as exc:
            form.add_error(None, str(exc.message))
    if form.is_valid():
        notice = _("The member has been added.")
        if request.htmx:
            return _members_section(request, org, notice=notice)
        messages.success(request, notice)
    elif request.htmx:
        return _members_section(request, org, form)
    else:
        messages.error(request, " ".join(_form_errors(form)))
    return redirect("regions:organisation_detail", pk=org.pk)


def _form_errors(form: MemberAddForm) -> list[str]:
    return [
        f"{form.fields[k].label if k in form.fields else ''} {e}".strip()
        for k, errs in form.errors.items()
        for e in errs
    ]


@login_required
@require_POST
def membership_deactivate(request: XhRequest, pk: int) -> HttpResponse:
    actor = request.actor
    membership = access.get_visible(actor, Membership.objects.select_related("organisation"), pk=pk)
    notice = error = ""
    try:
        services.membership_deactivate(actor=actor, membership=membership)
        notice = _("The membership has been ended.")
    except Conflict as exc:
        error = str(exc.message)
    if request.htmx:
        return _members_section(request, membership.organisation, notice=notice, error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("regions:organisation_detail", pk=membership.organisation_id)
