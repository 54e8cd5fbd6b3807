"""Pages of the calls app, mounted at /calls/."""

from django.urls import path

from . import policy_views, views

app_name = "calls"

urlpatterns = [
    path("", views.call_list, name="list"),
    path("new/", views.call_new, name="new"),
    path("overdue/", views.overdue_board, name="overdue"),
    path("time-limits/", policy_views.time_policy_page, name="time_policy"),
    path("<int:pk>/", views.call_detail, name="detail"),
    path("<int:pk>/act/<slug:action>/", views.call_act, name="act"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
