"""The auditors' page: the security audit log, filtered, paginated, exported as CSV."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .access import may_see_audit
from .audit import audit_events, audit_rows
from .errors import PermissionDenied
from .http import XhRequest
from .models import AuditKind, AuditOutcome

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *AuditKind.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("All outcomes")), *AuditOutcome.choices],
    )
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data


def _midnight(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_log(request: XhRequest) -> HttpResponse | StreamingHttpResponse:
    """The security audit log for auditors (docs/security.md, "Security audit log")."""
    if not may_see_audit(request.actor):
        raise PermissionDenied()
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "kind": data["kind"],
            "outcome": data["outcome"],
            "username": data["user"].strip(),
            "since": _midnight(data["since"]) if data["since"] else None,
            "until": _midnight(data["until"] + timedelta(days=1)) if data["until"] else None,
        }
    qs = audit_events(actor=request.actor, **filters)
    if request.GET.get("format") == "csv":
        # The download itself is an export: AuditMiddleware records it.
        writer = csv.writer(_Echo())
        stream = StreamingHttpResponse(
            (writer.writerow(row) for row in audit_rows(qs)),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        stream["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return stream
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "core/audit.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
