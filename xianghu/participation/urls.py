"""Pages of the participation app, mounted at /participation/."""

from django.urls import path

from . import urls_coord, urls_deliberation, urls_public, views

app_name = "participation"

urlpatterns = [
    path("triage/", views.triage, name="triage"),
    path("triage/<int:pk>/accept/", views.triage_accept, name="triage_accept"),
    path("triage/<int:pk>/reject/", views.triage_reject, name="triage_reject"),
]

urlpatterns += urls_public.urlpatterns + urls_coord.urlpatterns + urls_deliberation.urlpatterns
