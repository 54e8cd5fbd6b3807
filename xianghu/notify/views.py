"""The inbox: /notifications/ (own notifications, newest first) and marking read; and the
webhook pages: /notifications/webhooks/, where the leaders of an organisation and the
system administrators working in it manage its webhooks (docs/notifications.md)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from xianghu.core.errors import DomainError, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation

from . import selectors, services
from .access import webhooks_may_manage
from .forms import WebhookForm
from .models import Webhook, WebhookStatus

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


# ---- webhooks -------------------------------------------------------------------------------

# The secret of a webhook just made (or given a new secret), kept in the session only until
# the webhook's page has shown it once.
SECRET_SESSION_KEY = "xh_webhook_secret"  # noqa: S105  (a session key, not a secret)


def _organisation(request: XhRequest) -> Organisation:
    """The organisation whose webhooks the user manages: the one they work for now (the
    role switcher), if they lead it or administer the system from it; else 403."""
    membership = current_membership(request)
    if membership is None or not webhooks_may_manage(membership):
        raise PermissionDenied(code="webhook.not_allowed")
    return membership.organisation


def _webhook(request: XhRequest, pk: int) -> tuple[Organisation, Webhook]:
    org = _organisation(request)
    return org, selectors.webhook_get(actor=request.actor, organisation_id=org.pk, pk=pk)


def _remember_secret(request: XhRequest, webhook: Webhook, secret: str) -> None:
    request.session[SECRET_SESSION_KEY] = {"id": webhook.pk, "secret": secret}


def _pop_secret(request: XhRequest, webhook: Webhook) -> str:
    kept = request.session.get(SECRET_SESSION_KEY)
    if isinstance(kept, dict) and kept.get("id") == webhook.pk:
        del request.session[SECRET_SESSION_KEY]
        return str(kept.get("secret", ""))
    return ""


@login_required
@never_cache
def webhook_list(request: XhRequest) -> HttpResponse:
    """The organisation's webhooks, and the form to add one."""
    org = _organisation(request)
    form = WebhookForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                hook, secret = services.webhook_create(
                    actor=request.actor,
                    organisation=org,
                    url=form.cleaned_data["url"],
                    events=form.event_names(),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                _remember_secret(request, hook, secret)
                messages.success(request, _("Webhook added."))
                return redirect("notify:webhook_detail", pk=hook.pk)
    hooks = selectors.webhook_list(actor=request.actor, organisation_id=org.pk)
    return render(
        request,
        "notify/webhooks.html",
        {
            "organisation": org,
            "webhooks": hooks,
            "form": form,
            "max_webhooks": services.MAX_WEBHOOKS_PER_ORGANISATION,
        },
        status=status,
    )


@login_required
@never_cache
def webhook_detail(request: XhRequest, pk: int) -> HttpResponse:
    """One webhook: its settings, the secret once after it was made, the actions and the
    recent delivery log."""
    org, hook = _webhook(request, pk)
    return render(
        request,
        "notify/webhook_detail.html",
        {
            "organisation": org,
            "webhook": hook,
            "secret": _pop_secret(request, hook),
            "deliveries": selectors.webhook_deliveries(actor=request.actor, webhook=hook),
            "log_size": selectors.DELIVERY_LOG_SIZE,
            "statuses": WebhookStatus,
        },
    )


@login_required
@require_POST
def webhook_set_active(request: XhRequest, pk: int) -> HttpResponse:
    _org, hook = _webhook(request, pk)
    active = request.POST.get("active") == "1"
    services.webhook_set_active(actor=request.actor, webhook=hook, active=active)
    messages.success(request, _("Webhook enabled.") if active else _("Webhook disabled."))
    return redirect("notify:webhook_detail", pk=hook.pk)


@login_required
@require_POST
def webhook_delete(request: XhRequest, pk: int) -> HttpResponse:
    _org, hook = _webhook(request, pk)
    services.webhook_delete(actor=request.actor, webhook=hook)
    messages.success(request, _("Webhook deleted."))
    return redirect("notify:webhook_list")


@login_required
@require_POST
def webhook_new_secret(request: XhRequest, pk: int) -> HttpResponse:
    _org, hook = _webhook(request, pk)
    secret = services.webhook_rotate_secret(actor=request.actor, webhook=hook)
    _remember_secret(request, hook, secret)
    messages.success(request, _("The webhook has a new secret."))
    return redirect("notify:webhook_detail", pk=hook.pk)


@login_required
@require_POST
def webhook_test(request: XhRequest, pk: int) -> HttpResponse:
    """Send a test event through the real delivery path; with the worker it is attempted
    within seconds, so the log may still say "pending"."""
    _org, hook = _webhook(request, pk)
    try:
        delivery = services.webhook_send_test(actor=request.actor, webhook=hook)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
    else:
        delivery.refresh_from_db()
        messages.success(
            request,
            _("Test event sent to the delivery queue; its status now: %(status)s.")
            % {"status": delivery.get_status_display()},
        )
    return redirect("notify:webhook_detail", pk=hook.pk)
