"""The training pages (/training/): start or reset a practice, switch between the
trainee's own practice identities, and return to the real account. Thin: who may reach
which identity is decided in `services`."""

from __future__ import annotations

import logging

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from xianghu.accounts.models import User
from xianghu.core.errors import PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.selectors import actor_for_user

from . import selectors, services
from .access import may_train
from .context_processors import SESSION_KEY
from .models import PracticeRole
from .steps import STEPS

security_log = logging.getLogger("xianghu.security")
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _trainee_id(request: XhRequest) -> int:
    """The trainee of this session; refuses staff-less users who are not playing."""
    marker = request.session.get(SESSION_KEY) or {}
    trainee_id = services.trainee_resolve(
        user=request.user, session_trainee_id=marker.get("trainee")
    )
    if trainee_id == request.user.pk and not may_train(request.actor):
        raise PermissionDenied(code="training.not_staff")
    return trainee_id


def _back_to_trainee(request: XhRequest, trainee_id: int) -> None:
    trainee = User.objects.filter(pk=trainee_id, is_active=True).first()
    if trainee is None:
        raise PermissionDenied(code="training.trainee_inactive")
    security_log.info(
        "training return to real account",
        extra={"user_id": trainee_id, "practice_user_id": request.user.pk},
    )
    login(request, trainee, backend=BACKEND)


@login_required
def home(request: XhRequest) -> HttpResponse:
    trainee_id = _trainee_id(request)
    identity = services.identity_of(user_id=request.user.pk)
    sandbox = services.live_sandbox(trainee_id=trainee_id)
    progress = selectors.practice_progress(sandbox=sandbox) if sandbox else None
    current = progress.current if progress else None
    return render(
        request,
        "training/home.html",
        {
            "sandbox": sandbox,
            "progress": progress,
            "current": current,
            "identities": selectors.identities(sandbox=sandbox) if sandbox else [],
            "playing": identity,
            "steps": [
                {**s, "done": current is not None and n < current.done} for n, s in enumerate(STEPS)
            ],
            "roles": PracticeRole,
        },
    )


@login_required
@require_POST
def start(request: XhRequest) -> HttpResponse:
    trainee_id = _trainee_id(request)
    if trainee_id != request.user.pk:
        return redirect("training:home")  # already practising
    services.sandbox_start(trainee=request.user)
    return redirect("training:home")


@login_required
@require_POST
def switch(request: XhRequest) -> HttpResponse:
    trainee_id = _trainee_id(request)
    identity = services.identity_for_switch(
        trainee_id=trainee_id, role=str(request.POST.get("role", ""))
    )
    login(request, identity.user, backend=BACKEND)
    # Set after login(): switching users starts a new session.
    request.session[SESSION_KEY] = {"trainee": trainee_id}
    progress = selectors.practice_progress(sandbox=identity.sandbox)
    current = progress.current
    if current is not None:
        return redirect(reverse("calls:detail", args=[current.call.pk]))
    return redirect("training:home")


@login_required
@require_POST
def leave(request: XhRequest) -> HttpResponse:
    """Back to the real account (from a practice identity; a no-op otherwise)."""
    trainee_id = _trainee_id(request)
    if trainee_id != request.user.pk:
        _back_to_trainee(request, trainee_id)
    return redirect("training:home")


@login_required
@require_POST
def reset(request: XhRequest) -> HttpResponse:
    trainee_id = _trainee_id(request)
    if trainee_id != request.user.pk:
        # The identities being played are switched off by the reset: return first.
        _back_to_trainee(request, trainee_id)
        if not may_train(actor_for_user(user=request.user)):
            raise PermissionDenied(code="training.not_staff")
    user = request.user
    assert isinstance(user, User)  # logged in (login_required), possibly just now
    services.sandbox_reset(trainee=user)
    return redirect("training:home")
