"""The assessment dashboards under /assessment/ (docs/dashboards.md): the overview, by
domain and list item, by township, by department, step times, rankings (红黑榜), a
subject's page, the townships' periodic evaluation forms and the county's rules.

Views are thin: the figures come from `dashboards` (built on `metrics` and `scores`),
the writes from `services`. Every table of a page is in its Excel workbook
(`?format=xlsx`). What a page shows follows the role the user works as
(`dashboards.dashboard_scope`); anybody else gets the friendly 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from xianghu.core.errors import InvalidInput, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.xlsx import Sheet
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from . import access, services
from . import dashboard_exports as exports
from . import dashboards as boards
from .models import AssessmentPolicy, Grade, PeriodicEvaluation
from .periods import Period
from .policy import DEFAULTS, policy_for
from .services import POLICY_FIELDS

# ---- the frame of every page ------------------------------------------------------------

TABS: tuple[tuple[str, Any, str, tuple[str, ...]], ...] = (
    # key, label, URL name, the scopes that have it
    (
        "overview",
        gettext_lazy("Overview"),
        "assessment:dashboard",
        ("county", "department", "township"),
    ),
    (
        "domains",
        gettext_lazy("By domain"),
        "assessment:domains",
        ("county", "department", "township"),
    ),
    (
        "departments",
        gettext_lazy("Departments"),
        "assessment:departments",
        ("county", "department"),
    ),
    ("townships", gettext_lazy("Townships"), "assessment:townships", ("county", "township")),
    ("steps", gettext_lazy("Step times"), "assessment:steps", ("county", "department", "township")),
    (
        "rankings",
        gettext_lazy("Rankings"),
        "assessment:rankings",
        ("county", "department", "township"),
    ),
    ("evaluations", gettext_lazy("Evaluation forms"), "assessment:evaluations", ("township",)),
    ("policy", gettext_lazy("Rules"), "assessment:policy", ("county", "department", "township")),
)


@dataclass
class Frame:
    """What every dashboard page needs: the scope, the period (None after bad input)
    with its picker, the tabs and the query string that keeps the period and county."""

    ds: boards.DashboardScope
    period: Period | None
    picker: boards.Picker
    tab: str
    tabs: list[dict[str, Any]]
    county_query: str  # "county=…" for a superuser without membership, else ""
    query: str  # the period (and county) as a query string

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "ds": self.ds,
            "period": self.period,
            "picker": self.picker,
            "tab": self.tab,
            "tabs": self.tabs,
            "query": self.query,
            "county_query": self.county_query,
            **extra,
        }


def _county_param(request: XhRequest) -> int | None:
    value = request.GET.get("county", "")
    return int(value) if value.isdigit() else None


def _scope(request: XhRequest) -> boards.DashboardScope:
    return boards.dashboard_scope(
        actor=request.actor,
        membership=current_membership(request),
        county_id=_county_param(request),
    )


def _choose_county(request: XhRequest) -> HttpResponse:
    counties = Region.objects.filter(level="county").order_by("code")
    return render(
        request, "assessment/choose_county.html", {"counties": counties, "path": request.path}
    )


def _frame(
    request: XhRequest,
    tab: str,
    *,
    default: Period | None = None,
    allow_range: bool = True,
) -> Frame | HttpResponse:
    try:
        ds = _scope(request)
    except InvalidInput as error:
        if error.code == "assessment.county_required":
            return _choose_county(request)
        raise
    membership = current_membership(request)
    # A superuser looking at a county keeps it in every link.
    county_query = urlencode({"county": ds.county.pk}) if ds.organisation is None else ""
    tabs = []
    for key, label, url_name, scopes in TABS:
        if ds.kind not in scopes:
            continue
        if key == "evaluations" and not boards.may_fill_forms(membership):
            continue
        tabs.append({"key": key, "label": label, "url": reverse(url_name)})
    if tab not in {t["key"] for t in tabs} and tab != "subject":
        raise access.forbidden()
    today = boards.today_in_china()
    period, picker = boards.period_from_query(
        request.GET,
        default=default or Period.month(today.year, today.month),
        today=today,
        allow_range=allow_range,
    )
    params = {"period": period.key} if period is not None else {}
    if county_query:
        params["county"] = str(ds.county.pk)
    return Frame(
        ds=ds,
        period=period,
        picker=picker,
        tab=tab,
        tabs=tabs,
        county_query=county_query,
        query=urlencode(params),
    )


def _wants_xlsx(request: XhRequest) -> bool:
    return request.GET.get("format") == "xlsx"


def _xlsx(sheets: list[Sheet], name: str) -> HttpResponse:
    response = HttpResponse(exports.workbook(sheets), content_type=exports.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _page(
    request: XhRequest,
    tab: str,
    template: str,
    build: Callable[[boards.DashboardScope, Period], Any],
    sheets: Callable[[boards.DashboardScope, Period, Any], list[Sheet]],
) -> HttpResponse:
    """A dashboard page: the frame, then (for a good period) the data, as HTML or as
    its Excel workbook. A bad period shows the picker's error (400) and no figures."""
    frame = _frame(request, tab)
    if isinstance(frame, HttpResponse):
        return frame
    if frame.period is None:
        if _wants_xlsx(request):
            raise InvalidInput(frame.picker.error, code=frame.picker.code)
        return render(request, template, frame.context(), status=400)
    data = build(frame.ds, frame.period)
    if _wants_xlsx(request):
        return _xlsx(sheets(frame.ds, frame.period, data), f"{tab}-{frame.period.key}")
    return render(request, template, frame.context(data=data))


