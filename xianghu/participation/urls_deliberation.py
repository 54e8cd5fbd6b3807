"""Pages of participation (deliberation area), mounted at /participation/ with the app's namespace."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
