"""Pages of participation (coord area), mounted at /participation/ with the app's namespace:
the stakeholder registry, needs, offers, commitments and the public resource board."""

from __future__ import annotations

from django.urls import URLPattern, path

from .coord import views

urlpatterns: list[URLPattern] = [
    path("registry/", views.registry, name="registry"),
    path("registry/mine/", views.stakeholder_mine, name="stakeholder_mine"),
    path("registry/new/", views.stakeholder_new, name="stakeholder_new"),
    path("registry/<int:pk>/", views.stakeholder_detail, name="stakeholder_detail"),
    path("registry/<int:pk>/edit/", views.stakeholder_edit, name="stakeholder_edit"),
    path("resources/board/", views.resource_board, name="resource_board"),
    path("resources/needs/", views.need_list, name="need_list"),
    path("resources/needs/new/", views.need_new, name="need_new"),
    path("resources/needs/<int:pk>/", views.need_detail, name="need_detail"),
    path("resources/needs/<int:pk>/edit/", views.need_edit, name="need_edit"),
    path("resources/needs/<int:pk>/close/", views.need_close, name="need_close"),
    path("resources/offers/", views.offer_list, name="offer_list"),
    path("resources/offers/new/", views.offer_new, name="offer_new"),
    path("resources/offers/<int:pk>/", views.offer_detail, name="offer_detail"),
    path("resources/offers/<int:pk>/edit/", views.offer_edit, name="offer_edit"),
    path("resources/offers/<int:pk>/withdraw/", views.offer_withdraw, name="offer_withdraw"),
    path(
        "resources/commitments/<int:pk>/<slug:action>/",
        views.commitment_action,
        name="commitment_action",
    ),
]
