"""Pages of the assessment app, mounted at /assessment/."""

from django.urls import path

from . import accountability_views as accountability
from . import views as dashboard_views

app_name = "assessment"

urlpatterns: list = []

# ---- the dashboards (docs/dashboards.md)
urlpatterns += [
    path("", dashboard_views.overview, name="dashboard"),
    path("domains/", dashboard_views.domains, name="domains"),
    path("departments/", dashboard_views.departments, name="departments"),
    path("townships/", dashboard_views.townships, name="townships"),
    path("steps/", dashboard_views.steps, name="steps"),
    path("rankings/", dashboard_views.rankings, name="rankings"),
    path("subjects/<int:org_id>/", dashboard_views.subject, name="subject"),
    path("evaluations/", dashboard_views.evaluations, name="evaluations"),
    path("policy/", dashboard_views.policy, name="policy"),
]

# ---- accountability by the list (依单追责), docs/accountability.md
urlpatterns += [
    path("accountability/", accountability.case_list, name="accountability_list"),
    path(
        "accountability/calls/<int:call_id>/",
        accountability.call_evidence,
        name="accountability_call",
    ),
    path(
        "accountability/incidents/new/",
        accountability.incident_new,
        name="accountability_incident_new",
    ),
    path("accountability/<int:pk>/", accountability.case_detail, name="accountability_case"),
    path(
        "accountability/<int:pk>/decide/",
        accountability.case_decide,
        name="accountability_decide",
    ),
    path(
        "accountability/<int:pk>/refresh/",
        accountability.case_refresh,
        name="accountability_refresh",
    ),
    path("accountability/<int:pk>/print/", accountability.case_print, name="accountability_print"),
    path(
        "accountability/<int:pk>/pdf/",
        accountability.case_pdf_download,
        name="accountability_pdf",
    ),
    path(
        "accountability/<int:pk>/xlsx/",
        accountability.case_xlsx_download,
        name="accountability_xlsx",
    ),
]

# ---- notices (通报) and rectification replies, docs/notices.md
from . import notices_views as notices  # noqa: E402

urlpatterns += [
    path("notices/", notices.notice_list, name="notice_list"),
    path("notices/new/", notices.notice_new, name="notice_new"),
    path("notices/<int:pk>/", notices.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/edit/", notices.notice_edit, name="notice_edit"),
    path("notices/<int:pk>/issue/", notices.notice_issue, name="notice_issue"),
    path("notices/<int:pk>/discard/", notices.notice_discard, name="notice_discard"),
    path("notices/<int:pk>/print/", notices.notice_print, name="notice_print"),
    path("notices/<int:pk>/pdf/", notices.notice_pdf_download, name="notice_pdf"),
    path("notices/<int:pk>/xlsx/", notices.notice_xlsx_download, name="notice_xlsx"),
    path("notices/entries/<int:pk>/", notices.entry_detail, name="notice_entry"),
    path("notices/entries/<int:pk>/reply/", notices.entry_reply, name="notice_reply"),
    path("notices/entries/<int:pk>/decide/", notices.entry_decide, name="notice_decide"),
]
