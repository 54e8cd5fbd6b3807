from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from xianghu.core.errors import NotFound
from xianghu.core.http import XhRequest
from xianghu.regions.current import SESSION_KEY, all_memberships, current_membership

from .overview import overview_build
from .panels import panels_for

log = logging.getLogger("xianghu.security")


@login_required
def home(request: XhRequest) -> HttpResponse:
    """The role-aware workbench (工作台)."""
    membership = current_membership(request)
    user = request.user
    if membership is None and not getattr(user, "is_public", False) and not user.is_superuser:
        log.warning("user without membership", extra={"user_id": user.pk})
        return render(request, "workbench/no_membership.html", status=403)
    panels = panels_for(request=request, actor=request.actor, membership=membership)
    return render(request, "workbench/home.html", {"panels": panels})


@login_required
@require_POST
def switch_membership(request: XhRequest) -> HttpResponse:
    wanted = request.POST.get("membership")
    ids = {str(m.pk) for m in all_memberships(request)}
    if wanted not in ids:
        raise NotFound()
    request.session[SESSION_KEY] = int(str(wanted))
    return redirect("workbench:home")


@login_required
def overview(request: XhRequest) -> HttpResponse:
    """The leaders' overview (领导总览) of the calls in the user's remit (`overview.py`);
    the friendly 403 page for roles without one."""
    data = overview_build(actor=request.actor, membership=current_membership(request))
    return render(request, "workbench/overview.html", {"overview": data})
