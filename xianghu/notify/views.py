"""The inbox: /notifications/ (own notifications, newest first) and marking read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from xianghu.core.http import XhRequest

from . import selectors, services

PER_PAGE = 20


def _page(request: XhRequest) -> dict[str, object]:
    unread_only = request.GET.get("unread") == "1"
    qs = selectors.notification_list(actor=request.actor, unread_only=unread_only)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return {"page": page, "unread_only": unread_only}


@login_required
def inbox(request: XhRequest) -> HttpResponse:
    return render(request, "notify/inbox.html", _page(request))


def _back(request: XhRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = ""
    return redirect(target or "notify:inbox")


@require_GET
@never_cache
def unread_badge(request: XhRequest) -> HttpResponse:
    """The unread count of the navigation, loaded by htmx after the page (so that no
    page pays for it); nothing (204) for anonymous visitors."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(request, "notify/_nav_count.html")


@login_required
@require_POST
def mark_read(request: XhRequest, pk: int) -> HttpResponse:
    notification = selectors.notification_get(actor=request.actor, pk=pk)
    services.notification_mark_read(actor=request.actor, notification=notification)
    if request.htmx:
        return render(
            request,
            "notify/_row.html",
            {"n": notification, "row_oob": True},
        )
    return _back(request)


@login_required
@require_POST
def mark_all_read(request: XhRequest) -> HttpResponse:
    services.notification_mark_all_read(actor=request.actor)
    if request.htmx:
        return render(request, "notify/_list.html", {**_page(request), "oob_unread": True})
    return _back(request)
