"""The permission rules: who sees which organisations and members, who manages them."""

from __future__ import annotations

import pytest

from xianghu.core import access
from xianghu.core.errors import NotFound, PermissionDenied
from xianghu.regions.models import Membership, Organisation
from xianghu.regions.selectors import actor_for_user


def actor(world, key):
    return actor_for_user(user=world.users[key])


def visible_keys(world, key, action="view"):
    ids = set(
        access.visible(actor(world, key), Organisation.objects.all(), action).values_list(
            "pk", flat=True
        )
    )
    return {k for k, o in world.orgs.items() if o.pk in ids}


ALL_ORGS = {
    "t1",
    "t2",
    "v1",
    "dept",
    "police",
    "agency",
    "platform",
    "bianban",
    "office",
    "enterprise",
    "tb",
    "dept_b",
    "platform_b",
}
COUNTY_A = ALL_ORGS - {"tb", "dept_b", "platform_b"}


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("reporter", COUNTY_A),
        ("operator", COUNTY_A),
        ("operator_b", {"tb", "dept_b", "platform_b", "enterprise"}),
        ("admin", ALL_ORGS),
        # The public sees every government body (the open directory) and partners.
        ("citizen", ALL_ORGS),
        ("volunteer", ALL_ORGS),
        # No membership: only the co-governance partners' public registry.
        ("nomember", {"enterprise"}),
    ],
)
def test_which_organisations_each_role_sees(world, user, expected):
    assert visible_keys(world, user) == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("reporter", {"t1"}),
        ("village_reporter", {"v1"}),
        ("tleader", {"t1", "v1", "agency"}),
        ("handler", {"dept"}),
        ("dleader", {"dept"}),
        ("police_leader", {"police", "agency"}),
        ("agency_handler", {"agency"}),
        (
            "operator",
            {"t1", "t2", "v1", "dept", "police", "agency", "platform", "bianban", "office"},
        ),
        (
            "assessor",
            {"t1", "t2", "v1", "dept", "police", "agency", "platform", "bianban", "office"},
        ),
        ("operator_b", {"tb", "dept_b", "platform_b"}),
        ("admin", ALL_ORGS),
        ("citizen", set()),
        ("volunteer", {"enterprise"}),
        ("nomember", set()),
    ],
)
def test_whose_members_each_role_sees(world, user, expected):
    assert visible_keys(world, user, "view_members") == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("reporter", set()),
        ("tleader", {"t1", "v1"}),
        ("dleader", {"dept"}),
        ("police_leader", {"police", "agency"}),
        ("operator", set()),
        ("admin", ALL_ORGS),
    ],
)
def test_who_manages_members(world, user, expected):
    assert visible_keys(world, user, "manage_members") == expected


@pytest.mark.parametrize(
    "user", ["reporter", "tleader", "operator", "admin", "citizen", "nomember"]
)
@pytest.mark.parametrize("action", ["view", "view_members", "manage_members", "change"])
def test_can_and_visible_agree(world, user, action):
    """The single-object answer and the list scope come from one rule."""
    a = actor(world, user)
    in_scope = set(
        access.visible(a, Organisation.objects.all(), action).values_list("pk", flat=True)
    )
    for org in world.orgs.values():
        assert access.can(a, action, org) == (org.pk in in_scope), (user, action, org.name)


def test_require_hides_invisible_objects_as_not_found(world):
    a = actor(world, "operator")
    with pytest.raises(NotFound):
        access.require(a, "view_members", world.orgs["tb"])  # other county: 404
    with pytest.raises(PermissionDenied):
        access.require(a, "manage_members", world.orgs["t1"])  # visible, not allowed: 403


def test_get_visible_is_the_same_for_absent_and_forbidden(world):
    a = actor(world, "operator")
    qs = Organisation.objects.all()
    with pytest.raises(NotFound) as forbidden:
        access.get_visible(a, qs, pk=world.orgs["tb"].pk)
    with pytest.raises(NotFound) as absent:
        access.get_visible(a, qs, pk=999_999)
    assert forbidden.value.as_dict() == absent.value.as_dict()


def test_memberships_follow_the_organisation_rules(world):
    a = actor(world, "tleader")
    seen = set(access.visible(a, Membership.objects.all()).values_list("user__username", flat=True))
    assert seen == {"reporter", "tleader", "village_reporter", "agency_handler"}
    own_only = actor(world, "citizen")
    assert not access.visible(own_only, Membership.objects.all()).exists()


def test_inactive_membership_grants_nothing(world):
    m = Membership.objects.get(user=world.users["operator"])
    m.is_active = False
    m.save()
    assert visible_keys(world, "operator", "view_members") == set()


def test_unregistered_model_is_denied_to_everyone(world):
    from django.utils import timezone

    from xianghu.core.models import WorkerHeartbeat

    now = timezone.now()
    beat = WorkerHeartbeat.objects.create(
        worker_id="w1", hostname="h", pid=1, started_at=now, seen_at=now
    )
    a = actor(world, "admin")
    assert list(access.visible(a, WorkerHeartbeat.objects.all())) == []
    assert access.can(a, "view", beat) is False
