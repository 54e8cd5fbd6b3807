from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from xianghu.regions.selectors import memberships_of

from .forms import LoginForm
from .middleware import SESSION_EXPIRED

security_log = logging.getLogger("xianghu.security")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("expired"):
            messages.warning(request, SESSION_EXPIRED)
        return super().get(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, _("Your password has been changed."))
        return super().form_valid(form)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {"memberships": memberships_of(user=request.user)},
    )


def lockout_response(
    request: HttpRequest, credentials: Any = None, *args: Any, **kw: Any
) -> HttpResponse:
    """Shown instead of the login form while django-axes keeps the account locked."""
    from django.conf import settings

    username = (credentials or {}).get("username", "") if isinstance(credentials, dict) else ""
    security_log.warning(
        "login refused: locked", extra={"username": username, "ip": request.META.get("REMOTE_ADDR")}
    )

    minutes = int(float(settings.AXES_COOLOFF_TIME) * 60)
    return render(
        request,
        "accounts/locked.html",
        {"minutes": minutes, "limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
