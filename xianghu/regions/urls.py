from django.urls import path

from . import agency_views, views

app_name = "regions"

urlpatterns = [
    path("", views.organisation_list, name="organisation_list"),
    path("<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("<int:pk>/members/", views.organisation_member_add, name="member_add"),
    path("memberships/<int:pk>/end/", views.membership_deactivate, name="membership_deactivate"),
]

# ---- stationed agencies (派驻机构), docs/agencies.md
urlpatterns += [
    path("agencies/", agency_views.agency_list, name="agency_list"),
    path("agencies/<int:pk>/", agency_views.agency_detail, name="agency_detail"),
    path(
        "agencies/<int:pk>/consultations/",
        agency_views.consultation_propose,
        name="consultation_propose",
    ),
    path("agencies/<int:pk>/funds/", agency_views.agency_funds, name="agency_funds"),
    path(
        "agencies/consultations/<int:pk>/opinion/",
        agency_views.consultation_opinion,
        name="consultation_opinion",
    ),
    path(
        "agencies/consultations/<int:pk>/decision/",
        agency_views.consultation_decision,
        name="consultation_decision",
    ),
]
