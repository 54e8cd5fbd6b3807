from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, CalendarSource, CalendarYear, Holiday, WorkerHeartbeat
from .workdays import coverage_warnings


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker_id", "hostname", "pid", "started_at", "seen_at")
    readonly_fields = ("worker_id", "hostname", "pid", "started_at", "seen_at")


def _warn_coverage(request: HttpRequest) -> None:
    """Say on the calendar pages which of this year and next the table does not cover."""
    if request.method == "GET":
        for message in coverage_warnings(years_ahead=1):
            messages.warning(request, message)


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = Holiday.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "weekday", "kind", "name", "source", "updated_at")
    list_filter = (YearFilter, "kind", "source")
    search_fields = ("name",)
    date_hierarchy = "date"
    readonly_fields = ("created_at", "updated_at")
    actions = ["mark_years_complete"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj: Holiday) -> str:
        return date_format(obj.date, "l")

    @admin.action(description=_("Mark the years of the selected days complete"))
    def mark_years_complete(self, request: HttpRequest, queryset: QuerySet[Holiday]) -> None:
        years = sorted({d.year for d in queryset.dates("date", "year")})
        for year in years:
            CalendarYear.objects.update_or_create(year=year, defaults={"complete": True})
        self.message_user(
            request,
            gettext("Marked complete: %(years)s.") % {"years": ", ".join(map(str, years))},
            messages.SUCCESS,
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _warn_coverage(request)
        return super().changelist_view(request, extra_context)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "complete", "rows", "source", "note", "updated_at")
    list_filter = ("complete", "source")
    readonly_fields = ("created_at", "updated_at")
    actions = ["mark_complete", "mark_incomplete"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CalendarYear]:
        rows = (
            Holiday.objects.filter(date__year=OuterRef("year"))
            .order_by()
            .annotate(n=Func(F("id"), function="COUNT"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(row_count=Subquery(rows, output_field=IntegerField()))
        )

    @admin.display(description=_("rows"), ordering="row_count")
    def rows(self, obj: Any) -> int:
        return int(obj.row_count or 0)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"source": CalendarSource.NOTICE, **super().get_changeform_initial_data(request)}

    @admin.action(description=_("Mark the selected years complete"))
    def mark_complete(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        count = queryset.update(complete=True)
        self.message_user(request, gettext("%(count)s year(s) marked complete.") % {"count": count})

    @admin.action(description=_("Mark the selected years incomplete"))
    def mark_incomplete(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        count = queryset.update(complete=False)
        self.message_user(
            request, gettext("%(count)s year(s) marked incomplete.") % {"count": count}
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _warn_coverage(request)
        return super().changelist_view(request, extra_context)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the security audit log is append-only. The admin lists every county's
    events, so it opens to superusers only; a county's system administrators and security
    auditors read theirs at /audit/."""

    list_display = ("at", "kind", "outcome", "username", "ip", "path", "county_id")
    list_filter = ("kind", "outcome")
    search_fields = ("username", "path", "object_repr", "request_id")
    date_hierarchy = "at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
