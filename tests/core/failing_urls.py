"""A URLconf for tests only (`override_settings(ROOT_URLCONF=...)`): the project's URLs
plus a page and an API path that fail, to see the 500 page and the 500 error shape
through the whole middleware chain (tests/core/test_errors.py, tests/browser)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from config import urls as project


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("failing on purpose (test-only URL)")


FAILING_PAGE = "/test-only/fail/"
FAILING_API = "/api/test-only/fail/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(FAILING_PAGE.strip("/") + "/", fail),
    path(FAILING_API.strip("/") + "/", fail),
    *project.urlpatterns,
]

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
