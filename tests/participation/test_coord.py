"""The stakeholder registry and resource coordination: who keeps what, the checks on
quantities and dates, commitments never beyond the need, the delivery flow, matching."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from tests import factories as f
from tests.calls.conftest import as_
from tests.participation import coord_world
from tests.participation.coord_world import post_need, post_offer
from xianghu.core import access
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.notify.models import Notification
from xianghu.participation.coord import matching, selectors, services
from xianghu.participation.models_coord import (
    Commitment,
    CommitmentStatus,
    Need,
    NeedStatus,
    Offer,
    ResourceKind,
    Stakeholder,
    StakeholderKind,
    Unit,
)
from xianghu.regions.selectors import actor_for_user

pytestmark = pytest.mark.django_db
coord = coord_world.coord  # the fixture


def _caps(*rows):
    return [services.CapacityData(kind=k, unit=u, quantity=q) for k, u, q in rows]


def _grid(world, key="tleader", **kw):
    return services.stakeholder_create(
        actor=as_(world, key),
        county=world.county,
        kind=StakeholderKind.GRID_WORKER,
        data=services.ProfileData(
            name=kw.pop("name", "王秀英"),
            contact_phone="13700001234",
            village=kw.pop("village", world.village),
            skills="急救",
        ),
    )


# ---- the registry -----------------------------------------------------------------------------


def test_a_society_organisation_keeps_its_own_profile(coord):
    w = coord
    assert w.ngo.kind == StakeholderKind.SOCIAL_ORG
    assert w.ngo.contact_phone == "13912345678"
    services.stakeholder_update(
        actor=as_(w, "ngo"),
        stakeholder=w.ngo,
        data=services.ProfileData(
            name="ignored", skills="水上救援、急救", contact_phone="139 1234 5678"
        ),
        areas=[w.t1],
        capacities=_caps(
            (ResourceKind.TRANSPORT, Unit.VEHICLE, Decimal("4")),
            (ResourceKind.VOLUNTEERS, Unit.PERSON, None),
        ),
    )
    w.ngo.refresh_from_db()
    assert w.ngo.name == "清河县蓝天救援队"  # an organisation's name is the directory's
    assert w.ngo.skills == "水上救援、急救"
    assert w.ngo.contact_phone == "13912345678"
    assert sorted(c.kind for c in w.ngo.capacities.all()) == ["transport", "volunteers"]
    assert list(w.ngo.areas.all()) == [w.t1]

    same = {"data": services.ProfileData(name="x"), "areas": [], "capacities": []}
    # another organisation does not even see it; the township sees it but may not edit it
    with pytest.raises(NotFound):
        services.stakeholder_update(actor=as_(w, "volunteer"), stakeholder=w.ngo, **same)
    with pytest.raises(PermissionDenied):
        services.stakeholder_update(actor=as_(w, "tleader"), stakeholder=w.ngo, **same)
    with pytest.raises(NotFound):
        services.stakeholder_for_organisation(actor=as_(w, "volunteer"), organisation=w.orgs["ngo"])
    # nobody makes the profile of an organisation they are not a member of
    team = f.OrganisationFactory(
        name="清河县青年志愿者协会", kind="volunteer_team", region=w.county, county=w.county
    )
    with pytest.raises(PermissionDenied):
        services.stakeholder_for_organisation(actor=as_(w, "volunteer"), organisation=team)
    assert not Stakeholder.objects.filter(organisation=team).exists()


def test_a_capacity_needs_a_positive_quantity_in_a_unit_of_its_kind(coord):
    w = coord
    for rows, code in (
        (_caps((ResourceKind.FUNDS, Unit.BOX, Decimal("1"))), "coord.unit_invalid"),
        (_caps((ResourceKind.GOODS, Unit.BOX, Decimal("0"))), "coord.quantity_not_positive"),
        (_caps((ResourceKind.GOODS, Unit.BOX, Decimal("-3"))), "coord.quantity_not_positive"),
        (_caps((ResourceKind.GOODS, Unit.BOX, Decimal("1.5"))), "coord.quantity_not_whole"),
    ):
        with pytest.raises(InvalidInput) as err:
            services.stakeholder_update(
                actor=as_(w, "ngo"),
                stakeholder=w.ngo,
                data=services.ProfileData(name="x"),
                areas=[],
                capacities=rows,
            )
        assert err.value.code == code
    assert not w.ngo.capacities.exists()
    with pytest.raises(InvalidInput) as err:
        services.stakeholder_update(
            actor=as_(w, "ngo"),
            stakeholder=w.ngo,
            data=services.ProfileData(name="x", contact_phone="call me"),
            areas=[],
            capacities=[],
        )
    assert err.value.code == "coord.phone_invalid"


def test_the_staff_keep_village_committees_and_grid_workers(coord):
    w = coord
    grid = _grid(w)
    assert grid.township == w.t1
    assert list(grid.areas.all()) == [w.village]
    # another township's staff, a partner and a resident may not add one here
    for key in ("reporter_t2", "volunteer", "citizen"):
        with pytest.raises((PermissionDenied, NotFound)):
            _grid(w, key, name="李四")
    assert Stakeholder.objects.filter(kind=StakeholderKind.GRID_WORKER).count() == 1
    # the county platform may; the village committee keeps its own profile
    _grid(w, "operator", name="赵六")
    committee = services.stakeholder_for_organisation(
        actor=as_(w, "village_reporter"), organisation=w.orgs["v1"]
    )
    assert committee.kind == StakeholderKind.VILLAGE_COMMITTEE
    with pytest.raises(Conflict):
        services.stakeholder_create(
            actor=as_(w, "tleader"),
            county=w.county,
            kind=StakeholderKind.VILLAGE_COMMITTEE,
            organisation=w.orgs["v1"],
            data=services.ProfileData(name="x"),
        )
    # a grid worker needs a village
    with pytest.raises(InvalidInput):
        _grid(w, village=w.t1)
    assert access.can(as_(w, "tleader"), "change", grid)
    assert not access.can(as_(w, "reporter_t2"), "change", grid)


def test_the_registry_is_searched_by_township_kind_and_capacity(coord):
    w = coord
    services.stakeholder_update(
        actor=as_(w, "ngo"),
        stakeholder=w.ngo,
        data=services.ProfileData(name="x", skills="水上救援"),
        areas=[w.t1],
        capacities=_caps((ResourceKind.TRANSPORT, Unit.VEHICLE, Decimal("4"))),
    )
    services.stakeholder_update(
        actor=as_(w, "volunteer"),
        stakeholder=w.enterprise,
        data=services.ProfileData(name="x"),
        areas=[w.t2],
        capacities=_caps((ResourceKind.GOODS, Unit.BOX, Decimal("500"))),
    )
    grid = _grid(w)

    def names(key, **kw):
        return {s.name for s in selectors.stakeholder_search(actor=as_(w, key), **kw)}

    everyone = {w.ngo.name, w.enterprise.name, grid.name}
    assert names("tleader") == everyone
    assert names("operator") == everyone
    assert names("tleader", township=w.t1) == {w.ngo.name, grid.name}
    assert names("tleader", township=w.t2) == {w.enterprise.name}
    assert names("tleader", capacity=ResourceKind.GOODS) == {w.enterprise.name}
    assert names("tleader", kind=StakeholderKind.GRID_WORKER) == {grid.name}
    assert names("tleader", search="水上") == {w.ngo.name}
    # other counties, residents: nothing; a partner: only its own profile
    assert names("operator_b") == set()
    assert names("citizen") == set()
    assert names("volunteer") == {w.enterprise.name}


# ---- needs and offers -------------------------------------------------------------------------


def test_bad_needs_are_refused_with_clear_codes(coord):
    w = coord
    today = timezone.localdate()
    cases = [
        ({"quantity": Decimal("0")}, "coord.quantity_not_positive"),
        ({"quantity": Decimal("-5")}, "coord.quantity_not_positive"),
        ({"quantity": "abc"}, "coord.quantity_invalid"),
        ({"quantity": Decimal("2.5")}, "coord.quantity_not_whole"),
        ({"needed_by": today - timedelta(days=1)}, "coord.date_past"),
        ({"unit": Unit.YUAN}, "coord.unit_invalid"),
        ({"place": f.village(w.t2, 1)}, "coord.place_outside"),
        ({"place": f.township(w.other_county, 5)}, "coord.place_outside"),
        ({"title": "  "}, "coord.title_required"),
    ]
    for changes, code in cases:
        with pytest.raises(InvalidInput) as err:
            post_need(w, **changes)
        assert err.value.code == code, changes
        assert err.value.detail[0]["field"]
    # fractions are fine for tonnes and yuan
    post_need(w, kind=ResourceKind.FUNDS, unit=Unit.YUAN, quantity=Decimal("1200.50"))
    # only a township's staff or the platform post; for their own organisation
    for key, poster in (("volunteer", None), ("reporter_t2", None), ("handler", w.orgs["dept"])):
        with pytest.raises(PermissionDenied):
            post_need(w, key, poster=poster)
    need = post_need(w, "operator", poster=w.orgs["platform"], place=w.county)
    assert need.township is None


def test_bad_offers_are_refused_and_an_offer_is_its_keepers(coord):
    w = coord
    today = timezone.localdate()
    for changes, code in (
        ({"quantity": Decimal("0")}, "coord.quantity_not_positive"),
        ({"available_from": today - timedelta(days=2)}, "coord.date_past"),
        (
            {"available_from": today + timedelta(days=5), "available_to": today + timedelta(1)},
            "coord.window_reversed",
        ),
        ({"area": w.other_county}, "coord.place_outside"),
    ):
        with pytest.raises(InvalidInput) as err:
            post_offer(w, w.ngo, "ngo", **changes)
        assert err.value.code == code
    with pytest.raises(NotFound):
        post_offer(w, w.ngo, "volunteer")
    offer = post_offer(w, w.ngo, "ngo")
    data = services.OfferData(
        kind=offer.kind,
        title="改",
        quantity=Decimal("1"),
        unit=offer.unit,
        area=w.county,
        available_from=offer.available_from,
    )
    with pytest.raises(NotFound):
        services.offer_update(actor=as_(w, "volunteer"), offer=offer, data=data)
    with pytest.raises(PermissionDenied):  # the county sees offers but does not edit them
        services.offer_update(actor=as_(w, "operator"), offer=offer, data=data)
    assert Offer.objects.get().title == "矿泉水"


# ---- commitments ------------------------------------------------------------------------------


def test_partial_commitments_never_exceed_the_need_nor_the_offer(coord):
    w = coord
    need = post_need(w)  # 100 boxes
    offer = post_offer(w, w.enterprise, "volunteer")  # 60 boxes
    services.commitment_create(
        actor=as_(w, "volunteer"), need=need, stakeholder=w.enterprise, offer=offer, quantity="60"
    )
    with pytest.raises(Conflict) as err:
        services.commitment_create(
            actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity=Decimal("50")
        )
    assert err.value.code == "coord.beyond_need"
    assert "40" in str(err.value.message)
    for bad in ("0", "-1", "1.5"):
        with pytest.raises(InvalidInput):
            services.commitment_create(
                actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity=bad
            )
    services.commitment_create(actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity="40")
    with pytest.raises(Conflict):
        services.commitment_create(actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity="1")
    assert selectors.need_get(actor=as_(w, "tleader"), pk=need.pk).remaining == 0

    # beyond the offer (all 60 used), someone else's offer, a stakeholder one does not keep
    other = post_need(w, title="另一个安置点")
    with pytest.raises(Conflict) as err:
        services.commitment_create(
            actor=as_(w, "volunteer"), need=other, stakeholder=w.enterprise, offer=offer, quantity=1
        )
    assert err.value.code == "coord.beyond_offer"
    with pytest.raises(PermissionDenied):
        services.commitment_create(
            actor=as_(w, "ngo"), need=other, stakeholder=w.ngo, offer=offer, quantity=1
        )
    with pytest.raises(NotFound):
        services.commitment_create(
            actor=as_(w, "ngo"), need=other, stakeholder=w.enterprise, quantity=1
        )


def test_committed_then_delivered_then_confirmed_by_the_receiver(
    coord, django_capture_on_commit_callbacks
):
    w = coord
    need = post_need(w)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.commitment_create(
            actor=as_(w, "volunteer"), need=need, stakeholder=w.enterprise, quantity=60
        )
    assert Notification.objects.filter(user=w.users["tleader"], kind="coord").count() == 1
    b = services.commitment_create(actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity=40)

    # the receiver confirms only what was delivered; the giver reports delivery only
    with pytest.raises(Conflict):
        services.commitment_confirm(actor=as_(w, "tleader"), commitment=a)
    with pytest.raises(PermissionDenied):
        services.commitment_deliver(actor=as_(w, "tleader"), commitment=a)
    with pytest.raises(NotFound):
        services.commitment_deliver(actor=as_(w, "ngo"), commitment=a)
    services.commitment_deliver(actor=as_(w, "volunteer"), commitment=a)
    with pytest.raises(PermissionDenied):
        services.commitment_confirm(actor=as_(w, "volunteer"), commitment=a)
    with pytest.raises(Conflict):  # delivered: no longer cancellable
        services.commitment_cancel(actor=as_(w, "volunteer"), commitment=a)
    with pytest.raises(PermissionDenied):  # another township's staff (sees, may not confirm)
        services.commitment_confirm(actor=as_(w, "reporter_t2"), commitment=a)
    services.commitment_confirm(actor=as_(w, "reporter"), commitment=a)

    # cancelling before delivery frees the quantity
    services.commitment_cancel(actor=as_(w, "ngo"), commitment=b, reason="车辆故障")
    assert selectors.need_get(actor=as_(w, "tleader"), pk=need.pk).remaining == 40
    b = services.commitment_create(actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity=40)
    services.commitment_deliver(actor=as_(w, "ngo"), commitment=b)
    need.refresh_from_db()
    assert need.status == NeedStatus.OPEN
    services.commitment_confirm(actor=as_(w, "operator"), commitment=b)  # the county platform
    need.refresh_from_db()
    assert need.status == NeedStatus.FULFILLED
    got = selectors.need_get(actor=as_(w, "tleader"), pk=need.pk)
    assert (got.committed, got.delivered, got.confirmed, got.remaining) == (100, 100, 100, 0)
    with pytest.raises(Conflict):
        services.commitment_create(actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity=1)


def test_a_need_is_never_lowered_below_what_is_committed_and_closing_cancels(coord):
    w = coord
    need = post_need(w)
    c = services.commitment_create(actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, quantity=70)
    data = services.NeedData(
        kind=need.kind,
        title=need.title,
        quantity=Decimal("50"),
        unit=need.unit,
        place=need.place,
        needed_by=need.needed_by,
    )
    with pytest.raises(InvalidInput) as err:
        services.need_update(actor=as_(w, "tleader"), need=need, data=data)
    assert err.value.code == "coord.below_committed"
    with pytest.raises(PermissionDenied):
        services.need_update(actor=as_(w, "reporter_t2"), need=need, data=data)
    with pytest.raises(PermissionDenied):
        services.need_close(actor=as_(w, "ngo"), need=need)
    services.need_close(actor=as_(w, "tleader"), need=need)
    c.refresh_from_db()
    assert c.status == CommitmentStatus.CANCELLED


# ---- matching ---------------------------------------------------------------------------------


def test_matches_are_scored_by_quantity_place_and_time(coord):
    w = coord
    today = timezone.localdate()
    need = post_need(w)  # 100 boxes in the village, in 3 days
    county_wide = post_offer(w, w.enterprise, "volunteer")  # 60 boxes, county, now
    local = post_offer(
        w,
        w.ngo,
        "ngo",
        title="桶装水",
        quantity=Decimal("200"),
        area=w.village,
        available_from=today + timedelta(days=1),
    )
    # not candidates: another kind, another unit, too late, withdrawn
    post_offer(w, w.ngo, "ngo", kind=ResourceKind.TRANSPORT, unit=Unit.TRIP)
    post_offer(w, w.ngo, "ngo", unit=Unit.PIECE)
    post_offer(w, w.ngo, "ngo", available_from=today + timedelta(days=10))
    gone = post_offer(w, w.ngo, "ngo")
    services.offer_withdraw(actor=as_(w, "ngo"), offer=gone)

    with translation.override("en"):  # the reasons are compared with their msgids
        matches = matching.matches_for_need(
            need=selectors.need_get(actor=as_(w, "tleader"), pk=need.pk)
        )
    assert [m.offer for m in matches] == [local, county_wide]
    best, second = matches
    assert best.score == 40 + 35 + 15
    assert best.quantity == 100
    assert "Same place" in best.reasons
    assert second.score == 24 + 15 + 25
    assert second.quantity == 60
    assert "Available now" in second.reasons

    # once 60 are committed, the local offer covers the rest; from the offer's side too
    services.commitment_create(
        actor=as_(w, "volunteer"),
        need=need,
        stakeholder=w.enterprise,
        offer=county_wide,
        quantity=60,
    )
    matches = matching.matches_for_need(
        need=selectors.need_get(actor=as_(w, "tleader"), pk=need.pk)
    )
    assert [(m.offer, m.quantity) for m in matches] == [(local, 40)]
    for_offer = matching.matches_for_offer(
        offer=selectors.offer_get(actor=as_(w, "ngo"), pk=local.pk)
    )
    assert [(m.need, m.quantity) for m in for_offer] == [(need, 40)]


def test_a_stakeholder_serving_the_township_scores_higher_than_a_stranger(coord):
    w = coord
    need = post_need(w)
    services.stakeholder_update(
        actor=as_(w, "ngo"),
        stakeholder=w.ngo,
        data=services.ProfileData(name="x"),
        areas=[w.t1],
        capacities=[],
    )
    served = post_offer(w, w.ngo, "ngo", area=w.t2)
    stranger = post_offer(w, w.enterprise, "volunteer", area=w.t2)
    got = {
        m.offer: m
        for m in matching.matches_for_need(
            need=selectors.need_get(actor=as_(w, "tleader"), pk=need.pk)
        )
    }
    assert got[served].score - got[stranger].score == 20 - 5


def test_can_and_visible_agree_for_every_user_and_action(coord):
    w = coord
    grid = _grid(w)
    need = post_need(w)
    offer = post_offer(w, w.ngo, "ngo")
    services.commitment_create(
        actor=as_(w, "ngo"), need=need, stakeholder=w.ngo, offer=offer, quantity=10
    )
    services.commitment_create(actor=as_(w, "tleader"), need=need, stakeholder=grid, quantity=5)
    checks = {
        Stakeholder: ("view", "change", "act"),
        Need: ("view", "change", "confirm"),
        Offer: ("view", "change"),
        Commitment: ("view", "deliver", "confirm", "cancel"),
    }
    for user in w.users.values():
        actor = actor_for_user(user=user)
        for model, actions in checks.items():
            for action in actions:
                scoped = set(access.visible(actor, model.objects.all(), action))
                for obj in model.objects.all():
                    assert access.can(actor, action, obj) == (obj in scoped), (user, action, obj)
