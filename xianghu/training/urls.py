"""Pages of the training sandbox, mounted at /training/."""

from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("", views.home, name="home"),
    path("start/", views.start, name="start"),
    path("switch/", views.switch, name="switch"),
    path("return/", views.leave, name="return"),
    path("reset/", views.reset, name="reset"),
]