# ---- the dashboards -----------------------------------------------------------------------


@login_required
def overview(request: XhRequest) -> HttpResponse:
    """The overview of the scope: volume, open and overdue calls, the three rates and
    the trend of the last twelve months."""
    return _page(
        request,
        "overview",
        "assessment/overview.html",
        lambda ds, period: boards.overview_data(ds, period),
        exports.overview_sheets,
    )


@login_required
def domains(request: XhRequest) -> HttpResponse:
    """The lead episodes by domain and by list item."""
    return _page(
        request,
        "domains",
        "assessment/domains.html",
        lambda ds, period: boards.groups_data(ds, period),
        exports.groups_sheets,
    )


@login_required
def departments(request: XhRequest) -> HttpResponse:
    """County departments and stationed agencies: figures, scores and ranks."""
    return _page(
        request,
        "departments",
        "assessment/departments.html",
        lambda ds, period: boards.departments_data(ds, period),
        exports.departments_sheets,
    )


@login_required
def townships(request: XhRequest) -> HttpResponse:
    """Townships: the grid in official order, their calls, scores and ranks."""
    return _page(
        request,
        "townships",
        "assessment/townships.html",
        lambda ds, period: boards.townships_data(ds, period),
        exports.townships_sheets,
    )


@login_required
def steps(request: XhRequest) -> HttpResponse:
    """How long signing, responding and completing took."""
    return _page(
        request,
        "steps",
        "assessment/steps.html",
        lambda ds, period: boards.steps_data(ds, period),
        exports.steps_sheets,
    )


@login_required
def rankings(request: XhRequest) -> HttpResponse:
    """The rankings (红黑榜) of the period, with the previous period's ranks."""
    return _page(
        request,
        "rankings",
        "assessment/rankings.html",
        lambda ds, period: boards.rankings_data(ds, period),
        exports.rankings_sheets,
    )


@login_required
def subject(request: XhRequest, org_id: int) -> HttpResponse:
    """One subject: its trend, its score and components, where it lost points."""
    frame = _frame(request, "subject")
    if isinstance(frame, HttpResponse):
        return frame
    org = boards.subject_get(frame.ds, org_id)
    template = "assessment/subject.html"
    if frame.period is None:
        if _wants_xlsx(request):
            raise InvalidInput(frame.picker.error, code=frame.picker.code)
        return render(request, template, frame.context(org=org), status=400)
    data = boards.subject_data(frame.ds, org, frame.period)
    if _wants_xlsx(request):
        return _xlsx(
            exports.subject_sheets(frame.ds, frame.period, data),
            f"subject-{org.pk}-{frame.period.key}",
        )
    back = "townships" if org.kind == OrgKind.TOWNSHIP else "departments"
    return render(
        request,
        template,
        frame.context(
            org=org,
            data=data,
            back_tab=back if any(t["key"] == back for t in frame.tabs) else "rankings",
        ),
    )


# ---- the townships' periodic evaluation forms ---------------------------------------------


