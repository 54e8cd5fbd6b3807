"""The REST API at /api/v1/: one NinjaAPI, one router per domain app."""

from __future__ import annotations

from ninja import NinjaAPI

from xianghu.accounts.api import router as accounts_router
from xianghu.accounts.api_auth import API_AUTH
from xianghu.assessment.api import router as assessment_router
from xianghu.calls.api import router as calls_router
from xianghu.calls.policy_api import router as time_policy_router
from xianghu.catalog.api import router as catalog_router
from xianghu.core.api import install_error_handlers
from xianghu.integrations.api import router as integrations_router
from xianghu.participation.api import router as participation_router
from xianghu.regions.api import router as regions_router
from xianghu.routing.api import router as routing_router

api = NinjaAPI(
    title="xianghu API",
    version="1.0.0",
    description=(
        "REST API of xianghu (乡呼县应). Authenticate with a browser session (CSRF token "
        "required for writes) or an organisation's API key in the `X-API-Key` header. "
        "Every error has the shape `{code, message, detail}`; codes are stable."
    ),
    auth=API_AUTH,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

api.add_router("/", accounts_router)
api.add_router("/", regions_router)
api.add_router("/catalog/", catalog_router)
api.add_router("/calls/", calls_router)
api.add_router("/time-limits/", time_policy_router)
api.add_router("/assessment/", assessment_router)
api.add_router("/routing/", routing_router)
api.add_router("/participation/", participation_router)
api.add_router("/integrations/", integrations_router)
