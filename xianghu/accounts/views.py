from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from xianghu.core import access
from xianghu.core.audit import client_ip
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation
from xianghu.regions.selectors import memberships_of

from . import selectors as apikey_selectors
from .forms import (
    ApiKeyForm,
    ApiKeyRotateForm,
    LoginForm,
    TwoFactorCodeForm,
    TwoFactorDisableForm,
)
from .middleware import SESSION_EXPIRED
from .models import ApiKey, ApiKeyStatus, User
from .scopes import SCOPES
from .services import apikey_create, apikey_revoke, apikey_rotate
from .twofactor import (
    RECOVERY_NAME,
    recovery_codes_left,
    recovery_codes_regenerate,
    twofactor_device,
    twofactor_disable,
    twofactor_enrol_confirm,
    twofactor_enrol_start,
    twofactor_qr_svg,
    twofactor_required,
    twofactor_secret,
    twofactor_throttled,
    twofactor_verify,
)

security_log = logging.getLogger("xianghu.security")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("expired"):
            messages.warning(request, SESSION_EXPIRED)
        return super().get(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        """The password was right: a user with two-factor login on is not logged in yet
        but asked for a code (`login_verify`); everyone else is logged in now."""
        user = form.get_user()
        if twofactor_device(user=user) is None:
            return super().form_valid(form)
        self.request.session[PENDING_SESSION_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "at": int(time.time()),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login_verify")


# The user who gave the right password and still owes a code: id, backend, when, where to.
PENDING_SESSION_KEY = "xh_2fa_pending"
#: Seconds the code page waits for the code before the password must be given again.
PENDING_SECONDS = 5 * 60
#: The recovery codes just made, kept in the session until the page has shown them once.
CODES_SESSION_KEY = "xh_2fa_codes"


def _pending_user(request: HttpRequest) -> tuple[dict[str, Any], User] | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    if int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        del request.session[PENDING_SESSION_KEY]
        return None
    user = User.objects.filter(pk=int(pending.get("user_id") or 0), is_active=True).first()
    if user is None:
        del request.session[PENDING_SESSION_KEY]
        return None
    return pending, user


@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step of the login of a user with two-factor login on: the code of the
    authenticator app, or a recovery code. Wrong codes count toward the login lockout
    (django-axes, by user name and address) and are logged."""
    from axes.handlers.proxy import AxesProxyHandler

    found = _pending_user(request)
    if found is None:
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.warning(request, _("Please log in again."))
        return redirect(settings.LOGIN_URL)
    pending, user = found
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        del request.session[PENDING_SESSION_KEY]
        return lockout_response(request, credentials)
    form = TwoFactorCodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        device = twofactor_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            del request.session[PENDING_SESSION_KEY]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            recovery = getattr(device, "name", "") == RECOVERY_NAME
            security_log.info(
                "2fa verified",
                extra={"user_id": user.pk, "method": "recovery_code" if recovery else "totp"},
            )
            if recovery:
                messages.warning(
                    request,
                    _("You used a recovery code; %(count)d left. Make new ones on My account.")
                    % {"count": recovery_codes_left(user=user)},
                )
            return redirect(pending["next"])
        status = 400
        security_log.warning(
            "2fa code rejected", extra={"user_id": user.pk, "ip": client_ip(request)}
        )
        # Counted by django-axes like a wrong password: the lockout covers both steps.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if AxesProxyHandler.is_locked(request, credentials):
            del request.session[PENDING_SESSION_KEY]
            return lockout_response(request, credentials)
        if twofactor_throttled(user=user):
            form.add_error(
                "code", _("Too many wrong codes: wait a few seconds, then enter the new code.")
            )
        else:
            form.add_error("code", _("The code is not correct."))
    return render(
        request,
        "accounts/login_verify.html",
        {"form": form, "limit": settings.AXES_FAILURE_LIMIT},
        status=status,
    )


@login_required
@never_cache
def two_factor(request: HttpRequest) -> HttpResponse:
    """Two-factor login on "My account": set it up (QR code, secret, first code), then the
    recovery codes once; replace the recovery codes; turn it off (password again)."""
    user: Any = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    code_form = TwoFactorCodeForm(request.POST if action == "confirm" else None)
    disable_form = TwoFactorDisableForm(request.POST if action == "disable" else None)
    status = 200
    try:
        if action == "confirm" and code_form.is_valid():
            try:
                device, codes = twofactor_enrol_confirm(
                    user=user, code=code_form.cleaned_data["code"]
                )
            except InvalidInput as exc:
                code_form.add_error("code", str(exc.message))
                status = exc.status
            else:
                otp_login(request, device)
                request.session[CODES_SESSION_KEY] = codes
                messages.success(request, _("Two-factor login is on."))
                return redirect("accounts:two_factor")
        elif action == "recovery":
            request.session[CODES_SESSION_KEY] = recovery_codes_regenerate(user=user)
            messages.success(request, _("New recovery codes made; the old ones no longer work."))
            return redirect("accounts:two_factor")
        elif action == "disable" and disable_form.is_valid():
            try:
                twofactor_disable(user=user, password=disable_form.cleaned_data["password"])
            except InvalidInput as exc:
                disable_form.add_error("password", str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("Two-factor login is off."))
                return redirect("accounts:two_factor")
        elif action is not None:
            status = 400
    except (Conflict, PermissionDenied) as exc:
        messages.error(request, str(exc.message))
        return redirect("accounts:two_factor")
    device = twofactor_device(user=user)
    context: dict[str, Any] = {
        "enabled": device is not None,
        "required": twofactor_required(user=user),
        "code_form": code_form,
        "disable_form": disable_form,
    }
    if device is None:
        pending = twofactor_enrol_start(user=user)
        context.update(qr_svg=twofactor_qr_svg(pending), secret=twofactor_secret(pending))
    else:
        context.update(
            codes=request.session.pop(CODES_SESSION_KEY, None),
            codes_left=recovery_codes_left(user=user),
        )
    return render(request, "accounts/two_factor.html", context, status=status)


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
        "login refused: locked", extra={"username": username, "ip": client_ip(request)}
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
