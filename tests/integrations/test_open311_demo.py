"""The demo county speaks Open311 out of the box: the documented key, located history."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integrations.conftest import validate
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import COUNTY_CODE, PROVINCE_CODE, build_demo_county
from xianghu.demo.history import build_demo_history
from xianghu.participation.models import PublicReport
from xianghu.regions.models import Region


@pytest.fixture
def demo(db: Any) -> Region:
    build_demo_county()
    build_demo_county()  # idempotent, keys included
    county = Region.objects.get(code=COUNTY_CODE)
    build_demo_lists(county=county, province=Region.objects.get(code=PROVINCE_CODE))
    build_demo_history(county=county, months=1)
    return county


def test_the_documented_curl_examples_work(o311, demo):
    services = o311.get("services")
    validate("services.json", services.data)
    assert services.data
    requests = o311.get("requests")
    validate("requests.json", requests.data)
    assert requests.data, "GET requests.json returns the demo history on first start"
    assert all(r["lat"] is not None and r["long"] is not None for r in requests.data)
    code = services.data[0]["service_code"]
    posted = o311.post(
        api_key="xianghu-demo-key", service_code=code, address_string="村口", description="路灯不亮"
    )
    assert posted.status == 200, posted.data
    call = Call.objects.get(number=posted.data[0]["service_request_id"])
    assert call.state == State.DRAFT
    public = o311.post(
        api_key="xianghu-public-demo-key", service_code=code, lat="36.70", long="116.90"
    )
    assert public.status == 200, public.data
    report = PublicReport.objects.get(token=public.data[0]["token"])
    assert report.county == demo
    assert o311.get(f"tokens/{report.token}", jurisdiction_id=COUNTY_CODE).status == 200
    assert (
        o311.post(api_key="xianghu-demo-key-", service_code=code, lat="1", long="1").status == 403
    )
