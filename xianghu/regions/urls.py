from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("", views.organisation_list, name="organisation_list"),
    path("<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("<int:pk>/members/", views.organisation_member_add, name="member_add"),
    path("memberships/<int:pk>/end/", views.membership_deactivate, name="membership_deactivate"),
]
