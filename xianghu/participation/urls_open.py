"""The open government pages (no login), mounted at /open/ (namespace "open").

Every public page answers `?format=json` and `?format=csv` with the same content
(docs/participation.md, "Open government"); the `manage/` pages are the staff actions."""

from __future__ import annotations

from django.urls import URLPattern, path

from .open import views

app_name = "open"

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("duties/", views.duties, name="duties"),
    path("duties/townships/", views.duties_township, name="duties_township"),
    path("duties/<int:pk>/", views.duties_department, name="duties_department"),
    path("rankings/", views.rankings, name="rankings"),
    path("rankings/<int:pk>/", views.ranking_detail, name="ranking_detail"),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("cases/", views.cases, name="cases"),
    path("cases/<str:number>/", views.case_detail, name="case_detail"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("statistics/", views.statistics, name="statistics"),
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultation_detail"),
    path("manage/rankings/", views.manage_rankings, name="manage_rankings"),
    path("manage/cases/<str:number>/photos/", views.manage_photos, name="manage_photos"),
]
