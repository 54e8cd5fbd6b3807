"""The installable web app (PWA) for field staff: the manifest, the service worker and the
offline page. The service worker keeps the app's static files and the pages field staff
need (the workbench, my calls, the new-call form, the public report form) for when the network is gone; calls
written offline wait in the phone's outbox (static/js/outbox.js) until it returns."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# The pages kept for offline use once visited (paths, by URL name).
OFFLINE_PAGES = (
    "workbench:home",
    "calls:list",
    "calls:new",
    "participation:report_new",
    "core:offline",
)
# Static files every page needs: kept when the worker installs.
SHELL_STATIC = (
    "css/xianghu.css",
    "js/xianghu.js",
    "js/outbox.js",
    "vendor/htmx/htmx.min.js",
    "icons/icon-192.png",
)


def _shell() -> tuple[list[str], list[str], str]:
    statics = [static(path) for path in SHELL_STATIC]
    pages = [reverse(name) for name in OFFLINE_PAGES]
    # The cache name changes whenever a static file's (hashed) URL does.
    version = hashlib.sha256(json.dumps([statics, pages]).encode()).hexdigest()[:12]
    return statics, pages, version


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": _("Xianghu · Township calls, county responds"),
        "short_name": _("Xianghu"),
        "description": _(
            "Report problems from the village, follow your calls and handle dispatches, "
            "also with a weak signal."
        ),
        "lang": request.LANGUAGE_CODE if hasattr(request, "LANGUAGE_CODE") else "zh-Hans",
        "start_url": reverse("workbench:home") + "?source=pwa",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d4ed8",
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("icons/icon-512-maskable.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
        "shortcuts": [
            {"name": _("New call"), "url": reverse("calls:new")},
            {"name": _("Calls"), "url": reverse("calls:list")},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    statics, pages, version = _shell()
    response = render(
        request,
        "core/sw.js",
        {
            "version": version,
            "statics": json.dumps(statics),
            "pages": json.dumps(pages),
            "offline": json.dumps(reverse("core:offline")),
            "static_prefix": json.dumps(static("")),
        },
        content_type="application/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "core/offline.html")
