"""Pages of the integrations app, mounted at /integrations/: the 12345 hotline."""

from django.urls import path

from .hotline import views, webhook

app_name = "integrations"

urlpatterns = [
    path("hotline/", views.ticket_list, name="hotline_list"),
    path("hotline/<int:pk>/", views.ticket_detail, name="hotline_detail"),
    path("hotline/<int:pk>/call/", views.ticket_to_call, name="hotline_to_call"),
    path("hotline/import/", views.import_page, name="hotline_import"),
    path("hotline/import/<int:pk>/", views.run_page, name="hotline_run"),
    path("hotline/import/<int:pk>/progress/", views.run_progress, name="hotline_progress"),
    path("hotline/import/<int:pk>/errors.csv", views.run_errors, name="hotline_errors"),
    path("hotline/export.<str:fmt>", views.export, name="hotline_export"),
    path("hotline/webhook/<int:source_id>/", webhook.receive, name="hotline_webhook"),
]
