from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation
from xianghu.regions.selectors import memberships_of

from . import selectors as apikey_selectors
from .forms import ApiKeyForm, ApiKeyRotateForm, LoginForm
from .middleware import SESSION_EXPIRED
from .models import ApiKey, ApiKeyStatus
from .scopes import SCOPES
from .services import apikey_create, apikey_revoke, apikey_rotate

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


# ---- API keys -------------------------------------------------------------------------------

# The plain text of a key just made (or made by a rotation), kept in the session only until
# the keys page has shown it once.
PLAIN_SESSION_KEY = "xh_apikey_plain"


def _key_organisation(request: XhRequest, wanted: str | None) -> Organisation:
    """The organisation whose keys the page shows: `?org=<id>` if given, else the one the
    user works for now (the role switcher); the user must manage its members, else 403."""
    actor = request.actor
    if wanted:
        org = access.get_visible(actor, Organisation.objects.all(), pk=wanted)
    else:
        membership = current_membership(request)
        if membership is None:
            raise PermissionDenied(
                _("Only those who manage an organisation's members manage its API keys."),
                code="apikey.not_allowed",
            )
        org = membership.organisation
    if not access.can(actor, "manage_members", org):
        raise PermissionDenied(
            _("Only those who manage an organisation's members manage its API keys."),
            code="apikey.not_allowed",
        )
    return org


def _keys_url(request: XhRequest, org: Organisation) -> str:
    url = reverse("accounts:apikeys")
    membership = current_membership(request)
    if membership is None or membership.organisation_id != org.pk:
        url += "?" + urlencode({"org": org.pk})
    return url


def _remember_plain(request: XhRequest, key: ApiKey, plain: str) -> None:
    request.session[PLAIN_SESSION_KEY] = {"id": key.pk, "plain": plain}


def _pop_plain(request: XhRequest, keys: list[ApiKey]) -> tuple[ApiKey | None, str]:
    """The key just made among `keys` and its plain text, forgotten once returned (a key
    of another organisation's page stays kept for that page)."""
    kept = request.session.get(PLAIN_SESSION_KEY)
    if not isinstance(kept, dict):
        return None, ""
    fresh = next((k for k in keys if k.pk == kept.get("id")), None)
    if fresh is None:
        return None, ""
    del request.session[PLAIN_SESSION_KEY]
    return fresh, str(kept.get("plain", ""))


@login_required
@never_cache
def apikey_list(request: XhRequest) -> HttpResponse:
    """The organisation's API keys, the form to create one, and the plain text of a key
    just made (shown once)."""
    actor = request.actor
    org = _key_organisation(request, request.POST.get("org") or request.GET.get("org"))
    posted = request.method == "POST"
    form = ApiKeyForm(request.POST if posted else None, organisation=org, actor=actor)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            try:
                key, plain = apikey_create(
                    actor=actor,
                    organisation=org,
                    role=form.cleaned_data["role"],
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                )
            except (InvalidInput, Conflict) as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                _remember_plain(request, key, plain)
                messages.success(request, _("API key created."))
                return redirect(_keys_url(request, org))
    keys = list(apikey_selectors.apikey_list(actor=actor, organisation=org))
    fresh, plain = _pop_plain(request, keys) if not posted else (None, "")
    organisations = list(apikey_selectors.apikey_organisations(actor=actor))
    if org not in organisations:
        organisations.insert(0, org)
    return render(
        request,
        "accounts/apikeys.html",
        {
            "organisation": org,
            "organisations": organisations,
            "keys": keys,
            "form": form,
            "rotate_form": ApiKeyRotateForm(),
            "fresh": fresh,
            "plain": plain,
            "statuses": ApiKeyStatus,
            "scope_count": len(SCOPES),
        },
        status=status,
    )


@login_required
@require_POST
def apikey_rotate_view(request: XhRequest, pk: int) -> HttpResponse:
    """Replace a key: the new key is shown once; the old one keeps working for the chosen
    grace period."""
    key = apikey_selectors.apikey_get(actor=request.actor, pk=pk)
    form = ApiKeyRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how long the old key keeps working."))
        return redirect(_keys_url(request, key.organisation))
    try:
        new, plain = apikey_rotate(
            actor=request.actor, key=key, grace_hours=form.cleaned_data["grace_hours"]
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, str(exc.message))
        return redirect(_keys_url(request, key.organisation))
    _remember_plain(request, new, plain)
    if key.expires_at is not None:
        messages.success(
            request,
            _("API key replaced. The old key %(prefix)s… works until %(at)s.")
            % {
                "prefix": key.prefix,
                "at": date_format(timezone.localtime(key.expires_at), "Y-m-d H:i"),
            },
        )
    else:
        messages.success(
            request,
            _("API key replaced. The old key %(prefix)s… no longer works.")
            % {"prefix": key.prefix},
        )
    return redirect(_keys_url(request, key.organisation))


@login_required
@require_POST
def apikey_revoke_view(request: XhRequest, pk: int) -> HttpResponse:
    key = apikey_selectors.apikey_get(actor=request.actor, pk=pk)
    apikey_revoke(actor=request.actor, key=key)
    messages.success(request, _("API key %(prefix)s… revoked.") % {"prefix": key.prefix})
    return redirect(_keys_url(request, key.organisation))
