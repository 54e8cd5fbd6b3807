from django.urls import path

from . import views

app_name = "oversight"

urlpatterns = [
    path("", views.home, name="home"),
    path("region/<str:code>/", views.region, name="region"),
    path("rollout/", views.rollout, name="rollout"),
]
