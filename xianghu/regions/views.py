from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from xianghu.core import access
from xianghu.core.http import XhRequest

from . import selectors
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
    members = None
    if access.can(actor, "view_members", org):
        members = selectors.organisation_members(actor=actor, organisation=org)
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
        {"org": org, "members": members, "children": children},
    )
