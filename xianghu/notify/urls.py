"""The inbox and the organisation's webhooks, mounted at /notifications/."""

from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("unread/", views.unread_badge, name="unread_badge"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/active/", views.webhook_set_active, name="webhook_set_active"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:pk>/secret/", views.webhook_new_secret, name="webhook_new_secret"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
]
