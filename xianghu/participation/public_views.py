"""Pages of public participation: registration and the privacy notice, the report form,
tracking and rating, the public list with "me too", the moderation queue, the
verification of organisations and the unmasking audit. Public pages need no login."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import make_password
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xianghu.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied, error_json
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_email, mask_personal_text, mask_phone
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from . import public_accounts, public_reports, selectors
from .models import Moderation, PublicReport, ReportStatus
from .models_public import (
    ORGANISATION_KINDS,
    ApplicationStatus,
    OrganisationApplication,
    ReportPhoto,
    ReportUpdate,
)
from .public_forms import CodeForm, RatingForm, RegisterForm, ReportForm
from .public_limits import RateLimited, rate_hit, request_keys

DEVICE_COOKIE = "xh_device"
DEVICE_SALT = "xianghu.participation.device"
REGISTRATION_KEY = "xh_public_registration"
REGISTRATION_TTL = 30 * 60
CODE_PURPOSE = "register"


# ---- rate limits -----------------------------------------------------------------------------


def too_many(request: XhRequest, error: RateLimited) -> HttpResponse:
    """The 429 answer: a page, or the API error shape for JSON clients."""
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = error_json(error, 429)
    else:
        response = render(
            request,
            "participation/public/too_many.html",
            {"message": error.message, "retry_after": error.retry_after},
            status=429,
        )
    response["Retry-After"] = str(error.retry_after)
    return response


def limited(scope: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Count each POST against the scope's limits (per address and per account)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: XhRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                try:
                    rate_hit(scope=scope, keys=request_keys(request))
                except RateLimited as error:
                    return too_many(request, error)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


# ---- the privacy notice and registration ----------------------------------------------------


def privacy(request: XhRequest) -> HttpResponse:
    return render(
        request,
        "participation/public/privacy.html",
        {"version": public_accounts.PRIVACY_VERSION},
    )


def _townships() -> list[Region]:
    counties = list(public_reports.served_counties())
    return [
        r
        for r in public_reports.report_places(counties=counties)
        if r.level == RegionLevel.TOWNSHIP
    ]


@limited("register")
def register(request: XhRequest) -> HttpResponse:
    """Step 1: who, the contact to verify, a password, consent; a code is sent."""
    if request.user.is_authenticated:
        return redirect("participation:mine")
    townships = _townships()
    form = RegisterForm(request.POST or None, townships=townships)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                channel, address = public_accounts.contact_parse(data["contact"])
                org = None
                if data["kind"] in ORGANISATION_KINDS:
                    org = public_accounts.organisation_draft_check(
                        kind=data["kind"],
                        name=data["org_name"],
                        credit_code=data["credit_code"],
                        township=form.township,
                        address=data["org_address"],
                        description=data["org_description"],
                    )
                if public_accounts.User.objects.filter(username__iexact=address).exists():
                    raise InvalidInput(
                        _("This contact is already registered. Log in instead."),
                        code="public.registered",
                        detail=[
                            {
                                "field": "contact",
                                "message": _("This contact is already registered. Log in instead."),
                            }
                        ],
                    )
                rate_hit(scope="code", keys=[*request_keys(request), f"to:{address}"])
                public_accounts.code_send(address=address, channel=channel, purpose=CODE_PURPOSE)
            except RateLimited as error:
                return too_many(request, error)
            except DomainError as error:
                form.add_domain_error(error)
                status = 400
            else:
                request.session[REGISTRATION_KEY] = {
                    "kind": data["kind"],
                    "channel": channel,
                    "address": address,
                    "name": data["name"],
                    "password_hash": make_password(data["password"]),
                    "consent_version": public_accounts.PRIVACY_VERSION,
                    "org": None
                    if org is None
                    else {
                        "name": org.name,
                        "credit_code": org.credit_code,
                        "township_id": org.township.pk,
                        "address": org.address,
                        "description": org.description,
                    },
                    "at": int(time.time()),
                }
                return redirect("participation:register_verify")
        else:
            status = 400
    return render(
        request,
        "participation/public/register.html",
        {"form": form, "org_kinds": [str(k) for k in ORGANISATION_KINDS]},
        status=status,
    )


def _pending_registration(request: XhRequest) -> dict[str, Any] | None:
    pending = request.session.get(REGISTRATION_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > REGISTRATION_TTL:
        return None
    return pending


@limited("register")
def register_verify(request: XhRequest) -> HttpResponse:
    """Step 2: the code; the account is made only now, and the user is logged in."""
    pending = _pending_registration(request)
    if pending is None:
        messages.error(request, _("The registration has expired. Please start again."))
        return redirect("participation:register")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and "resend" in request.POST:
        try:
            rate_hit(scope="code", keys=[*request_keys(request), f"to:{pending['address']}"])
            public_accounts.code_send(
                address=pending["address"], channel=pending["channel"], purpose=CODE_PURPOSE
            )
        except RateLimited as error:
            return too_many(request, error)
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("A new code has been sent."))
        return redirect("participation:register_verify")
    if request.method == "POST":
        if form.is_valid():
            try:
                public_accounts.code_verify(
                    address=pending["address"], purpose=CODE_PURPOSE, code=form.cleaned_data["code"]
                )
                org = None
                if pending.get("org"):
                    o = pending["org"]
                    org = public_accounts.OrganisationDraft(
                        name=o["name"],
                        credit_code=o["credit_code"],
                        township=Region.objects.get(pk=o["township_id"]),
                        address=o["address"],
                        description=o["description"],
                    )
                user = public_accounts.public_account_create(
                    kind=pending["kind"],
                    channel=pending["channel"],
                    address=pending["address"],
                    name=pending["name"],
                    password_hash=pending["password_hash"],
                    consent_version=pending["consent_version"],
                    organisation=org,
                )
            except DomainError as error:
                if error.code == "public.registered":
                    request.session.pop(REGISTRATION_KEY, None)
                    messages.error(request, str(error.message))
                    return redirect("accounts:login")
                form.add_error("code", str(error.message))
                status = 400
            else:
                request.session.pop(REGISTRATION_KEY, None)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                if pending["kind"] in ORGANISATION_KINDS:
                    messages.success(
                        request,
                        _(
                            "Your account is ready. The township or county will verify your "
                            "organisation; you will be told in your notifications."
                        ),
                    )
                else:
                    messages.success(request, _("Your account is ready."))
                return redirect("participation:mine")
        else:
            status = 400
    return render(
        request,
        "participation/public/register_verify.html",
        {
            "form": form,
            "where": mask_phone(pending["address"])
            if pending["channel"] == "sms"
            else mask_email(pending["address"]),
        },
        status=status,
    )


# ---- the report form ------------------------------------------------------------------------


def _county_for(request: XhRequest) -> tuple[Region | None, list[Region]]:
    counties = list(public_reports.served_counties())
    wanted = request.POST.get("county") or request.GET.get("county")
    county = next((c for c in counties if c.code == wanted), counties[0] if counties else None)
    return county, counties


@limited("report")
def report_new(request: XhRequest) -> HttpResponse:
    """The public report form: no login needed; an account's reports are its own."""
    county, counties = _county_for(request)
    if county is None:
        raise NotFound()
    places = public_reports.report_places(counties=[county])
    items = list(public_reports.report_items(county=county))
    anonymous = not request.user.is_authenticated
    form = ReportForm(
        request.POST or None,
        request.FILES or None,
        places=places,
        items=items,
        anonymous=anonymous,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            reporter = request.user if request.user.is_authenticated else None
            try:
                report, _created = public_reports.report_submit(
                    reporter=reporter,
                    data=public_reports.ReportInput(
                        county=county,
                        description=data["description"],
                        location=form.location_region,
                        item=form.item_obj,
                        address=data["address"],
                        latitude=data["latitude"],
                        longitude=data["longitude"],
                        urgency=data["urgency"],
                        contact=data.get("contact", ""),
                        consent=bool(data.get("consent")),
                        idempotency_key=data["idempotency_key"],
                    ),
                    photos=data.get("photos") or [],
                )
            except DomainError as error:
                form.add_domain_error(error)
                status = error.status
            else:
                messages.success(
                    request,
                    _("Thank you. Keep this page's address: it is how you follow your report."),
                )
                return redirect("participation:track", token=report.token)
        else:
            status = 400
    return render(
        request,
        "participation/public/report_new.html",
        {
            "form": form,
            "county": county,
            "counties": counties,
            "max_photos": public_reports.MAX_PHOTOS,
        },
        status=status,
    )


# ---- tracking and rating --------------------------------------------------------------------

STATUS_TEXT: dict[str, Any] = {
    ReportStatus.NEW: gettext_lazy("Received, waiting for the township"),
    ReportStatus.REJECTED: gettext_lazy("Declined"),
    ReportStatus.MERGED: gettext_lazy("Handled together with another report"),
}


def _track_context(request: XhRequest, report: PublicReport) -> dict[str, Any]:
    carrier = public_reports.effective_report(report)
    call = carrier.call
    phase = public_reports.public_phase(call.state) if call is not None else None
    if phase and report.status in (ReportStatus.ACCEPTED, ReportStatus.MERGED):
        status_text = public_reports.PHASES[phase]
    else:
        status_text = STATUS_TEXT.get(report.status, "")
    photos = list(report.photos.all())
    shown = [p for p in photos if p.moderation == Moderation.APPROVED]
    text = (
        report.public_text
        if report.moderation in public_reports.PUBLIC_MODERATION
        else mask_personal_text(report.description)
    )
    user = request.user if request.user.is_authenticated else None
    return {
        "report": report,
        "text": mask_personal_text(text),
        "status_text": status_text,
        "phase": phase,
        "closed": phase == "closed",
        "outcome": public_reports.call_outcome(call) if phase == "closed" and call else "",
        "reason": mask_personal_text(report.reason),
        "merged": report.status == ReportStatus.MERGED,
        "photos": shown,
        "photos_waiting": sum(1 for p in photos if p.moderation == Moderation.PENDING),
        "updates": list(report.updates.all()),
        "may_rate": public_reports.may_rate(report, user),
        "rating_form": RatingForm(),
        "stars": range(1, 6),
    }


def track_lookup(request: XhRequest) -> HttpResponse:
    """Type a tracking number to follow a report."""
    number = (request.GET.get("number") or "").strip().lower().replace(" ", "")
    error = ""
    if number:
        try:
            rate_hit(scope="track", keys=request_keys(request))
        except RateLimited as limit:
            return too_many(request, limit)
        if selectors.track_report(token=number) is not None:
            return redirect("participation:track", token=number)
        error = _("No report has this tracking number. Check it and try again.")
    return render(
        request,
        "participation/public/track_lookup.html",
        {"number": number, "error": error},
        status=404 if error else 200,
    )


def track(request: XhRequest, token: str) -> HttpResponse:
    """What the reporter (whoever holds the link) sees: status, public timeline, the
    decline reason, the case's phase and outcome, and the rating once it closes."""
    report = selectors.track_report(token=token)
    if report is None:
        raise NotFound()
    return render(request, "participation/public/track.html", _track_context(request, report))


@require_POST
@limited("rate")
def track_rate(request: XhRequest, token: str) -> HttpResponse:
    report = selectors.track_report(token=token)
    if report is None:
        raise NotFound()
    form = RatingForm(request.POST)
    user = request.user if request.user.is_authenticated else None
    if form.is_valid():
        try:
            public_reports.report_rate(
                report=report,
                user=user,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except PermissionDenied:
            raise
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("participation:track", token=token)
    context = _track_context(request, report)
    context["rating_form"] = form
    return render(request, "participation/public/track.html", context, status=400)


# ---- the public list and "me too" -----------------------------------------------------------


def public_list(request: XhRequest) -> HttpResponse:
    """Reports the moderators cleared, with "me too"; no personal data."""
    qs = selectors.public_reports().prefetch_related(
        Prefetch(
            "photos",
            queryset=ReportPhoto.objects.filter(moderation=Moderation.APPROVED),
            to_attr="shown_photos",
        )
    )
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    rows = []
    for report in page:
        call = report.call
        phase = public_reports.public_phase(call.state) if call is not None else None
        rows.append(
            {
                "report": report,
                "text": mask_personal_text(report.public_text),
                "status_text": public_reports.PHASES[phase]
                if phase
                else STATUS_TEXT[ReportStatus.NEW],
                "photos": report.shown_photos,
            }
        )
    return render(request, "participation/public/list.html", {"rows": rows, "page": page})


@require_POST
@limited("support")
def report_support(request: XhRequest, pk: int) -> HttpResponse:
    report = PublicReport.objects.filter(pk=pk).first()
    if report is None:
        raise NotFound()
    user = request.user if request.user.is_authenticated else None
    device = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=DEVICE_SALT) or ""
    new_device = ""
    if user is None and not device:
        device = new_device = secrets.token_hex(16)
    try:
        counted = public_reports.report_support(report=report, user=user, device=device)
    except InvalidInput as error:
        messages.error(request, str(error.message))
        counted = False
    else:
        if counted:
            messages.success(request, _("Counted: you have this problem too."))
        else:
            messages.info(request, _("You have already said “me too” for this report."))
    response = redirect(f"{reverse('participation:public_list')}#report-{report.pk}")
    if new_device:
        response.set_signed_cookie(
            DEVICE_COOKIE,
            new_device,
            salt=DEVICE_SALT,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
        )
    return response


@login_required
def mine(request: XhRequest) -> HttpResponse:
    """An account's own reports and, for organisations, their verification."""
    reports = list(selectors.reports_of(user_id=request.user.pk or 0)[:50])
    applications = list(
        OrganisationApplication.objects.filter(applicant_id=request.user.pk).order_by("-created_at")
    )
    return render(
        request,
        "participation/public/mine.html",
        {"reports": reports, "applications": applications},
    )


def photo(request: XhRequest, pk: int) -> FileResponse:
    found = selectors.photo_for(actor=request.actor, pk=pk)
    if found is None:
        raise NotFound()
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=600"
    return response


# ---- moderation -----------------------------------------------------------------------------


@login_required
def moderation(request: XhRequest) -> HttpResponse:
    """The queue of public text and photos waiting for a decision (township staff for their
    township, platform operators for the county)."""
    if not public_reports.may_moderate(request.actor):
        raise PermissionDenied()
    state = request.GET.get("state") or Moderation.PENDING
    if state not in Moderation.values:
        state = Moderation.PENDING
    reports = Paginator(selectors.moderation_reports(actor=request.actor, state=state), 20)
    page = reports.get_page(request.GET.get("page"))
    photos = list(selectors.moderation_photos(actor=request.actor, state=state)[:40])
    rows = [
        {
            "report": r,
            "masked": mask_personal_text(r.description),
            "public": mask_personal_text(r.public_text),
        }
        for r in page
    ]
    return render(
        request,
        "participation/moderation.html",
        {
            "rows": rows,
            "page": page,
            "photos": photos,
            "state": state,
            "states": Moderation.choices,
        },
    )


@login_required
@require_POST
def moderation_report(request: XhRequest, pk: int) -> HttpResponse:
    report = PublicReport.objects.filter(pk=pk).first()
    if report is None:
        raise NotFound()
    try:
        public_reports.report_moderate(
            actor=request.actor,
            report=report,
            decision=request.POST.get("decision", ""),
            spans=public_reports.spans_parse(request.POST.get("spans", "")),
        )
    except InvalidInput as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Saved."))
    return redirect(f"{reverse('participation:moderation')}?state={request.POST.get('state', '')}")


@login_required
@require_POST
def moderation_photo(request: XhRequest, pk: int) -> HttpResponse:
    found = ReportPhoto.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound()
    try:
        public_reports.photo_moderate(
            actor=request.actor, photo=found, decision=request.POST.get("decision", "")
        )
    except InvalidInput as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Saved."))
    return redirect(f"{reverse('participation:moderation')}?state={request.POST.get('state', '')}")


@login_required
def unmask_audit(request: XhRequest) -> HttpResponse:
    """Who saw a reporter's full contact, when and why: for the county's system admins."""
    from .access import may_see_unmask_audit

    if not may_see_unmask_audit(request.actor):
        raise PermissionDenied()
    page = Paginator(selectors.unmask_audit(actor=request.actor), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "participation/moderation_audit.html", {"page": page})


# ---- verification of organisations ----------------------------------------------------------


@login_required
def applications(request: XhRequest) -> HttpResponse:
    status = request.GET.get("status") or ApplicationStatus.PENDING
    if status not in ApplicationStatus.values:
        status = ApplicationStatus.PENDING
    qs = selectors.applications(actor=request.actor, status=status)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    rows = [{"app": a, "phone": mask_phone(a.contact_phone)} for a in page]
    return render(
        request,
        "participation/public/applications.html",
        {"rows": rows, "page": page, "status": status, "statuses": ApplicationStatus.choices},
    )


def _application(request: XhRequest, pk: int) -> OrganisationApplication:
    found = (
        selectors.applications(actor=request.actor, status=ApplicationStatus.PENDING)
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound()
    return found


@login_required
@require_POST
def application_approve(request: XhRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    org = public_accounts.application_approve(actor=request.actor, application=app)
    messages.success(request, _("%(name)s is verified.") % {"name": org.name})
    return redirect("participation:applications")


@login_required
@require_POST
def application_reject(request: XhRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    try:
        public_accounts.application_reject(
            actor=request.actor, application=app, reason=request.POST.get("reason", "")
        )
    except InvalidInput as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The application was refused."))
    return redirect("participation:applications")


# Kinds of timeline entries, for the templates.
UPDATE_KINDS = ReportUpdate.Kind
