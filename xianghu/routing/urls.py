"""Pages of the routing app, mounted at /routing/."""

from django.urls import path

from . import intel_views, views

app_name = "routing"

urlpatterns = [
    path("suggest/", views.suggest_panel, name="suggest"),
    path("acceptance/", views.acceptance_page, name="acceptance"),
    # The list-gap and hotspot pages (intel_views) go below.
    path("gaps/", intel_views.gaps_page, name="gaps"),
]
