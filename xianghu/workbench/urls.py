from django.urls import path

from . import views

app_name = "workbench"

urlpatterns = [
    path("", views.home, name="home"),
    path("workbench/switch/", views.switch_membership, name="switch"),
    path("overview/", views.overview, name="overview"),
]
