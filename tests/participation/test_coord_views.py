"""The registry and coordination pages: who gets in, bad input kept on the form with a
clear message, the public board and its JSON twin (masked, query counts pinned)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.calls.conftest import as_
from tests.participation import coord_world
from tests.participation.coord_world import post_need, post_offer
from xianghu.participation.coord import services
from xianghu.participation.models_coord import (
    Commitment,
    CommitmentStatus,
    Need,
    ResourceKind,
    StakeholderKind,
    Unit,
)

pytestmark = pytest.mark.django_db
coord = coord_world.coord  # the fixture


def _client(world, key):
    return world.login(Client(), key)


def test_the_registry_is_for_the_county_staff_and_masks_phones(coord):
    w = coord
    url = reverse("participation:registry")
    page = _client(w, "tleader").get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "清河县蓝天救援队" in body
    assert "139****5678" in body
    assert "13912345678" not in body
    # a partner is sent to its own profile; a resident is refused; anonymous must log in
    mine = _client(w, "ngo").get(url, follow=True)
    assert mine.redirect_chain[-1][0] == reverse(
        "participation:stakeholder_detail", args=[w.ngo.pk]
    )
    assert _client(w, "citizen").get(url).status_code == 403
    assert Client().get(url).status_code == 302
    filtered = _client(w, "operator").get(url, {"kind": "enterprise", "capacity": "bogus"})
    assert filtered.status_code == 200
    assert "清河县蓝天救援队" not in filtered.content.decode()


def test_the_registry_list_has_a_fixed_number_of_queries(coord, django_assert_max_num_queries):
    w = coord
    client = _client(w, "operator")
    url = reverse("participation:registry")
    client.get(url)
    for n in range(8):
        services.stakeholder_create(
            actor=as_(w, "operator"),
            county=w.county,
            kind=StakeholderKind.GRID_WORKER,
            data=services.ProfileData(
                name=f"网格员{n}", contact_phone="13700000000", village=w.village
            ),
        )
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200


def test_a_profile_is_edited_by_its_keepers_only(coord):
    w = coord
    url = reverse("participation:stakeholder_edit", args=[w.ngo.pk])
    assert _client(w, "volunteer").get(url).status_code == 404
    assert _client(w, "tleader").get(url).status_code == 403
    client = _client(w, "ngo")
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        {
            "skills": "水上救援",
            "townships": [str(w.t1.pk)],
            "cap_goods": "on",
            "cap_goods_quantity": "-5",
            "cap_goods_unit": Unit.BOX,
        },
    )
    assert bad.status_code == 400
    body = bad.content.decode()
    assert 'value="水上救援"' in body  # nothing lost
    assert 'data-testid="error-cap_goods_quantity"' in body
    good = client.post(
        url,
        {
            "skills": "水上救援",
            "townships": [str(w.t1.pk)],
            "cap_transport": "on",
            "cap_transport_quantity": "4",
            "cap_transport_unit": Unit.VEHICLE,
        },
    )
    assert good.status_code == 302, good.content.decode()[:2000]
    w.ngo.refresh_from_db()
    assert [c.kind for c in w.ngo.capacities.all()] == ["transport"]


def test_posting_a_need_keeps_bad_input_and_says_why(coord):
    w = coord
    client = _client(w, "tleader")
    url = reverse("participation:need_new")
    form = {
        "kind": ResourceKind.GOODS,
        "title": "安置点饮用水",
        "quantity": "0",
        "unit": Unit.BOX,
        "place": str(w.village.pk),
        "needed_by": (timezone.localdate() - timedelta(days=1)).isoformat(),
        "urgency": "urgent",
    }
    bad = client.post(url, form)
    assert bad.status_code == 400
    body = bad.content.decode()
    assert 'value="安置点饮用水"' in body
    assert 'data-testid="error-quantity"' in body
    form["quantity"] = "100"
    past = client.post(url, form)
    assert 'data-testid="error-needed_by"' in past.content.decode()
    form["needed_by"] = (timezone.localdate() + timedelta(days=2)).isoformat()
    ok = client.post(url, form)
    need = Need.objects.get()
    assert ok.url == reverse("participation:need_detail", args=[need.pk])
    # partners and residents do not post needs
    assert _client(w, "ngo").get(url).status_code == 403
    assert _client(w, "citizen").get(url).status_code == 403


def test_committing_beyond_the_need_on_the_page_says_how_much_is_left(coord):
    w = coord
    need = post_need(w)
    services.commitment_create(
        actor=as_(w, "volunteer"), need=need, stakeholder=w.enterprise, quantity=70
    )
    url = reverse("participation:need_detail", args=[need.pk])
    client = _client(w, "ngo")
    page = client.get(url)
    assert 'data-testid="commit-form"' in page.content.decode()
    bad = client.post(url, {"stakeholder": str(w.ngo.pk), "quantity": "50", "note": "冲锋舟"})
    assert bad.status_code == 409
    body = bad.content.decode()
    assert "30" in body
    assert 'value="冲锋舟"' in body
    assert not Commitment.objects.filter(stakeholder=w.ngo).exists()
    # someone else's stakeholder in the form is refused by the form
    again = _client(w, "volunteer").post(url, {"stakeholder": str(w.ngo.pk), "quantity": "1"})
    assert again.status_code == 400
    assert not Commitment.objects.filter(stakeholder=w.ngo).exists()
    ok = client.post(url, {"stakeholder": str(w.ngo.pk), "quantity": "30"})
    assert ok.status_code == 302
    mine = Commitment.objects.get(stakeholder=w.ngo)
    # nothing more is needed: no form, and a late POST is turned away with a message
    assert 'data-testid="commit-form"' not in client.get(url).content.decode()
    late = _client(w, "volunteer").post(url, {"stakeholder": str(w.enterprise.pk), "quantity": "1"})
    assert late.status_code == 302
    assert Commitment.objects.count() == 2

    action = reverse("participation:commitment_action", args=[mine.pk, "confirm"])
    follow = _client(w, "tleader").post(action, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Only" in follow.content.decode()
    mine.refresh_from_db()
    assert mine.status == CommitmentStatus.COMMITTED
    client.post(reverse("participation:commitment_action", args=[mine.pk, "deliver"]))
    _client(w, "tleader").post(action)
    mine.refresh_from_db()
    assert mine.status == CommitmentStatus.CONFIRMED
    assert _client(w, "citizen").post(action).status_code == 404


def test_offer_pages_show_matching_needs(coord):
    w = coord
    need = post_need(w)
    offer = post_offer(w, w.ngo, "ngo")
    page = _client(w, "ngo").get(reverse("participation:offer_detail", args=[offer.pk]))
    body = page.content.decode()
    assert need.title in body
    assert f"?offer={offer.pk}&amp;quantity=60" in body
    assert (
        _client(w, "volunteer")
        .get(reverse("participation:offer_edit", args=[offer.pk]))
        .status_code
        == 404
    )
    bad = _client(w, "ngo").post(
        reverse("participation:offer_new"),
        {
            "stakeholder": str(w.ngo.pk),
            "kind": ResourceKind.GOODS,
            "title": "帐篷",
            "quantity": "-1",
            "unit": Unit.PIECE,
            "area": str(w.county.pk),
            "available_from": timezone.localdate().isoformat(),
        },
    )
    assert bad.status_code == 400
    assert 'value="帐篷"' in bad.content.decode()
    lst = _client(w, "operator").get(reverse("participation:offer_list"))
    assert "矿泉水" in lst.content.decode()


def test_the_public_board_and_its_json_twin(coord, django_assert_max_num_queries):
    w = coord
    grid = services.stakeholder_create(
        actor=as_(w, "tleader"),
        county=w.county,
        kind=StakeholderKind.GRID_WORKER,
        data=services.ProfileData(name="王秀英", contact_phone="13700001234", village=w.village),
    )
    need = post_need(w, description="联系人电话13812345678")
    services.commitment_create(
        actor=as_(w, "volunteer"), need=need, stakeholder=w.enterprise, quantity=60
    )
    services.commitment_create(actor=as_(w, "tleader"), need=need, stakeholder=grid, quantity=10)
    url = reverse("participation:resource_board")
    page = Client().get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert need.title in body
    assert "清河县鲁清食品有限公司" in body
    assert "王*英" in body
    assert "王秀英" not in body
    assert "13812345678" not in body
    assert "138****5678" in body

    data = Client().get(url, {"format": "json"}).json()
    [entry] = data["needs"]
    assert entry["remaining"] == "30"
    assert entry["committed"] == "70"
    assert [c["by"] for c in entry["contributions"]] == ["清河县鲁清食品有限公司", "王*英"]
    text = str(data)
    assert "13812345678" not in text
    assert "13700001234" not in text

    for n in range(6):
        other = post_need(w, title=f"需求{n}", quantity=Decimal(10))
        services.commitment_create(actor=as_(w, "ngo"), need=other, stakeholder=w.ngo, quantity=5)
    with django_assert_max_num_queries(6):
        assert Client().get(url).status_code == 200
    with django_assert_max_num_queries(4):
        assert len(Client().get(url, {"format": "json", "kind": "goods"}).json()["needs"]) == 7


def test_need_and_offer_lists_have_a_fixed_number_of_queries(coord, django_assert_max_num_queries):
    w = coord
    client = _client(w, "operator")
    for n in range(6):
        need = post_need(w, title=f"需求{n}")
        offer = post_offer(w, w.ngo, "ngo", title=f"供给{n}")
        services.commitment_create(
            actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, offer=offer, quantity=5
        )
    for name in ("need_list", "offer_list"):
        url = reverse(f"participation:{name}")
        with django_assert_max_num_queries(12):
            page = client.get(url)
        assert page.content.decode().count('data-testid="' + name.split("_")[0] + '-row"') == 6
