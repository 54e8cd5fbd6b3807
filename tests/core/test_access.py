"""The permission rules: who sees which organisations and members, who manages them."""

from __future__ import annotations

import pytest

from xianghu.accounts.models import ApiKey, User
from xianghu.accounts.services import apikey_authenticate, apikey_create
from xianghu.core import access
from xianghu.core.actor import ANONYMOUS
from xianghu.core.errors import NotFound, PermissionDenied
from xianghu.regions import agencies
from xianghu.regions.models import (
    AgencyFunds,
    HeadConsultation,
    Membership,
    Organisation,
    Region,
)
from xianghu.regions.roles import Role
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


# Every user of the `world` fixture (checked below), the anonymous visitor and an API key.
WORLD_USERS = [
    "reporter",
    "tleader",
    "reporter_t2",
    "village_reporter",
    "operator",
    "handler",
    "dleader",
    "police_leader",
    "agency_handler",
    "bianban",
    "assessor",
    "admin",
    "volunteer",
    "operator_b",
    "reporter_b",
    "citizen",
    "nomember",
]

# The foundation's registered models and the actions their policies answer (and one
# they do not, which must be refused by both answers alike).
MODEL_ACTIONS = {
    Region: ("view", "change", "delete"),
    Organisation: ("view", "view_members", "manage_members", "change", "delete"),
    Membership: ("view", "change", "deactivate", "delete"),
    User: ("view", "change", "delete"),
    ApiKey: ("view", "manage", "delete"),
    HeadConsultation: ("view", "opine", "decide", "delete"),
    AgencyFunds: ("view", "change", "delete"),
}


def test_every_world_user_and_foundation_model_is_covered(world):
    assert set(WORLD_USERS) == set(world.users)
    foundation = {
        m for m in access.registered_models() if m._meta.app_label in {"regions", "accounts"}
    }
    assert foundation == set(MODEL_ACTIONS)


def _api_key_actor(world):
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role=Role.TOWNSHIP_LEADER, name="app"
    )
    return apikey_authenticate(plain=plain)


@pytest.mark.parametrize("user", [*WORLD_USERS, "anonymous", "api_key"])
def test_can_and_visible_agree(world, user):
    """The single-object answer and the list scope come from one rule, for every model
    of the foundation, every action and every object."""
    for org_key in ("platform", "platform_b", "t1"):
        apikey_create(
            actor=None,
            organisation=world.orgs[org_key],
            role=Role.SYSTEM_ADMIN if org_key != "t1" else Role.TOWNSHIP_LEADER,
            name=f"key of {org_key}",
        )
    # One head consultation and one funds record of a stationed agency (regions.agencies).
    agencies.consultation_propose(
        actor=actor(world, "police_leader"),
        agency=world.orgs["agency"],
        kind="appointment",
        person_name="张建国",
        proposal="拟任命张建国同志为所长。",
    )
    agencies.agency_funds_set(
        actor=None, agency=world.orgs["agency"], managed_by_township=True, note="乡镇代管"
    )
    if user == "anonymous":
        a = ANONYMOUS
    elif user == "api_key":
        a = _api_key_actor(world)
    else:
        a = actor(world, user)
    for model, actions in MODEL_ACTIONS.items():
        objects = list(model._default_manager.all())
        assert objects, model
        for action in actions:
            in_scope = set(
                access.visible(a, model._default_manager.all(), action).values_list("pk", flat=True)
            )
            for obj in objects:
                assert access.can(a, action, obj) == (obj.pk in in_scope), (
                    user,
                    model.__name__,
                    action,
                    str(obj),
                )


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


def _membership(world, key):
    return Membership.objects.select_related("organisation").filter(user=world.users[key]).first()


def test_page_checks_of_the_access_modules_for_every_world_user(world):
    """The checks of pages about no single object live in the apps' access modules."""
    from xianghu.participation.access import may_see_unmask_audit
    from xianghu.participation.coord.access import may_post_needs
    from xianghu.routing.access import may_see_gaps

    unmask = {k for k in WORLD_USERS if may_see_unmask_audit(actor(world, k))}
    assert unmask == {"admin"}
    posters = {k for k in WORLD_USERS if may_post_needs(_membership(world, k))}
    # Township staff (not a village's) and the platform centre's operators.
    assert posters == {"reporter", "tleader", "reporter_t2", "reporter_b", "operator", "operator_b"}
    gaps = {k for k in WORLD_USERS if may_see_gaps(_membership(world, k))}
    # The platform centre, the 两办 and the 编办, and the leaders of departments.
    assert gaps == {
        "operator",
        "operator_b",
        "admin",
        "bianban",
        "assessor",
        "dleader",
        "police_leader",
    }
