"""A province with two cities and three counties for the oversight tests.

- 鲁中市 (371200): 清河县 (371221), with two townships, a published list derived from
  the province's guidance (one local item without steps, one split item, one guidance
  item removed), a platform operator and two recent calls (one overdue);
  东山县 (371222): a derived list never published, nobody on its platform.
- 鲁南市 (371300): 南湖县 (371321): no list at all.
Users: province (the province's 编办), city (鲁中市's 编办), city_b (鲁南市's), county
(清河县's operator), county2 (东山县's 编办).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from tests import factories as f
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.catalog.models import (
    Catalogue,
    Domain,
    Item,
    ItemOrigin,
    ListVersion,
    ProcedureStep,
    RemovedItem,
    ScopeLevel,
    VersionStatus,
)
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, Role

PUBLISHED_AT = datetime(2026, 1, 10, 9, tzinfo=timezone.get_fixed_timezone(480))


@dataclass
class Scene:
    province: Region
    cities: dict[str, Region]
    counties: dict[str, Region]
    townships: dict[str, Region]
    users: dict[str, object] = field(default_factory=dict)
    orgs: dict[str, Organisation] = field(default_factory=dict)


def _item(version, domain, code, *, origin=ItemOrigin.INHERITED, steps=0, callable=True):
    item = Item.objects.create(
        version=version,
        domain=domain,
        code=code,
        name=f"事项{code}",
        primary_level="county",
        primary_duties="职责",
        respond_limit="24h",
        complete_limit="5wd",
        callable=callable,
        origin=origin,
    )
    for n in range(1, steps + 1):
        ProcedureStep.objects.create(item=item, order=n, name=f"步骤{n}", party="lead")
    return item


def _version(catalogue, number, status, *, based_on=None, valid_from=None):
    return ListVersion.objects.create(
        catalogue=catalogue,
        number=number,
        title=f"{catalogue.name} v{number}",
        status=status,
        based_on=based_on,
        valid_from=valid_from,
        published_at=valid_from,
    )


def _user(scene, key, org, role):
    user = f.UserFactory(username=key)
    f.MembershipFactory(user=user, organisation=org, role=role)
    scene.users[key] = user
    return user


def build(now: datetime | None = None) -> Scene:
    now = now or timezone.now()
    province = f.province()
    city_a = f.city()
    city_b = f.RegionFactory(
        code="371300", name="鲁南市", level="city", kind="city", parent=province
    )
    qinghe = f.county()
    dongshan = f.county("371222", "东山县")
    nanhu = f.RegionFactory(
        code="371321", name="南湖县", level="county", kind="county", parent=city_b
    )
    t1, t2 = f.township(qinghe, 1, "王庄镇"), f.township(qinghe, 2, "李集镇")
    scene = Scene(
        province=province,
        cities={"a": city_a, "b": city_b},
        counties={"qinghe": qinghe, "dongshan": dongshan, "nanhu": nanhu},
        townships={"t1": t1, "t2": t2},
    )
    o = scene.orgs
    o["province"] = f.OrganisationFactory(
        name="山东省委编办", kind=OrgKind.BIANBAN, region=province
    )
    o["city"] = f.OrganisationFactory(name="鲁中市委编办", kind=OrgKind.BIANBAN, region=city_a)
    o["city_b"] = f.OrganisationFactory(name="鲁南市委编办", kind=OrgKind.BIANBAN, region=city_b)
    o["platform"] = f.county_org(qinghe, OrgKind.PLATFORM_CENTRE, "清河县平台中心")
    o["platform2"] = f.county_org(dongshan, OrgKind.PLATFORM_CENTRE, "东山县平台中心")
    o["bianban2"] = f.county_org(dongshan, OrgKind.BIANBAN, "东山县委编办")
    o["t1"], o["t2"] = f.township_gov(t1), f.township_gov(t2)
    _user(scene, "province", o["province"], Role.BIANBAN_REVIEWER)
    _user(scene, "city", o["city"], Role.BIANBAN_REVIEWER)
    _user(scene, "city_b", o["city_b"], Role.BIANBAN_REVIEWER)
    _user(scene, "county", o["platform"], Role.PLATFORM_OPERATOR)
    _user(scene, "county2", o["bianban2"], Role.BIANBAN_REVIEWER)

    guidance = Catalogue.objects.create(
        name="山东省指导目录", level=ScopeLevel.PROVINCE, region=province
    )
    g1 = _version(guidance, 1, VersionStatus.PUBLISHED, valid_from=PUBLISHED_AT)
    gd = Domain.objects.create(version=g1, code="D1", name="应急")
    for code in ("D1-01", "D1-02", "D1-03"):
        _item(g1, gd, code, steps=1)
    gone = Item.objects.get(version=g1, code="D1-03")

    qinghe_list = Catalogue.objects.create(
        name="清河县清单", level=ScopeLevel.COUNTY, region=qinghe, guidance=guidance
    )
    v1 = _version(qinghe_list, 1, VersionStatus.PUBLISHED, based_on=g1, valid_from=PUBLISHED_AT)
    d = Domain.objects.create(version=v1, code="D1", name="应急")
    _item(v1, d, "D1-01", steps=2)
    _item(v1, d, "D1-02-1", origin=ItemOrigin.SPLIT, steps=1)
    _item(v1, d, "L-01", origin=ItemOrigin.LOCAL)  # callable, no procedure
    _item(v1, d, "L-02", origin=ItemOrigin.LOCAL, callable=False)
    RemovedItem.objects.create(version=v1, guidance_item=gone, reason="本县无此职责")

    dongshan_list = Catalogue.objects.create(
        name="东山县清单", level=ScopeLevel.COUNTY, region=dongshan, guidance=guidance
    )
    _version(dongshan_list, 1, VersionStatus.DRAFT, based_on=g1)

    village = f.village(t1)

    def call(n: int, state: str, *, deadline=None, created=now - timedelta(days=2)):
        return Call.objects.create(
            number=f"QH-{n}",
            county=qinghe,
            caller=o["t1"],
            title="测试呼叫",
            location=village,
            description="说明",
            state=state,
            state_changed_at=created,
            created_at=created,
            next_deadline=deadline,
        )

    call(1, State.DISPATCHED, deadline=now - timedelta(hours=3))  # overdue
    call(2, State.CLOSED)
    call(3, State.DRAFT)
    call(4, State.CLOSED, created=now - timedelta(days=45))
    return scene
