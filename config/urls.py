from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from xianghu.core.admin_site import restrict_admin_to_system_admins

from .api import api

restrict_admin_to_system_admins(admin.site)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("xianghu.core.urls")),
    path("", include("xianghu.workbench.urls")),
    path("oversight/", include("xianghu.oversight.urls")),
    path("accounts/", include("xianghu.accounts.urls")),
    path("orgs/", include("xianghu.regions.urls")),
    path("catalog/", include("xianghu.catalog.urls")),
    path("calls/", include("xianghu.calls.urls")),
    path("notifications/", include("xianghu.notify.urls")),
    path("assessment/", include("xianghu.assessment.urls")),
    path("routing/", include("xianghu.routing.urls")),
    path("participation/", include("xianghu.participation.urls")),
    path("open/", include("xianghu.participation.urls_open")),
    path("integrations/", include("xianghu.integrations.urls")),
    path("open311/v2/", include("xianghu.integrations.open311.urls")),
    path("training/", include("xianghu.training.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "xianghu.core.views.bad_request"
handler403 = "xianghu.core.views.permission_denied"
handler404 = "xianghu.core.views.page_not_found"
handler500 = "xianghu.core.views.server_error"
