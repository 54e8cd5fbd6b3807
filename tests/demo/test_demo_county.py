"""The fictional demo county: structure, determinism, idempotency and the demo logins."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from xianghu.demo.county import (
    COUNTY_CODE,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEPARTMENT_SHORT_NAMES,
    TOWNSHIPS,
    build_demo_county,
    credit_code,
    plan_demo_county,
    plan_villages,
)
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel, Role

# The project's own copy of the default catalogue (the one `catalog` loads).
CATALOGUE = (
    Path(__file__).resolve().parents[2] / "xianghu" / "catalog" / "data" / "default-catalog.csv"
)
TOWNSHIP_GOVERNMENT_IN_CSV = "乡镇人民政府(街道办事处)"


def _snapshot() -> dict[str, object]:
    user_model = get_user_model()
    return {
        "regions": set(Region.objects.values_list("code", "name")),
        "organisations": set(Organisation.objects.values_list("name", "kind")),
        "region_count": Region.objects.count(),
        "organisation_count": Organisation.objects.count(),
        "user_count": user_model.objects.count(),
        "membership_count": Membership.objects.count(),
        "memberships": set(
            Membership.objects.values_list("user__username", "organisation__name", "role", "title")
        ),
    }


def _login(username: str, password: str) -> object:
    return authenticate(request=RequestFactory().post("/"), username=username, password=password)


# --- pure plan: no database -----------------------------------------------------------


def test_same_seed_gives_the_same_plan() -> None:
    assert plan_demo_county(seed=2026) == plan_demo_county(seed=2026)


def test_seed_changes_villages_and_people_but_not_the_documented_accounts() -> None:
    a, b = plan_demo_county(seed=2026), plan_demo_county(seed=7)
    assert [r.name for r in a.regions_at(RegionLevel.VILLAGE)] != [
        r.name for r in b.regions_at(RegionLevel.VILLAGE)
    ]
    demo = {acc.username for acc in DEMO_ACCOUNTS}

    def documented(plan: object) -> set[tuple[str, str, str]]:
        return {
            (m.username, m.organisation.name, m.role)
            for m in plan.memberships  # type: ignore[attr-defined]
            if m.username in demo
        }

    assert documented(a) == documented(b)
    assert documented(a) == {
        (acc.username, acc.organisation_name, acc.role)
        for acc in DEMO_ACCOUNTS
        if acc.organisation_name
    }
    # The structure (everything but villages) does not depend on the seed.
    assert {o for o in a.organisations if o.kind != OrgKind.VILLAGE} == {
        o for o in b.organisations if o.kind != OrgKind.VILLAGE
    }


def test_village_generation_is_pure_and_seeded() -> None:
    code, name, kind = TOWNSHIPS[3]

    def names(seed: int) -> list[str]:
        specs = plan_villages(
            rng=random.Random(seed), township_code=code, township_name=name, kind=kind
        )
        return [s.name for s in specs]

    assert names(1) == names(1)
    assert any(names(1) != names(seed) for seed in range(2, 6))


@pytest.mark.parametrize("seed", [2026, 1, 7, 99, 12345])
def test_plan_shape(seed: int) -> None:
    plan = plan_demo_county(seed=seed)
    townships = plan.regions_at(RegionLevel.TOWNSHIP)
    assert len(townships) == 12
    assert {t.kind for t in townships} == {
        RegionKind.SUBDISTRICT,
        RegionKind.TOWN,
        RegionKind.XIANG,
    }
    villages = plan.regions_at(RegionLevel.VILLAGE)
    for township in townships:
        own = [v for v in villages if v.parent_code == township.code]
        assert 6 <= len(own) <= 10
        assert len({v.name for v in own}) == len(own)
        communities = [v for v in own if v.kind == RegionKind.COMMUNITY]
        if township.kind == RegionKind.SUBDISTRICT:
            assert len(communities) > len(own) / 2
        else:
            assert len(communities) < len(own) / 2
    assert len({o.name for o in plan.organisations}) == len(plan.organisations)
    assert len({u.username for u in plan.users}) == len(plan.users)
    assert all(u.phone.startswith("1700000") and len(u.phone) == 11 for u in plan.users)


def test_credit_codes_are_18_characters_with_valid_checks() -> None:
    # The worked example in GB 32100-2015.
    assert credit_code(prefix="91", region_code="350100", body="M000100Y") == "91350100M000100Y43"
    plan = plan_demo_county()
    codes = [o.credit_code for o in plan.organisations if o.credit_code]
    assert len(codes) >= 3
    assert all(len(c) == 18 and c.startswith(("51", "91")) for c in codes)


# --- database build ---------------------------------------------------------------------


@pytest.mark.django_db
def test_build_is_idempotent() -> None:
    first = build_demo_county()
    before = _snapshot()
    second = build_demo_county()
    assert first == second
    assert _snapshot() == before
    # The call history has its own test (test_history.py); it would only slow this one.
    call_command("demo_county", "--quiet", "--no-history")
    call_command("demo_county", "--quiet", "--no-history")
    assert _snapshot() == before


@pytest.mark.django_db
def test_build_structure() -> None:
    summary = build_demo_county()
    county = Region.objects.get(code=COUNTY_CODE)
    assert county.level == RegionLevel.COUNTY
    assert county.parent is not None
    assert county.parent.code == "371200"

    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP)
    assert townships.count() == summary.townships == 12
    assert {t.kind for t in townships} == {
        RegionKind.SUBDISTRICT,
        RegionKind.TOWN,
        RegionKind.XIANG,
    }
    for township in townships:
        assert len(township.code) == 9
        assert township.code.startswith(COUNTY_CODE)
        assert township.parent_id == county.pk
        villages = list(township.children.all())
        assert 6 <= len(villages) <= 10
        for village in villages:
            assert len(village.code) == 12
            assert village.code.startswith(township.code)
            assert village.level == RegionLevel.VILLAGE
            serial = int(village.code[9:])
            if village.kind == RegionKind.COMMUNITY:
                assert 1 <= serial <= 199
                assert village.name.endswith("社区")
            else:
                assert 200 <= serial <= 399
                assert village.name.endswith("村")
        assert Organisation.objects.filter(kind=OrgKind.TOWNSHIP, region=township).count() == 1
    assert Region.objects.filter(level=RegionLevel.VILLAGE).count() == summary.villages
    assert Organisation.objects.filter(kind=OrgKind.VILLAGE).count() == summary.villages
    assert Organisation.objects.filter(name="城关街道办事处").exists()
    assert Organisation.objects.filter(name="王庄镇人民政府").exists()

    departments = Organisation.objects.filter(kind=OrgKind.DEPARTMENT)
    assert departments.count() == summary.departments == 18
    assert {d.short_name for d in departments} == set(DEPARTMENT_SHORT_NAMES)
    assert all(d.name == f"清河县{d.short_name}" for d in departments)

    agencies = Organisation.objects.filter(kind=OrgKind.STATIONED_AGENCY)
    assert agencies.count() == summary.stationed_agencies > 0
    for agency in agencies.select_related("parent", "township"):
        assert agency.parent is not None
        assert agency.parent.kind == OrgKind.DEPARTMENT
        assert agency.township is not None
        assert agency.township.level == RegionLevel.TOWNSHIP
        assert agency.name.startswith(agency.parent.name)
    for suffix in ("派出所", "市场监管所", "自然资源所", "中队"):
        assert agencies.filter(name__endswith=suffix).exists()

    for kind in (OrgKind.COUNTY_OFFICE, OrgKind.PLATFORM_CENTRE, OrgKind.BIANBAN):
        assert Organisation.objects.filter(kind=kind, region=county).count() == 1
    partners = Organisation.objects.filter(
        kind__in=[OrgKind.SOCIAL_ORG, OrgKind.ENTERPRISE, OrgKind.VOLUNTEER_TEAM]
    )
    assert partners.count() == summary.partners
    assert all(len(p.credit_code) == 18 for p in partners)
    assert all(p.county_id == county.pk for p in Organisation.objects.all())

    assert get_user_model().objects.count() == summary.users
    assert Membership.objects.count() == summary.memberships


def test_departments_match_the_catalogue() -> None:
    named: set[str] = set()
    with CATALOGUE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for column in ("primary_departments", "assisting_departments"):
                named.update(n.strip() for n in row[column].split(";") if n.strip())
    named.discard(TOWNSHIP_GOVERNMENT_IN_CSV)
    assert len(DEPARTMENT_SHORT_NAMES) == 18
    assert set(DEPARTMENT_SHORT_NAMES) == named


def test_every_role_has_a_documented_account() -> None:
    assert [a.username for a in DEMO_ACCOUNTS] == [
        "reporter",
        "tleader",
        "operator",
        "handler",
        "dleader",
        "bianban",
        "assessor",
        "admin",
        "auditor",
        "citizen",
        "volunteer",
    ]
    assert {a.role for a in DEMO_ACCOUNTS} == set(Role.values)


@pytest.mark.django_db
def test_documented_accounts_hold_their_roles_and_log_in() -> None:
    build_demo_county()
    user_model = get_user_model()
    held = {
        (m.user.username, m.organisation.name, m.role)
        for m in Membership.objects.select_related("user", "organisation")
    }
    for account in DEMO_ACCOUNTS:
        user = user_model.objects.get(username=account.username)
        if account.organisation_name:
            assert (account.username, account.organisation_name, account.role) in held
        else:
            assert not user.memberships.exists()
            assert user.is_public
        assert _login(account.username, DEMO_PASSWORD) == user
    admin = user_model.objects.get(username="admin")
    assert admin.is_staff
    assert not admin.is_superuser
    assert {m.role for m in Membership.objects.all()} | {Role.PUBLIC_USER} == set(Role.values)
    assert Membership.objects.filter(role=Role.PUBLIC_USER).exists()


@pytest.mark.django_db
def test_rebuild_restores_demo_passwords_but_keeps_others() -> None:
    build_demo_county()
    user_model = get_user_model()
    reporter = user_model.objects.get(username="reporter")
    reporter.set_password("Changed#Pass2026")
    reporter.save()
    staff = user_model.objects.get(username="t02_leader")
    staff.set_password("Own#Password2026")
    staff.save()

    build_demo_county()
    assert _login("reporter", DEMO_PASSWORD) is not None
    assert _login("t02_leader", "Own#Password2026") is not None


@pytest.mark.django_db
def test_generated_staff_cannot_log_in() -> None:
    build_demo_county()
    demo = {a.username for a in DEMO_ACCOUNTS}
    generated = get_user_model().objects.exclude(username__in=demo)
    assert generated.count() > 100
    assert not any(u.has_usable_password() for u in generated)
    for username in ("t01_reporter1", "d15_handler", "a01_leader", "p01_operator"):
        assert generated.filter(username=username).exists()
        assert _login(username, DEMO_PASSWORD) is None