def _previous_month() -> Period:
    today = boards.today_in_china()
    return Period.month(today.year, today.month).previous()


def _form_errors(error: InvalidInput) -> dict[str, str]:
    return {p["field"]: str(p["message"]) for p in (error.detail or []) if "field" in p}


@login_required
@require_http_methods(["GET", "POST"])
def evaluations(request: XhRequest) -> HttpResponse:
    """A township leader's periodic evaluations of the county departments and stationed
    agencies (a score or a grade, and a comment), one form per subject and period."""
    membership = current_membership(request)
    if not boards.may_fill_forms(membership):
        raise access.forbidden()
    assert membership is not None
    frame = _frame(request, "evaluations", default=_previous_month(), allow_range=False)
    if isinstance(frame, HttpResponse):
        return frame
    township = membership.organisation
    subjects = list(
        Organisation.objects.filter(
            county_id=township.county_id,
            kind__in=(OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY),
            is_active=True,
        )
        .select_related("parent", "township")
        .order_by("kind", "name", "pk")
    )
    status = 200
    errors: dict[str, str] = {}
    failed: int | None = None
    posted: dict[str, str] = {}
    period = frame.period
    if request.method == "POST":
        if period is None:
            raise InvalidInput(frame.picker.error, code=frame.picker.code)
        wanted = request.POST.get("subject", "")
        target = next((s for s in subjects if str(s.pk) == wanted), None)
        if target is None:
            raise InvalidInput(
                _(
                    "Townships evaluate the county departments and stationed agencies of their county."
                ),
                code="assessment.not_a_subject",
            )
        posted = {
            "score": request.POST.get("score", "").strip()[:20],
            "grade": request.POST.get("grade", "").strip()[:20],
            "comment": request.POST.get("comment", "")[:2000],
        }
        try:
            _form, created = services.periodic_evaluation_submit(
                actor=frame.ds.actor,
                township=township,
                subject=target,
                period=period,
                score=posted["score"] or None,
                grade=posted["grade"],
                comment=posted["comment"],
            )
        except InvalidInput as error:
            errors = _form_errors(error) or {"score": str(error.message)}
            failed = target.pk
            status = error.status
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                (
                    _("Your evaluation of %(name)s for %(period)s was saved.")
                    if created
                    else _("Your evaluation of %(name)s for %(period)s was replaced.")
                )
                % {"name": target.name, "period": period.key},
            )
            return redirect(
                f"{reverse('assessment:evaluations')}?{frame.query}#subject-{target.pk}"
            )
    elif period is None:
        status = 400
    forms: dict[int, PeriodicEvaluation] = {}
    if period is not None:
        forms = {
            f.subject_id: f
            for f in PeriodicEvaluation.objects.filter(
                township=township, period_key=period.key
            ).select_related("subject")
        }
    if period is not None and _wants_xlsx(request):
        ordered = [forms[s.pk] for s in subjects if s.pk in forms]
        return _xlsx(
            exports.evaluations_sheets(township.name, period, ordered),
            f"evaluations-{period.key}",
        )
    rows = []
    for s in subjects:
        form = forms.get(s.pk)
        mine = failed == s.pk
        rows.append(
            {
                "subject": s,
                "form": form,
                "errors": errors if mine else {},
                "score": posted.get("score", "")
                if mine
                else ("" if form is None or form.grade else format(form.score.normalize(), "f")),
                "grade": posted.get("grade", "") if mine else (form.grade if form else ""),
                "comment": posted.get("comment", "") if mine else (form.comment if form else ""),
            }
        )
    return render(
        request,
        "assessment/evaluations.html",
        frame.context(
            township=township,
            rows=rows,
            grades=Grade.choices,
            filled=len(forms),
        ),
        status=status,
    )


# ---- the county's rules -----------------------------------------------------------------

