"""Open311 GeoReport v2, mounted at /open311/v2/: `<resource>.<format>`, xml or json."""

from django.urls import re_path

from . import views

app_name = "open311"

_FMT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(rf"^discovery{_FMT}", views.discovery, name="discovery"),
    re_path(rf"^services{_FMT}", views.services, name="services"),
    re_path(rf"^services/(?P<code>[^/]+){_FMT}", views.service_definition, name="service"),
    re_path(rf"^requests{_FMT}", views.requests, name="requests"),
    re_path(rf"^requests/(?P<number>[^/]+){_FMT}", views.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/]+){_FMT}", views.token, name="token"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not_found"),
]
