"""Pages of notices (通报) and rectification replies, under /assessment/notices/.

The list (issued notices, drafts for the issuing side, the entries naming the user's
organisation); the form that generates a draft for a period; the notice page (the
document, the entries and their reply status, editing and issuing a draft); its
printable page, PDF and Excel; an entry's page with the reply form for the organisation
named and the decision for the issuer. Views are thin: reads and writes go through
`notices`, errors come back on the forms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xianghu.calls.forms import DomainErrorMixin
from xianghu.core import access
from xianghu.core.errors import DomainError, InvalidInput, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.views import error_response
from xianghu.regions.models import Region

from . import notices as services
from .models import EntryStatus, Notice, NoticeEntry, NoticeStatus, ReplyStatus
from .notices_access import may_manage, may_see_replies
from .notices_export import (
    XLSX_TYPE,
    entry_view,
    file_name,
    notice_document,
    notice_pdf,
    notice_xlsx,
)
from .periods import Period

PAGE_SIZE = 20


# ---- the list -------------------------------------------------------------------------------

TABS = (
    ("issued", gettext_lazy("Issued")),
    ("drafts", gettext_lazy("Drafts")),
    ("mine", gettext_lazy("Naming my organisation")),
)


@login_required
def notice_list(request: XhRequest) -> HttpResponse:
    actor = request.actor
    counties = services.managed_counties(actor)
    mine = services.entries_of_organisations(actor=actor)
    tabs = [
        (key, label)
        for key, label in TABS
        if (key != "drafts" or counties) and (key != "mine" or mine.exists())
    ]
    tab = request.GET.get("tab") or "issued"
    if tab not in dict(tabs):
        tab = "issued"
    page = None
    entries = None
    if tab == "mine":
        entries = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        status = NoticeStatus.DRAFT if tab == "drafts" else NoticeStatus.ISSUED
        page = Paginator(services.notice_list(actor=actor, status=status), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    return render(
        request,
        "assessment/notices/list.html",
        {
            "tabs": tabs,
            "tab": tab,
            "page": page,
            "entries": entries,
            "to_answer": list(services.entries_to_answer(actor=actor)[:20]),
            "can_generate": bool(counties),
        },
    )


# ---- generating a draft -------------------------------------------------------------------------


class GenerateForm(DomainErrorMixin, forms.Form):
    """A period (a month, a quarter, a year, or a range of days) and the criteria. Rates
    are percentages here; the service takes fractions."""

    county = forms.ChoiceField(label=gettext_lazy("County"))
    period = forms.CharField(
        label=gettext_lazy("Period"),
        required=False,
        max_length=32,
        help_text=gettext_lazy("A month (2025-03), a quarter (2025-Q1) or a year (2025)."),
        widget=forms.TextInput(attrs={"list": "period-choices", "autocomplete": "off"}),
    )
    start = forms.DateField(
        label=gettext_lazy("Or from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    no_response_min = forms.IntegerField(
        label=gettext_lazy("No response: calls not signed for or not responded to, at least"),
        min_value=1,
        max_value=1000,
    )
    late_min = forms.IntegerField(
        label=gettext_lazy("Late response: calls handled late, at least"),
        min_value=1,
        max_value=1000,
    )
    response_rate_below = forms.DecimalField(
        label=gettext_lazy("… or a response rate below (%)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
    )
    satisfaction_below = forms.DecimalField(
        label=gettext_lazy("Poor response: a satisfaction rate below (%)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
    )
    unsatisfied_min = forms.IntegerField(
        label=gettext_lazy("… or unsatisfied evaluations, at least"),
        min_value=1,
        max_value=1000,
    )
    reply_days = forms.IntegerField(
        label=gettext_lazy("Working days to reply"), min_value=1, max_value=60
    )

    def __init__(self, *args: Any, counties: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: Any = [(str(c.pk), c.name) for c in counties]
        self.fields["county"].choices = choices  # type: ignore[attr-defined]
        self._counties = {str(c.pk): c for c in counties}

    def chosen_county(self) -> Region | None:
        return self._counties.get(self.cleaned_data.get("county") or "")

    def chosen_period(self) -> Period | None:
        """The period of the form, or None with the errors on the fields."""
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        text = (data.get("period") or "").strip()
        if start or end:
            if not start:
                self.add_error("start", _("Give the first day of the range."))
            if not end:
                self.add_error("end", _("Give the last day of the range."))
            if not (start and end):
                return None
            text = f"{start.isoformat()}..{end.isoformat()}"
        try:
            return Period.parse(text)
        except InvalidInput as exc:
            where = {
                "assessment.period_reversed": "end",
                "assessment.period_too_long": "end",
                "assessment.period_future": "start" if start else "period",
            }.get(exc.code, "start" if start else "period")
            self.add_error(where, str(exc.message))
            return None

    def criteria(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "no_response_min": data["no_response_min"],
            "late_min": data["late_min"],
            "response_rate_below": f"{data['response_rate_below']}%",
            "satisfaction_below": f"{data['satisfaction_below']}%",
            "unsatisfied_min": data["unsatisfied_min"],
            "reply_days": data["reply_days"],
        }


def _period_suggestions() -> list[tuple[str, str]]:
    """The recent months, quarters and years, for the period field's list."""
    today = timezone.localdate()
    month = Period.month(today.year, today.month)
    out = []
    for _i in range(6):
        month = month.previous()
        out.append((month.key, services.period_label(month)))
    quarter = Period.quarter(today.year, (today.month - 1) // 3 + 1).previous()
    out.append((quarter.key, services.period_label(quarter)))
    year = Period.year(today.year - 1)
    out.append((year.key, services.period_label(year)))
    return out


def _percent_value(rate: Decimal) -> Decimal:
    """0.8 → 80; 0.8125 → 81.25 (the form's percentages)."""
    value = rate * 100
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.quantize(Decimal("0.01"))


def _initial() -> dict[str, Any]:
    c = services.DEFAULT_CRITERIA
    today = timezone.localdate()
    last = Period.month(today.year, today.month).previous()
    return {
        "period": last.key,
        "no_response_min": c.no_response_min,
        "late_min": c.late_min,
        "response_rate_below": _percent_value(c.response_rate_below),
        "satisfaction_below": _percent_value(c.satisfaction_below),
        "unsatisfied_min": c.unsatisfied_min,
        "reply_days": c.reply_days,
    }


@login_required
def notice_new(request: XhRequest) -> HttpResponse:
    """Generate the draft notice of a period."""
    counties = services.managed_counties(request.actor)
    if not counties:
        raise PermissionDenied()
    form = GenerateForm(
        request.POST if request.method == "POST" else None,
        counties=counties,
        initial={**_initial(), "county": str(counties[0].pk)},
    )
    status = 200
    if request.method == "POST":
        status = 400
        valid = form.is_valid()
        # The period's errors are shown with the others.
        parsed = {"period", "start", "end"} <= set(form.cleaned_data)
        period = form.chosen_period() if parsed else None
        if valid:
            county = form.chosen_county()
            if period is not None and county is not None:
                try:
                    notice = services.notice_generate(
                        actor=request.actor, county=county, period=period, criteria=form.criteria()
                    )
                except DomainError as exc:
                    if exc.code == "notice.exists" and isinstance(exc.detail, dict):
                        messages.info(request, str(exc.message))
                        return redirect("assessment:notice_detail", pk=exc.detail["notice"])
                    if exc.status in (403, 404):
                        raise
                    if exc.code.startswith("assessment.period"):
                        form.add_error("period", str(exc.message))
                    else:
                        form.add_domain_error(exc)
                    status = exc.status
                else:
                    messages.success(
                        request,
                        _("The draft notice for %(period)s was generated.")
                        % {"period": notice.period_label},
                    )
                    return redirect("assessment:notice_detail", pk=notice.pk)
    return render(
        request,
        "assessment/notices/new.html",
        {"form": form, "suggestions": _period_suggestions(), "single_county": len(counties) == 1},
        status=status,
    )


# ---- the notice ---------------------------------------------------------------------------------


class EditForm(DomainErrorMixin, forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=services.MAX_TITLE)
    summary = forms.CharField(
        label=gettext_lazy("Summary"),
        max_length=services.MAX_SUMMARY,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


def _render_notice(
    request: XhRequest, notice: Notice, *, form: EditForm | None = None, status: int = 200
) -> HttpResponse:
    manage = may_manage(request.actor, notice.county_id)
    draft = notice.status == NoticeStatus.DRAFT
    if form is None and manage and draft:
        form = EditForm(initial={"title": notice.title, "summary": notice.summary})
    document = notice_document(notice)
    return render(
        request,
        "assessment/notices/notice.html",
        {
            "notice": notice,
            "doc": document,
            "manage": manage,
            "draft": draft,
            "form": form if manage and draft else None,
            "overdue": [v for v in document.entries if v.overdue],
        },
        status=status,
    )


@login_required
def notice_detail(request: XhRequest, pk: int) -> HttpResponse:
    return _render_notice(request, services.notice_get(actor=request.actor, pk=pk))


@login_required
@require_POST
def notice_edit(request: XhRequest, pk: int) -> HttpResponse:
    notice = services.notice_get(actor=request.actor, pk=pk)
    form = EditForm(request.POST)
    if not form.is_valid():
        return _render_notice(request, notice, form=form, status=400)
    try:
        services.notice_update(
            actor=request.actor,
            notice=notice,
            title=form.cleaned_data["title"],
            summary=form.cleaned_data["summary"],
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        if exc.code == "notice.not_draft":
            messages.warning(request, str(exc.message))
            return redirect("assessment:notice_detail", pk=pk)
        form.add_domain_error(exc)
        return _render_notice(request, notice, form=form, status=exc.status)
    messages.success(request, _("The draft was saved."))
    return redirect("assessment:notice_detail", pk=pk)


@login_required
@require_POST
def notice_issue(request: XhRequest, pk: int) -> HttpResponse:
    notice = services.notice_get(actor=request.actor, pk=pk)
    try:
        notice = services.notice_issue(actor=request.actor, notice=notice)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Notice %(number)s was issued; the organisations named were told.")
            % {"number": services.notice_number(notice)},
        )
    return redirect("assessment:notice_detail", pk=pk)


@login_required
@require_POST
def notice_discard(request: XhRequest, pk: int) -> HttpResponse:
    notice = services.notice_get(actor=request.actor, pk=pk)
    try:
        services.notice_discard(actor=request.actor, notice=notice)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
        return redirect("assessment:notice_detail", pk=pk)
    messages.success(request, _("The draft was discarded."))
    return redirect("assessment:notice_list")


@login_required
def notice_print(request: XhRequest, pk: int) -> HttpResponse:
    """The notice laid out as an official document for paper (A4, the browser's print)."""
    notice = services.notice_get(actor=request.actor, pk=pk)
    return render(
        request,
        "assessment/notices/print.html",
        {"notice": notice, "doc": notice_document(notice), "printed_at": timezone.localtime()},
    )


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def notice_pdf_download(request: XhRequest, pk: int) -> HttpResponse:
    notice = services.notice_get(actor=request.actor, pk=pk)
    return _download(notice_pdf(notice), "application/pdf", file_name(notice, "pdf"))


@login_required
def notice_xlsx_download(request: XhRequest, pk: int) -> HttpResponse:
    notice = services.notice_get(actor=request.actor, pk=pk)
    content = notice_xlsx(notice, replies=True, actor=request.actor)
    return _download(content, XLSX_TYPE, file_name(notice, "xlsx"))


# ---- an entry: the reply and the decision ----------------------------------------------------------


class ReplyForm(DomainErrorMixin, forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Causes and rectification"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Why the calls were not handled in time or well, as found."),
    )
    measures = forms.CharField(
        label=gettext_lazy("Measures taken"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("What was changed so that it does not happen again."),
    )


class DecideForm(DomainErrorMixin, forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (services.Decision.ACCEPT, gettext_lazy("Accept: the rectification is done")),
            (services.Decision.RETURN, gettext_lazy("Return for revision")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=services.MAX_REASON,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when the reply is returned: say what it lacks."),
    )


def _render_entry(
    request: XhRequest,
    entry: NoticeEntry,
    *,
    reply_form: ReplyForm | None = None,
    decide_form: DecideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.actor
    issued = entry.notice.status == NoticeStatus.ISSUED
    can_reply = (
        issued
        and entry.status in (EntryStatus.AWAITING, EntryStatus.RETURNED)
        and services.may_reply(actor, entry)
    )
    can_decide = (
        issued and entry.status == EntryStatus.REPLIED and access.can(actor, "decide", entry)
    )
    replies = (
        list(services.entry_replies(actor=actor, entry=entry))
        if may_see_replies(actor, entry)
        else None
    )
    return render(
        request,
        "assessment/notices/entry.html",
        {
            "entry": entry,
            "notice": entry.notice,
            "number": services.notice_number(entry.notice),
            "view": entry_view(entry),
            "replies": replies,
            "reply_form": (reply_form or ReplyForm()) if can_reply else None,
            "decide_form": (decide_form or DecideForm()) if can_decide else None,
            "issued": issued,
        },
        status=status,
    )


@login_required
def entry_detail(request: XhRequest, pk: int) -> HttpResponse:
    return _render_entry(request, services.entry_get(actor=request.actor, pk=pk))


@login_required
@require_POST
def entry_reply(request: XhRequest, pk: int) -> HttpResponse:
    """The service decides, in this order: who may reply (403 `notice.not_your_entry`,
    nothing kept), the entry's state (409), then the text (400, back on the form)."""
    entry = services.entry_get(actor=request.actor, pk=pk)
    form = ReplyForm(request.POST)
    form.is_valid()  # for the page, should the service refuse the text
    try:
        services.reply_submit(
            actor=request.actor,
            entry=entry,
            text=request.POST.get("text", ""),
            measures=request.POST.get("measures", ""),
        )
    except DomainError as exc:
        if exc.status == 403:  # the wrong organisation: say whose entry it is
            return error_response(request, "permission_denied", message=exc.message)
        if exc.status == 404:
            raise
        if exc.status == 409:
            messages.warning(request, str(exc.message))
            return redirect("assessment:notice_entry", pk=pk)
        form.add_domain_error(exc)
        return _render_entry(request, entry, reply_form=form, status=exc.status)
    messages.success(request, _("Your rectification reply was filed."))
    return redirect("assessment:notice_entry", pk=pk)


@login_required
@require_POST
def entry_decide(request: XhRequest, pk: int) -> HttpResponse:
    entry = services.entry_get(actor=request.actor, pk=pk)
    form = DecideForm(request.POST)
    form.is_valid()
    try:
        reply = services.reply_decide(
            actor=request.actor,
            entry=entry,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        if exc.status == 409:
            messages.warning(request, str(exc.message))
            return redirect("assessment:notice_entry", pk=pk)
        form.add_domain_error(exc)
        return _render_entry(request, entry, decide_form=form, status=exc.status)
    if reply.status == ReplyStatus.ACCEPTED:
        messages.success(request, _("The rectification was accepted; the entry is closed."))
    else:
        messages.success(request, _("The reply was returned for revision."))
    return redirect("assessment:notice_entry", pk=pk)
