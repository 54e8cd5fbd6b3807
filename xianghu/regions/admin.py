from django.contrib import admin

from .models import Membership, Organisation, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "kind", "parent")
    list_filter = ("level", "kind")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region", "county", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name")
    raw_id_fields = ("region", "county", "township", "parent")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role", "title", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "user__name", "organisation__name")
    autocomplete_fields = ("user", "organisation")
