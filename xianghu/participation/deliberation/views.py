"""Pages of deliberation (议事协商) at /participation/consultations/ (login).

A township opens a consultation by hand or from a hotspot of the overview
(`consultation_new?township=…&item=…&region=…` prefills the form); the detail page holds
every step's form (participants, open, comment, decide, follow-up tasks, close), shown
only to whom the step is open. A refused step shows the page again with what was typed
and the reason (status 400): nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item
from xianghu.core.errors import DomainError, InvalidInput, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_name, mask_personal_text
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel

from ..models_open import ConsultationSource, ConsultationState
from . import selectors, services


def _problems(error: DomainError) -> dict[str, str]:
    detail = error.detail if isinstance(error.detail, list) else []
    return {p.get("field", ""): str(p.get("message", "")) for p in detail if isinstance(p, dict)}


@login_required
def consultation_list(request: XhRequest) -> HttpResponse:
    state = request.GET.get("state") or ""
    if state not in ConsultationState.values:
        state = ""
    qs = selectors.consultation_list(actor=request.actor, state=state or None)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    townships = [
        g
        for g in request.actor.grants_for(*services.MANAGE_ROLES)
        if g.organisation_kind == OrgKind.TOWNSHIP
    ]
    return render(
        request,
        "participation/deliberation/list.html",
        {
            "page": page,
            "state": state,
            "states": ConsultationState.choices,
            "may_open": bool(townships),
        },
    )


# ---- a new consultation -----------------------------------------------------------------


def _own_townships(request: XhRequest) -> list[Region]:
    ids = [
        g.township_id
        for g in request.actor.grants_for(*services.MANAGE_ROLES)
        if g.organisation_kind == OrgKind.TOWNSHIP and g.township_id is not None
    ]
    return list(Region.objects.filter(pk__in=ids).select_related("parent").order_by("code"))


def _parse_meeting(value: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            _("The meeting time is not a date and time."),
            code="consultation.invalid",
            detail=[{"field": "meeting_at", "message": _("Not a date and time.")}],
        ) from None
    return moment.replace(tzinfo=CHINA_TZ) if timezone.is_naive(moment) else moment


@login_required
@require_http_methods(["GET", "POST"])
def consultation_new(request: XhRequest) -> HttpResponse:
    """The form of a new consultation; GET `township`, `item`, `region` (codes) prefill it
    from a hotspot."""
    townships = _own_townships(request)
    if not townships:
        raise PermissionDenied(
            _("Only the township's staff prepare its consultations."),
            code="consultation.not_yours",
        )
    data = request.POST if request.method == "POST" else request.GET
    township = next((t for t in townships if t.code == data.get("township")), townships[0])
    county = township.parent
    version = catalog_selectors.county_version_in_force(county=county) if county else None
    items = (
        list(Item.objects.filter(version=version).order_by("code").only("id", "code", "name"))
        if version
        else []
    )
    places = list(
        Region.objects.filter(path__startswith=township.path)
        .filter(level__in=(RegionLevel.TOWNSHIP, RegionLevel.VILLAGE))
        .order_by("level", "code")
    )
    item = next((i for i in items if i.code == data.get("item")), None)
    place = next((p for p in places if p.code == data.get("region")), None)
    from_hotspot = data.get("source") == ConsultationSource.HOTSPOT or (
        request.method == "GET" and bool(data.get("item"))
    )
    errors: dict[str, str] = {}
    error = ""
    if request.method == "POST":
        try:
            consultation = services.consultation_create(
                actor=request.actor,
                township=township,
                topic=data.get("topic", ""),
                agenda=data.get("agenda", ""),
                place=place,
                item=item,
                meeting_at=_parse_meeting(data.get("meeting_at", "")),
                source=ConsultationSource.HOTSPOT if from_hotspot else ConsultationSource.MANUAL,
            )
        except DomainError as problem:
            error, errors = str(problem.message), _problems(problem)
        else:
            messages.success(request, _("The consultation is drafted: add its participants."))
            return redirect("participation:consultation_detail", pk=consultation.pk)
        values = {k: data.get(k, "") for k in ("topic", "agenda", "meeting_at")}
    else:
        values = {
            "topic": _("Recurring problem: %(item)s at %(place)s")
            % {"item": item.name, "place": (place or township).name}
            if item
            else "",
            "agenda": _(
                "1. The problem and how often it came back\n"
                "2. Causes, and what each party can do\n"
                "3. Decision and follow-up tasks"
            ),
            "meeting_at": "",
        }
    return render(
        request,
        "participation/deliberation/new.html",
        {
            "townships": townships,
            "township": township,
            "items": items,
            "item": item,
            "places": places,
            "place": place,
            "values": values,
            "from_hotspot": from_hotspot,
            "error": error,
            "errors": errors,
        },
        status=400 if error else 200,
    )


# ---- one consultation -------------------------------------------------------------------


def _as_written(text: str | None) -> str:
    return text or ""


def _detail(
    request: XhRequest,
    pk: int,
    *,
    failed: str = "",
    error: str = "",
    errors: dict[str, str] | None = None,
    status: int = 400,
) -> HttpResponse:
    actor = request.actor
    c = selectors.consultation_get(actor=actor, pk=pk)
    manage = services.may_manage(actor, c)
    decide = services.may_decide(actor, c)
    participants = [
        {
            "p": p,
            "label": p.organisation.name
            if p.organisation
            else (p.name if manage else mask_name(p.name)),
            "has_account": p.user_id is not None,
        }
        for p in c.participants.all()
    ]
    organisations: list[Organisation] = []
    if manage and c.state in (ConsultationState.DRAFT, ConsultationState.OPEN):
        taken = {p.organisation_id for p in c.participants.all()}
        organisations = [o for o in services.participant_organisations(c) if o.pk not in taken]
    # Staff of the township read the texts as written; participants (the public) masked.
    shown: Callable[[str | None], str] = _as_written if manage else mask_personal_text
    comments = [
        {
            "c": comment,
            "text": shown(comment.text),
            "who": comment.participant.organisation.name
            if comment.participant and comment.participant.organisation
            else (mask_name(comment.participant.name) if comment.participant else c.organiser.name),
        }
        for comment in c.comments.all()
    ]
    return render(
        request,
        "participation/deliberation/detail.html",
        {
            "c": c,
            "agenda": shown(c.agenda),
            "decision": shown(c.decision),
            "participants": participants,
            "organisations": organisations,
            "comments": comments,
            "tasks": list(c.tasks.all()),
            "may_manage": manage,
            "may_decide": decide,
            "may_comment": services.may_comment(actor, c),
            "failed": failed,
            "error": error,
            "errors": errors or {},
            "posted": request.POST if failed else {},
        },
        status=status if failed else 200,
    )


@login_required
def consultation_detail(request: XhRequest, pk: int) -> HttpResponse:
    return _detail(request, pk)


ACTIONS = (
    "add_participant",
    "remove_participant",
    "open",
    "comment",
    "decide",
    "add_task",
    "close",
)


@login_required
@require_POST
def consultation_act(request: XhRequest, pk: int) -> HttpResponse:
    """One step of the consultation (`action` in the form)."""
    actor = request.actor
    c = selectors.consultation_get(actor=actor, pk=pk)
    action = request.POST.get("action", "")
    post = request.POST
    try:
        if action == "add_participant":
            org_id = post.get("organisation") or ""
            organisation = (
                Organisation.objects.filter(pk=int(org_id)).first() if org_id.isdigit() else None
            )
            if org_id and organisation is None:
                raise InvalidInput(code="consultation.bad_participant")
            services.participant_add(
                actor=actor,
                consultation=c,
                organisation=organisation,
                name=post.get("name", ""),
                phone=post.get("phone", ""),
            )
            done = _("The participant is added.")
        elif action == "remove_participant":
            participant = c.participants.filter(pk=post.get("participant") or 0).first()
            if participant is None:
                raise InvalidInput(code="consultation.invalid")
            services.participant_remove(actor=actor, consultation=c, participant=participant)
            done = _("The participant is removed.")
        elif action == "open":
            services.consultation_open(actor=actor, consultation=c)
            done = _("The consultation is open for comments.")
        elif action == "comment":
            services.comment_add(actor=actor, consultation=c, text=post.get("text", ""))
            done = _("Your comment is recorded.")
        elif action == "decide":
            services.consultation_decide(
                actor=actor, consultation=c, decision=post.get("decision", "")
            )
            done = _("The decision is recorded and published.")
        elif action == "add_task":
            task = services.task_add(
                actor=actor,
                consultation=c,
                title=post.get("title", ""),
                call_number=post.get("call", ""),
                description=post.get("description", ""),
            )
            done = _("The follow-up task is call %(number)s.") % {"number": task.call.number}
        elif action == "close":
            services.consultation_close(actor=actor, consultation=c)
            done = _("The consultation is closed.")
        else:
            raise InvalidInput(_("Unknown step."), code="consultation.invalid")
    except DomainError as problem:
        return _detail(
            request,
            pk,
            failed=action,
            error=str(problem.message),
            errors=_problems(problem),
            status=problem.status,
        )
    messages.success(request, done)
    return redirect("participation:consultation_detail", pk=c.pk)
