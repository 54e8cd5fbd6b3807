"""The printed manual (说明书) of a list item: the page, its PDF and a version's manuals.

The manual's content comes from the item's procedure and parties, so the expectations
below are read from the database (or changed there first), never copied from a fixture.
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.urls import reverse
from django.utils import translation

from tests.catalog.conftest import spec
from xianghu.calls import deadlines, policy
from xianghu.catalog import manual as manuals
from xianghu.catalog import selectors, services
from xianghu.catalog.limits import limit_label
from xianghu.catalog.models import Item, PartyRole, ProcedureStep
from xianghu.regions.selectors import actor_for_user

pytestmark = pytest.mark.django_db


def page_url(version, code: str) -> str:
    return reverse("catalog:item_manual", args=[version.pk, code])


def cells(html: str, testid: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    ]


def test_the_page_follows_the_items_procedure(client, lists):
    item = Item.objects.get(version=lists.version, code="D1-04-2")
    # A third step, changed in the database: the manual must show it, in order.
    ProcedureStep.objects.create(
        item=item,
        order=3,
        name="联合复查",
        party="assisting",
        time_limit="2wd",
        handoff="复查结果报平台",
    )
    steps = list(item.steps.order_by("order"))
    response = client.get(page_url(lists.version, "D1-04-2"))
    assert response.status_code == 200
    html = response.content.decode()
    assert cells(html, "manual-step-name") == [s.name for s in steps]
    assert cells(html, "manual-step-limit") == [limit_label(s.time_limit) or "—" for s in steps]
    assert cells(html, "manual-step-handoff") == [s.handoff or "—" for s in steps]
    assisting = "、".join(
        p.organisation.name if p.organisation else p.name
        for p in item.parties.filter(role=PartyRole.ASSISTING)
    )
    primary = "、".join(
        p.organisation.name if p.organisation else p.name
        for p in item.parties.filter(role=PartyRole.PRIMARY)
    )
    # The assisting step names its departments, the primary one the primary department.
    assert cells(html, "manual-step-who")[2] == assisting
    assert cells(html, "manual-primary") == [primary]
    assert cells(html, "manual-code") == [item.code]
    assert cells(html, "manual-domain") == [item.domain.name]
    assert cells(html, "manual-respond") == [limit_label(item.respond_limit)]
    assert item.cooperating_duties in html
    assert item.primary_duties in html
    assert 'data-testid="manual-version"' in html
    assert lists.version.title in html
    # The call route names the county's platform centre and the departments.
    route = html.split('data-testid="manual-route"')[1]
    assert "清河县乡呼县应指挥中心" in route
    assert primary in route
    assert assisting in route
    assert reverse("catalog:item_manual_pdf", args=[lists.version.pk, "D1-04-2"]) in html


def test_a_township_item_says_the_township_holds_the_duty(client, lists):
    item = Item.objects.get(version=lists.version, code="D2-09")
    html = client.get(page_url(lists.version, item.code)).content.decode()
    with translation.override("en"):
        manual = manuals.item_manual(version=lists.version, item=item)
    assert manual.township_primary
    assert cells(html, "manual-cooperating") == [manual.assisting]
    assert manual.assisting
    assert manual.assisting in manual.route[-1]


def test_the_clocks_are_the_countys_time_policy(client, world, lists):
    item = Item.objects.get(version=lists.version, code="D1-04-1")
    html = client.get(page_url(lists.version, item.code)).content.decode()
    assert 'data-customised="no"' in html
    # Normal calls take the item's own limits (the defaults say use_item_limits).
    assert len(re.findall('data-testid="manual-clock"', html)) == 3
    assert limit_label(item.complete_limit) in html.split('data-testid="manual-clocks"')[1]
    table = {u: policy.limits_as_form(lim) for u, lim in deadlines.DEFAULTS.items()}
    table["normal"] = {
        **table["normal"],
        "sign": "3wh",
        "use_item_limits": False,
        "complete": "7wd",
    }
    policy.time_policy_update(
        actor=actor_for_user(user=world.users["admin"]),
        county=world.county,
        hours={
            "morning_start": time(9, 0),
            "morning_end": time(12, 0),
            "afternoon_start": time(14, 0),
            "afternoon_end": time(18, 0),
        },
        limits=table,
    )
    html = client.get(page_url(lists.version, item.code)).content.decode()
    clocks = html.split('data-testid="manual-clocks"')[1]
    assert 'data-customised="yes"' in html
    assert "3个工作小时" in clocks
    assert "7个工作日" in clocks


def test_a_guidance_item_has_no_county_clocks(client, lists):
    html = client.get(page_url(lists.guidance, "D1-01")).content.decode()
    assert 'data-testid="manual-route"' in html
    assert 'data-testid="manual-clocks"' not in html


def test_the_pdf_of_an_item_and_of_a_version(client, lists):
    response = client.get(reverse("catalog:item_manual_pdf", args=[lists.version.pk, "D1-01"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert 'filename="manual-D1-01.pdf"' in response["Content-Disposition"]
    one = len(response.content)
    response = client.get(reverse("catalog:version_manuals_pdf", args=[lists.version.pk]))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    # Every item's manual is in it: more pages than one item's.
    pages = len(re.findall(rb"/Type\s*/Page[^s]", response.content))
    assert pages >= 2
    assert len(response.content) > one


def test_the_version_pdf_holds_every_item_in_order(lists):
    version = lists.version
    context = manuals.manual_context(version=version)
    built = [
        manuals.item_manual(version=version, item=i, context=context)
        for i in manuals.manual_items(version=version)
    ]
    assert [m.item.code for m in built] == list(
        selectors.version_items(version=version)
        .order_by("order", "code")
        .values_list("code", flat=True)
    )
    assert all(m.clocks is not None for m in built)


def test_a_draft_manual_is_only_for_its_keeper(client, world, lists):
    draft = services.version_create_draft(
        catalogue=lists.catalogue, specs=[spec("QH-09", "草案事项")], title="草案"
    )
    urls = (
        page_url(draft, "QH-09"),
        reverse("catalog:item_manual_pdf", args=[draft.pk, "QH-09"]),
        reverse("catalog:version_manuals_pdf", args=[draft.pk]),
    )
    for url in urls:
        assert client.get(url).status_code == 404
    keeper = world.login(client, "bianban")
    for url in urls:
        assert keeper.get(url).status_code == 200


def test_a_missing_item_is_404(client, lists):
    assert client.get(page_url(lists.version, "NOPE-1")).status_code == 404
    response = client.get(reverse("catalog:item_manual_pdf", args=[lists.version.pk, "NOPE-1"]))
    assert response.status_code == 404


def test_the_item_page_links_the_manual(client, lists):
    html = client.get(
        reverse("catalog:item_detail", args=[lists.version.pk, "D1-01"])
    ).content.decode()
    assert page_url(lists.version, "D1-01") in html
    html = client.get(reverse("catalog:version_detail", args=[lists.version.pk])).content.decode()
    assert reverse("catalog:version_manuals_pdf", args=[lists.version.pk]) in html
