"""Pages of the catalog app, mounted at /catalog/."""

from django.urls import path

from . import views, views_adoption, views_guard, views_keeper, views_manual

app_name = "catalog"

urlpatterns = [
    path("", views.public_list, name="public_list"),
    path("<int:pk>/versions/", views.version_list, name="version_list"),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/items/<str:code>/", views.item_detail, name="item_detail"),
    path(
        "versions/<int:pk>/items/<str:code>/manual/",
        views_manual.item_manual_page,
        name="item_manual",
    ),
    path(
        "versions/<int:pk>/items/<str:code>/manual.pdf",
        views_manual.item_manual_pdf,
        name="item_manual_pdf",
    ),
    path(
        "versions/<int:pk>/manuals.pdf",
        views_manual.version_manuals_pdf_download,
        name="version_manuals_pdf",
    ),
    path("versions/<int:pk>/derivation/", views.derivation, name="derivation"),
    path("diff/", views.version_diff, name="version_diff"),
    path("review/", views.review, name="review"),
    path("change-requests/new/", views.change_request_new, name="change_request_new"),
    path(
        "change-requests/import/",
        views_keeper.change_requests_import,
        name="change_requests_import",
    ),
    path("change-requests/<int:pk>/", views.change_request_detail, name="change_request_detail"),
    path("admissions/new/", views.admission_new, name="admission_new"),
    path("admissions/<int:pk>/", views.admission_detail, name="admission_detail"),
    path("my-requests/", views.my_requests, name="my_requests"),
    path("duties/", views.duties, name="duties"),
    path("guard/", views_guard.guard_check, name="guard_check"),
    path("adoption/", views_adoption.overview, name="adoption_overview"),
    path("adoption/<int:catalogue_id>/", views_adoption.tasks_page, name="adoption"),
    path("adoption/<int:catalogue_id>/adopt/", views_adoption.adopt, name="adoption_adopt"),
    path("adoption/tasks/<int:pk>/decline/", views_adoption.decline, name="adoption_decline"),
    path("versions/<int:pk>/export.xlsx", views_keeper.version_export, name="version_export"),
    path("<int:catalogue_id>/import/", views_keeper.version_import, name="version_import"),
    path("versions/<int:pk>/draft/", views_keeper.version_draft, name="version_draft"),
    path("versions/<int:pk>/publish/", views_keeper.version_publish, name="version_publish"),
    path("versions/<int:pk>/discard/", views_keeper.version_discard, name="version_discard"),
]
