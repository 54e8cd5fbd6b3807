"""Pages of participation (deliberation area), mounted at /participation/ with the app's namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from .deliberation import views

urlpatterns: list[URLPattern] = [
    path("consultations/", views.consultation_list, name="consultations"),
    path("consultations/new/", views.consultation_new, name="consultation_new"),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultation_detail"),
    path("consultations/<int:pk>/act/", views.consultation_act, name="consultation_act"),
]
