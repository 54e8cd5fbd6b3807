from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from tests import factories as f
from xianghu.accounts.models import User
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, Role


@dataclass
class World:
    """Two counties with every kind of organisation and a user for every role."""

    county: Region
    other_county: Region
    t1: Region
    t2: Region
    orgs: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def login(self, client: Client, key: str) -> Client:
        client.force_login(self.users[key])
        return client


def _member(world: World, key: str, org_key: str, role: str, **user_kw: Any) -> User:
    user = f.UserFactory(username=key, **user_kw)
    f.MembershipFactory(user=user, organisation=world.orgs[org_key], role=role)
    world.users[key] = user
    return user


@pytest.fixture
def world(db: Any) -> World:
    county = f.county()
    other = f.county(code="371222", name="柳河县")
    t1 = f.township(county, 1, "王庄镇")
    t2 = f.township(county, 2, "柳林镇")
    tb = f.township(other, 1, "北关镇")
    w = World(county=county, other_county=other, t1=t1, t2=t2)
    o = w.orgs
    o["t1"] = f.township_gov(t1)
    o["t2"] = f.township_gov(t2)
    o["v1"] = f.village_committee(f.village(t1, 1))
    o["dept"] = f.department(county, "应急管理局")
    o["police"] = f.department(county, "公安局")
    o["agency"] = f.stationed_agency(o["police"], t1)
    o["platform"] = f.county_org(county, OrgKind.PLATFORM_CENTRE, "清河县乡呼县应指挥中心")
    o["bianban"] = f.county_org(county, OrgKind.BIANBAN, "清河县委编办")
    o["office"] = f.county_org(county, OrgKind.COUNTY_OFFICE, "清河县两办")
    o["enterprise"] = f.OrganisationFactory(
        name="清河县鲁清食品有限公司", kind=OrgKind.ENTERPRISE, region=county, county=county
    )
    o["tb"] = f.township_gov(tb)
    o["dept_b"] = f.department(other, "应急管理局")
    o["platform_b"] = f.county_org(other, OrgKind.PLATFORM_CENTRE, "柳河县指挥中心")

    _member(w, "reporter", "t1", Role.TOWNSHIP_REPORTER)
    _member(w, "tleader", "t1", Role.TOWNSHIP_LEADER)
    _member(w, "reporter_t2", "t2", Role.TOWNSHIP_REPORTER)
    _member(w, "village_reporter", "v1", Role.TOWNSHIP_REPORTER)
    _member(w, "operator", "platform", Role.PLATFORM_OPERATOR)
    _member(w, "handler", "dept", Role.DEPARTMENT_HANDLER)
    _member(w, "dleader", "dept", Role.DEPARTMENT_LEADER)
    _member(w, "police_leader", "police", Role.DEPARTMENT_LEADER)
    _member(w, "agency_handler", "agency", Role.DEPARTMENT_HANDLER)
    _member(w, "bianban", "bianban", Role.BIANBAN_REVIEWER)
    _member(w, "assessor", "office", Role.ASSESSOR)
    _member(w, "admin", "platform", Role.SYSTEM_ADMIN)
    _member(w, "volunteer", "enterprise", Role.PUBLIC_USER)
    _member(w, "operator_b", "platform_b", Role.PLATFORM_OPERATOR)
    _member(w, "reporter_b", "tb", Role.TOWNSHIP_REPORTER)
    w.users["citizen"] = f.UserFactory(username="citizen", is_public=True)
    w.users["nomember"] = f.UserFactory(username="nomember")
    return w


# The lists fixture (a guidance version and the world county's derived list), for every
# directory of the suite.
from tests.catalog.conftest import lists  # noqa: E402, F401