#: The fields of the rules page, by group: (group key, legend, fields, help).
POLICY_GROUPS: tuple[tuple[str, Any, tuple[str, ...], Any], ...] = (
    (
        "weights",
        gettext_lazy("Weights of departments and stationed agencies (must add up to 100)"),
        ("weight_response", "weight_completion", "weight_satisfaction"),
        gettext_lazy("Percentages of the composite score."),
    ),
    (
        "township_weights",
        gettext_lazy("Weights of townships (must add up to 100)"),
        ("weight_valid_calls", "weight_cooperation", "weight_township_satisfaction"),
        gettext_lazy("Percentages of a township's score."),
    ),
    (
        "satisfaction",
        gettext_lazy("Satisfaction"),
        ("w_basic", "count_default_evaluations"),
        gettext_lazy(
            "What “basically satisfied” is worth (0–1), and whether calls closed without an evaluation count as satisfied."
        ),
    ),
    (
        "penalties",
        gettext_lazy("Penalties (points off the composite)"),
        ("penalty_red_card", "penalty_refused_return", "penalty_redo"),
        gettext_lazy("Points for each red card, refused return and redo in the period."),
    ),
    (
        "shares",
        gettext_lazy("Two-way assessment (shares as fractions: 1/3, 0.6 or 60%)"),
        ("township_share_department", "township_share_agency", "form_share"),
        gettext_lazy(
            "The share of the townships' evaluation in a department's score, of the host township's in a stationed agency's (at least 3/5), and of the periodic forms within the townships' evaluation."
        ),
    ),
    (
        "rankings",
        gettext_lazy("Rankings"),
        ("min_volume",),
        gettext_lazy("Subjects with fewer calls in the period are listed but not ranked."),
    ),
)


def _field_label(name: str) -> str:
    field = AssessmentPolicy._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


@login_required
@require_http_methods(["GET", "POST"])
def policy(request: XhRequest) -> HttpResponse:
    """The county's assessment rules: read by everyone who opens the dashboards, changed
    by the county's assessors and system administrators (`services`)."""
    frame = _frame(request, "policy")
    if isinstance(frame, HttpResponse):
        return frame
    ds = frame.ds
    may_edit = access.can_change_policy(ds.actor, ds.county.pk)
    current = policy_for(ds.county.pk)
    errors: dict[str, str] = {}
    status = 200
    posted: dict[str, Any] | None = None
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(
                _(
                    "Only the county's assessors and administrators can change the assessment rules."
                ),
                code="assessment.forbidden",
            )
        target = f"{reverse('assessment:policy')}?{frame.county_query}".rstrip("?")
        if request.POST.get("reset"):
            services.assessment_policy_reset(actor=ds.actor, county=ds.county)
            messages.success(request, _("The county's rules are back to the defaults."))
            return redirect(target)
        posted = {
            name: request.POST.get(name, "").strip()[:32]
            for name in POLICY_FIELDS
            if name != "count_default_evaluations"
        }
        posted["count_default_evaluations"] = request.POST.get("count_default_evaluations") == "on"
        try:
            services.assessment_policy_set(actor=ds.actor, county=ds.county, values=posted)
        except InvalidInput as error:
            errors = _form_errors(error)
            status = error.status
            messages.error(request, str(error.message))
        else:
            messages.success(
                request, _("The assessment rules were saved; every figure now follows them.")
            )
            return redirect(target)
    if _wants_xlsx(request):
        rows = [
            (
                _field_label(name),
                exports.policy_value(current, name),
                exports.policy_value(DEFAULTS, name),
            )
            for _key, _legend, names, _help in POLICY_GROUPS
            for name in names
        ]
        return _xlsx(exports.policy_sheets(ds, rows), "assessment-rules")
    groups = []
    for key, legend, names, help_text in POLICY_GROUPS:
        fields = []
        for name in names:
            if posted is not None:
                value: Any = posted[name]
            else:
                value = getattr(current, name)
                if not isinstance(value, bool | int):
                    value = exports.policy_value(current, name)
            fields.append(
                {
                    "name": name,
                    "label": _field_label(name),
                    "value": value,
                    "default": exports.policy_value(DEFAULTS, name),
                    "error": errors.get(name, ""),
                    "checkbox": name == "count_default_evaluations",
                }
            )
        groups.append(
            {
                "key": key,
                "legend": legend,
                "help": help_text,
                "fields": fields,
                "error": errors.get(key, ""),
            }
        )
    row = AssessmentPolicy.objects.filter(county=ds.county).select_related("updated_by").first()
    return render(
        request,
        "assessment/policy.html",
        frame.context(
            period=None,  # the rules are not of a period
            groups=groups,
            may_edit=may_edit,
            stored=row,
            has_errors=bool(errors),
            now=timezone.now(),
        ),
        status=status,
    )
