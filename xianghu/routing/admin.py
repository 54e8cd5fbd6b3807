"""Routing in the admin: models and suggestions are read-only (training is a command or
a task; decisions come from the screens); imported examples may be corrected."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import RoutingExample, RoutingModel, RoutingSuggestionLog


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RoutingModel)
class RoutingModelAdmin(ReadOnly):
    list_display = ("county", "version", "schema", "list_version", "examples", "size", "created_at")
    list_filter = ("county",)
    exclude = ("data",)


@admin.register(RoutingSuggestionLog)
class RoutingSuggestionLogAdmin(ReadOnly):
    list_display = ("created_at", "county", "suggested_code", "chosen_code", "accepted", "call")
    list_filter = ("county", "accepted", "outside_list")
    raw_id_fields = ("call",)


@admin.register(RoutingExample)
class RoutingExampleAdmin(admin.ModelAdmin):
    list_display = ("county", "item_code", "source", "batch", "created_at")
    list_filter = ("county", "source")
    search_fields = ("text", "item_code")
