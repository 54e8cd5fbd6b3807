"""factory_boy factories for the whole suite: a small county on demand."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from xianghu.accounts.models import User
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel

PASSWORD = "Test@Pass2026"


class RegionFactory(DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{370100 + n:06d}")
    name = factory.Sequence(lambda n: f"测试区域{n}")
    level = RegionLevel.COUNTY
    kind = RegionKind.COUNTY
    parent = None


def province() -> Region:
    return RegionFactory(code="370000", name="山东省", level="province", kind="province")


def city() -> Region:
    return RegionFactory(code="371200", name="鲁中市", level="city", kind="city", parent=province())


def county(code: str = "371221", name: str = "清河县") -> Region:
    return RegionFactory(code=code, name=name, level="county", kind="county", parent=city())


def township(county_region: Region, n: int = 1, name: str | None = None) -> Region:
    return RegionFactory(
        code=f"{county_region.code}{100 + n:03d}",
        name=name or f"测试{n}镇",
        level="township",
        kind="town",
        parent=county_region,
    )


def village(township_region: Region, n: int = 1) -> Region:
    return RegionFactory(
        code=f"{township_region.code}{200 + n:03d}",
        name=f"{township_region.name}{n}村",
        level="village",
        kind="village",
        parent=township_region,
    )


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = OrgKind.DEPARTMENT
    region = factory.LazyFunction(county)
    county = factory.LazyAttribute(lambda o: o.region if o.region.level == "county" else None)
    township = None


def department(county_region: Region, name: str = "应急管理局") -> Organisation:
    return OrganisationFactory(
        name=f"{county_region.name}{name}",
        short_name=name,
        kind=OrgKind.DEPARTMENT,
        region=county_region,
        county=county_region,
    )


def county_org(county_region: Region, kind: str, name: str) -> Organisation:
    return OrganisationFactory(name=name, kind=kind, region=county_region, county=county_region)


def township_gov(township_region: Region) -> Organisation:
    return OrganisationFactory(
        name=f"{township_region.name}人民政府",
        kind=OrgKind.TOWNSHIP,
        region=township_region,
        county=township_region.parent,
        township=township_region,
    )


def village_committee(village_region: Region) -> Organisation:
    return OrganisationFactory(
        name=f"{village_region.name}民委员会",
        kind=OrgKind.VILLAGE,
        region=village_region,
        county=village_region.parent.parent,
        township=village_region.parent,
    )


def stationed_agency(
    dept: Organisation, township_region: Region, name: str = "派出所"
) -> Organisation:
    return OrganisationFactory(
        name=f"{dept.name}{township_region.name}{name}",
        kind=OrgKind.STATIONED_AGENCY,
        region=township_region,
        county=dept.county,
        township=township_region,
        parent=dept,
    )


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"测试{n}号")
    phone = factory.Sequence(lambda n: f"1700000{n:04d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = "department_handler"
