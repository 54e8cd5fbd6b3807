"""The open government pages (no login), mounted at /open/ (namespace "open")."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "open"

urlpatterns: list[URLPattern] = []
