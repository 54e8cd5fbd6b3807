from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from xianghu.regions.models import Membership

from .models import ApiKey, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "name", "masked_phone", "is_public", "is_active", "last_login")
    list_filter = ("is_active", "is_public", "is_superuser")
    search_fields = ("username", "name", "email")
    ordering = ("username",)
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("name", "phone", "email", "is_public")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "name", "password1", "password2")}),
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "organisation",
        "role",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("role",)
    search_fields = ("name", "prefix", "organisation__name")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at", "created_by")

    def has_add_permission(self, request):
        # Keys are created on /accounts/api-keys/ or with `manage.py apikey_create`, which
        # show the secret once.
        return False
