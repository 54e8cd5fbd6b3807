"""Pages of participation (public area), mounted at /participation/ with the app's namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import public_views as v
from . import views

urlpatterns: list[URLPattern] = [
    path("privacy/", v.privacy, name="privacy"),
    path("register/", v.register, name="register"),
    path("register/verify/", v.register_verify, name="register_verify"),
    path("report/", v.report_new, name="report_new"),
    path("track/", v.track_lookup, name="track_lookup"),
    path("track/<str:token>/", v.track, name="track"),
    path("track/<str:token>/rate/", v.track_rate, name="track_rate"),
    path("reports/", v.public_list, name="public_list"),
    path("reports/<int:pk>/support/", v.report_support, name="report_support"),
    path("mine/", v.mine, name="mine"),
    path("photos/<int:pk>/", v.photo, name="photo"),
    path("moderation/", v.moderation, name="moderation"),
    path("moderation/reports/<int:pk>/", v.moderation_report, name="moderation_report"),
    path("moderation/photos/<int:pk>/", v.moderation_photo, name="moderation_photo"),
    path("moderation/audit/", v.unmask_audit, name="unmask_audit"),
    path("organisations/pending/", v.applications, name="applications"),
    path(
        "organisations/pending/<int:pk>/approve/",
        v.application_approve,
        name="application_approve",
    ),
    path("organisations/pending/<int:pk>/reject/", v.application_reject, name="application_reject"),
    path("triage/<int:pk>/merge/", views.triage_merge, name="triage_merge"),
    path("triage/<int:pk>/unmask/", views.triage_unmask, name="triage_unmask"),
]
