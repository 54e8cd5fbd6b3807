"""The leaders' overview (/overview/): who may open it, what each scope counts (on a fake
clock, `scene.py`), the page, and a query count that does not grow with the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tests.calls.conftest import as_
from tests.workbench.scene import NOW, build_scene, t
from xianghu.calls import services
from xianghu.calls.supervision import run_sweep
from xianghu.regions.models import Membership
from xianghu.regions.roles import Role
from xianghu.workbench.overview import overview_build


@pytest.fixture
def scene(world, lists):
    return build_scene(world, lists)


def membership(world, key: str) -> Membership:
    return Membership.objects.select_related("organisation__county").get(user=world.users[key])


def build(world, key: str, now=NOW):
    return overview_build(actor=as_(world, key), membership=membership(world, key), now=now)


def figures(overview) -> dict[str, int]:
    return {f.key: f.value for f in overview.figures}


def table(overview, key: str) -> dict[str, tuple[int, int, int, int]]:
    [found] = [tb for tb in overview.tables if tb.key == key]
    return {
        r.name: (r.open, r.overdue, r.closed_this_month, r.unsatisfied_this_month)
        for r in found.rows
    }


COUNTY = {
    # open: overdue, due_soon, reworked, two_way; the draft is not open, the other
    # county's call is not counted.
    "open": 4,
    "overdue": 1,
    "due_soon": 1,
    "awaiting_evaluation": 1,
    "closed": 1,  # last month's close is not counted
    "yellow_cards": 2,  # overdue (03-07) and due_soon (NOW)
    "red_cards": 1,
    "supervision_orders": 1,
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("operator", COUNTY),
        ("assessor", COUNTY),
        ("admin", COUNTY),
        # 王庄镇: its calls (overdue, due_soon, reworked, draft, last_month) and the
        # two-way call it received.
        (
            "tleader",
            {
                "open": 4,
                "overdue": 1,
                "due_soon": 1,
                "awaiting_evaluation": 1,
                "closed": 0,
                "yellow_cards": 2,
                "red_cards": 1,
                "supervision_orders": 1,
            },
        ),
        # 应急管理局 leads overdue, closed and reworked (not its own two-way call).
        (
            "dleader",
            {
                "open": 2,
                "overdue": 1,
                "due_soon": 0,
                "awaiting_evaluation": 1,
                "closed": 1,
                "yellow_cards": 1,
                "red_cards": 1,
                "supervision_orders": 1,
            },
        ),
        # 公安局 and its 派出所: due_soon, and last month's call.
        (
            "police_leader",
            {
                "open": 1,
                "overdue": 0,
                "due_soon": 1,
                "awaiting_evaluation": 0,
                "closed": 0,
                "yellow_cards": 1,
                "red_cards": 0,
                "supervision_orders": 0,
            },
        ),
    ],
)
def test_the_figures_of_each_scope(world, scene, key, expected):
    assert figures(build(world, key)) == expected


def test_the_other_county_sees_only_its_own(world, scene):
    got = figures(build(world, "operator_b"))
    assert got["open"] == 1  # the submitted call of 北关镇
    assert sum(got.values()) == 1


def test_the_tables_per_organisation(world, scene):
    county = build(world, "operator")
    # Every department of the county is listed (公安局 with its one open call), and a
    # township that leads a two-way call.
    assert table(county, "lead") == {
        "清河县应急管理局": (2, 1, 1, 1),
        "清河县公安局": (1, 0, 0, 0),
        "王庄镇人民政府": (1, 0, 0, 0),
    }
    # Worst first: overdue, then unsatisfied evaluations, then open calls.
    assert [r.name for r in county.tables[0].rows] == [
        "清河县应急管理局",
        "清河县公安局",
        "王庄镇人民政府",
    ]
    assert table(county, "caller") == {
        "王庄镇人民政府": (3, 1, 0, 1),
        "柳林镇人民政府": (0, 0, 1, 0),
        "清河县应急管理局": (1, 0, 0, 0),
    }
    # The department and its stationed agency, listed even with nothing to count.
    police = build(world, "police_leader")
    assert table(police, "lead") == {
        "清河县公安局": (1, 0, 0, 0),
        "清河县公安局王庄镇派出所": (0, 0, 0, 0),
    }
    # The township: who handles its calls.
    township = build(world, "tleader")
    assert table(township, "lead") == {
        "清河县应急管理局": (2, 1, 0, 1),
        "清河县公安局": (1, 0, 0, 0),
        "王庄镇人民政府": (1, 0, 0, 0),
    }


def test_the_items_and_the_most_overdue(world, scene):
    county = build(world, "operator")
    # This month, not drafts: D1-01 ×4 (overdue, closed, reworked, two_way), QH-01 ×1.
    assert [(i.code, i.calls) for i in county.items] == [("D1-01", 4), ("QH-01", 1)]
    [row] = county.overdue
    assert row.call == scene.calls["overdue"]
    assert row.lead == "清河县应急管理局"
    assert row.due == t(2025, 3, 10, 17, 30)
    # Later, the due_soon call is overdue too, and the older deadline comes first.
    later = build(world, "operator", now=NOW + timedelta(days=2))
    assert [r.call.pk for r in later.overdue] == [
        scene.calls["overdue"].pk,
        scene.calls["due_soon"].pk,
    ]
    assert [r.clock for r in later.overdue] == ["办结", "签收"]


def test_a_department_does_not_inherit_the_cards_of_the_one_before(world, scene):
    # An out-of-list call goes to 公安局, which gets a yellow card, asks to return it and
    # is released; 应急管理局 then leads it and gets its own yellow card.
    dispatched, later = t(2025, 3, 20, 8, 30), t(2025, 3, 20, 10, 5)
    call, _ = services.call_create(
        actor=as_(world, "reporter"),
        caller=world.orgs["t1"],
        draft=services.CallDraft(title="清单外呼叫", description="描述", location=world.t1),
        at=dispatched,
    )
    steps = [
        ("reporter", "submit", {}, dispatched),
        ("tleader", "approve", {}, dispatched),
        ("operator", "accept", {}, dispatched),
        ("operator", "dispatch", {"lead": world.orgs["police"].pk}, dispatched),
    ]
    for key, action, data, when in steps:
        services.call_transition(
            actor=as_(world, key), call=call, action=action, data=data, at=when
        )
    run_sweep(now=NOW)
    for key, action, data in (
        ("police_leader", "request_return", {"reason": "非本部门职责"}),
        ("operator", "agree_return", {"reason": "同意"}),
        ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
    ):
        services.call_transition(
            actor=as_(world, key), call=call, action=action, data=data, at=later
        )
    run_sweep(now=later)
    cards = call.events.filter(action="yellow_card").values_list("data__organisation", flat=True)
    assert sorted(cards) == sorted([world.orgs["police"].pk, world.orgs["dept"].pk])
    assert figures(build(world, "dleader", now=later))["yellow_cards"] == 2  # 1 + its own
    assert figures(build(world, "police_leader", now=later))["yellow_cards"] == 1  # due_soon's
    county = build(world, "operator", now=later)
    assert figures(county)["yellow_cards"] == 4
    # The call outside the list is its own row among the items.
    assert [(i.code, i.calls) for i in county.items] == [("D1-01", 4), ("QH-01", 1), (None, 1)]
    assert figures(build(world, "tleader", now=later))["yellow_cards"] == 4


def test_a_leader_of_a_stationed_agency_sees_the_agency(world, scene):
    user = f.UserFactory(username="agency_leader")
    f.MembershipFactory(user=user, organisation=world.orgs["agency"], role=Role.DEPARTMENT_LEADER)
    world.users["agency_leader"] = user
    agency = build(world, "agency_leader")
    assert table(agency, "lead") == {"清河县公安局王庄镇派出所": (0, 0, 0, 0)}
    assert sum(figures(agency).values()) == 0  # its call was closed last month
    # In February, that call counts.
    february = build(world, "agency_leader", now=t(2025, 2, 28, 12, 0))
    assert figures(february)["closed"] == 1
    assert [(i.code, i.calls) for i in february.items] == [("QH-01", 1)]


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("tleader", 200),
        ("dleader", 200),
        ("police_leader", 200),
        ("operator", 200),
        ("assessor", 200),
        ("admin", 200),
        ("reporter", 403),
        ("village_reporter", 403),
        ("handler", 403),
        ("agency_handler", 403),
        ("bianban", 403),
        ("volunteer", 403),
        ("citizen", 403),
        ("nomember", 403),
    ],
)
def test_who_may_open_the_overview(world, client, key, status):
    world.login(client, key)
    r = client.get("/overview/")
    assert r.status_code == status
    if status == 403:
        assert 'data-testid="error-message"' in r.content.decode()


def test_anonymous_is_sent_to_login(db, client):
    r = client.get("/overview/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_the_overview_follows_the_role_switcher(world, client):
    user = world.users["reporter"]
    m = f.MembershipFactory(user=user, organisation=world.orgs["t1"], role=Role.TOWNSHIP_LEADER)
    world.login(client, "reporter")
    assert client.get("/overview/").status_code == 403  # works as a reporter first
    client.post("/workbench/switch/", {"membership": m.pk})
    assert client.get("/overview/").status_code == 200


def test_the_page(world, client, scene):
    world.login(client, "tleader")
    r = client.get("/overview/")
    html = r.content.decode()
    assert "王庄镇人民政府" in html
    # The overdue call links to its page; the other county's and other townships' calls
    # are nowhere.
    assert f'href="/calls/{scene.calls["overdue"].pk}/"' in html
    assert 'data-testid="org-table-lead"' in html
    for absent in ("北关镇", "柳河县", "柳林镇企业安全隐患"):
        assert absent not in html
    assert r.context["overview"].scope.kind == "township"
    client.logout()
    world.login(client, "operator")
    html = client.get("/overview/").content.decode()
    assert 'data-testid="org-table-caller"' in html
    assert "/calls/overdue/" in html  # the operator may open the overdue board


def test_the_page_queries_do_not_grow_with_the_data(
    world, client, lists, scene, django_assert_max_num_queries
):
    world.login(client, "operator")
    client.get("/overview/")  # warm up (sessions, content types)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/overview/").status_code == 200
    # More departments, townships and overdue calls.
    for n in range(3, 12):
        f.township_gov(f.township(world.county, n))
        f.department(world.county, f"测试局{n}")
    for n in range(8):
        call, _ = services.call_create(
            actor=as_(world, "reporter"),
            caller=world.orgs["t1"],
            draft=services.CallDraft(title=f"呼叫{n}", description="描述", location=world.t1),
            at=t(2025, 3, 3, 9, 0),
        )
        for key, action, data in (
            ("reporter", "submit", {}),
            ("tleader", "approve", {}),
            ("operator", "accept", {}),
            ("operator", "dispatch", {"lead": world.orgs["police"].pk}),
        ):
            services.call_transition(
                actor=as_(world, key), call=call, action=action, data=data, at=t(2025, 3, 3, 9, 0)
            )
    with django_assert_max_num_queries(16):
        r = client.get("/overview/")
    assert len(r.context["overview"].overdue) == 10  # the 10 most overdue of 11
    with CaptureQueriesContext(connection) as second:
        client.get("/overview/")
    assert len(second) == len(first)


@pytest.mark.parametrize(
    ("key", "overview", "webhooks"),
    [
        ("tleader", True, True),
        ("dleader", True, True),
        ("police_leader", True, True),
        ("operator", True, False),
        ("assessor", True, False),
        ("admin", True, True),
        ("reporter", False, False),
        ("handler", False, False),
        ("bianban", False, False),
    ],
)
def test_the_workbench_links(world, client, key, overview, webhooks):
    world.login(client, key)
    html = client.get("/").content.decode()
    assert ('href="/overview/"' in html) is overview
    assert ('href="/notifications/webhooks/"' in html) is webhooks
