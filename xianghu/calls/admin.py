"""Calls in the admin are read-only: states change only through the transition service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Call, CallEvent, Dispatch, TimePolicy, UrgencyLimit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = CallEvent
    fields = ("seq", "action", "from_state", "to_state", "party", "actor", "actor_org", "at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "caller", "state", "urgency", "created_at")
    list_filter = ("state", "urgency", "direction", "out_of_list")
    search_fields = ("number", "title")
    inlines = [EventInline]


@admin.register(Dispatch)
class DispatchAdmin(ReadOnlyAdmin):
    list_display = ("call", "organisation", "role", "active", "dispatched_at", "completed_at")
    list_filter = ("role", "active")


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdmin):
    list_display = ("call", "seq", "action", "from_state", "to_state", "party", "at")
    list_filter = ("action",)


class UrgencyLimitInline(admin.TabularInline):
    model = UrgencyLimit
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TimePolicy)
class TimePolicyAdmin(ReadOnlyAdmin):
    """Shown for reference; changed on /calls/time-limits/ where every field is checked."""

    list_display = ("county", "morning_start", "afternoon_end", "updated_at", "updated_by")
    inlines = [UrgencyLimitInline]
