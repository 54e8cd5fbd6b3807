"""Notifications and webhooks in the admin; the delivery logs are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ChannelDelivery, Notification, Webhook, WebhookDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChannelDeliveryInline(admin.TabularInline):
    model = ChannelDelivery
    fields = ("channel", "status", "detail", "at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("title", "user", "kind", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("title", "source_key")
    inlines = [ChannelDeliveryInline]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("organisation", "url", "active", "created_at")
    list_filter = ("active",)
    raw_id_fields = ("organisation",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every event sent to every webhook, with its attempts."""

    list_display = (
        "id",
        "event",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event")
    search_fields = ("event_key",)
    readonly_fields = (
        "webhook",
        "event",
        "event_key",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
