"""Hotspots and list gaps (`routing.hotspots`), the list-gap page (/routing/gaps/), the
change request it drafts, and the hotspots of the leaders' overview."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from tests import factories as f
from tests.calls.conftest import as_
from tests.routing.test_duplicates import NOW, make
from xianghu.calls.workflow import State
from xianghu.regions.models import Membership
from xianghu.regions.roles import RegionLevel, Role
from xianghu.routing.hotspots import hotspots, list_gaps
from xianghu.workbench.overview import overview_build

FIRE = ("车间安全出口堵塞", "厂房车间安全出口被原料堵塞，灭火器过期。")


@pytest.fixture
def places(world):
    """王庄镇 (t1): villages v1 (world's), v2, v3; 柳林镇 (t2): village w1."""
    return {
        "v1": world.orgs["v1"].region,
        "v2": f.village(world.t1, 2),
        "v3": f.village(world.t1, 3),
        "w1": f.village(world.t2, 1),
    }


def spots(world, **kw):
    kw.setdefault("now", NOW)
    return [
        (h.level, h.region.name, h.item.code, h.count)
        for h in hotspots(county=kw.pop("county", world.county), **kw)
    ]


# ---- hotspots --------------------------------------------------------------------------------


def test_no_calls_no_hotspots(world, lists):
    assert hotspots(county=world.county, now=NOW) == []


def test_a_village_is_a_hotspot_from_min_calls(world, lists, places):
    calls = [make(world, lists, FIRE, at=NOW - timedelta(days=d)) for d in (9, 5)]
    assert spots(world) == []  # 2 calls: just below
    calls.append(make(world, lists, FIRE, at=NOW - timedelta(days=1), state=State.CLOSED))
    [h] = hotspots(county=world.county, now=NOW)
    assert (h.level, h.region, h.item.code, h.count) == (
        RegionLevel.VILLAGE,
        places["v1"],
        "D1-01",
        3,
    )
    assert h.township == world.t1
    assert h.call_ids == tuple(c.pk for c in calls)  # oldest first
    assert h.open_count == 2  # the closed one counts, but is not open
    assert (h.first_at, h.last_at) == (calls[0].created_at, calls[2].created_at)
    assert spots(world, min_calls=4) == []


def test_scattered_calls_roll_up_into_their_township(world, lists, places):
    make(world, lists, FIRE, location=places["v1"])
    make(world, lists, FIRE, location=places["v2"])
    make(world, lists, FIRE, location=world.t1)
    assert spots(world) == [("township", "王庄镇", "D1-01", 3)]
    # Once a village reaches the threshold alone, its calls are its own; the rest of
    # the township is a hotspot only if it still reaches it (no call counts twice).
    make(world, lists, FIRE, location=places["v1"])
    make(world, lists, FIRE, location=places["v1"])
    assert spots(world) == [("village", "王庄镇1村", "D1-01", 3)]
    assert spots(world, min_calls=2) == [
        ("village", "王庄镇1村", "D1-01", 3),
        ("township", "王庄镇", "D1-01", 2),
    ]
    [village, township] = hotspots(county=world.county, now=NOW, min_calls=2)
    assert not set(village.call_ids) & set(township.call_ids)


def test_what_is_not_counted(world, lists, places):
    for state in (State.DRAFT, State.CANCELLED, State.MERGED):
        make(world, lists, FIRE, state=state)
    make(world, lists, FIRE, code=None)  # outside the list: that is list_gaps' matter
    make(world, lists, FIRE, code="D2-09")  # another item
    make(world, lists, FIRE, at=NOW - timedelta(days=31))  # before the window
    make(world, lists, FIRE, at=NOW + timedelta(hours=1))  # after `now`
    make(world, lists, FIRE)
    make(world, lists, FIRE, state=State.RETURNED)
    assert spots(world) == []
    assert spots(world, window_days=40) == [("village", "王庄镇1村", "D1-01", 3)]


def test_other_counties_and_other_townships_never_appear(world, lists, places):
    for _n in range(3):
        make(world, lists, FIRE, location=places["w1"], caller=world.orgs["t2"])
        make(
            world,
            lists,
            FIRE,
            county=world.other_county,
            caller=world.orgs["tb"],
            location=world.orgs["tb"].region,
        )
    assert spots(world) == [("village", "柳林镇1村", "D1-01", 3)]
    assert spots(world, township=world.t1) == []
    assert spots(world, township=world.t2) == [("village", "柳林镇1村", "D1-01", 3)]
    # With an actor, only the calls it may see: 王庄镇's reporter sees none of 柳林镇's.
    assert spots(world, actor=as_(world, "reporter")) == []
    assert spots(world, actor=as_(world, "operator")) == [("village", "柳林镇1村", "D1-01", 3)]


def test_the_largest_first_in_four_queries(world, lists, places, django_assert_num_queries):
    for n, place in enumerate(("v1", "v2", "v3", "w1")):
        for _k in range(3 + n):
            make(world, lists, FIRE, location=places[place])
            make(world, lists, FIRE, code="D2-09", location=places[place])
    make(world, lists, FIRE, code="D2-09", location=world.t1)
    actor = as_(world, "operator")
    with django_assert_num_queries(4):
        found = hotspots(county=world.county, now=NOW, actor=actor)
    assert [(h.region.name, h.count) for h in found[:2]] == [("柳林镇1村", 6), ("柳林镇1村", 6)]
    assert len(found) == 8
    assert sum(h.count for h in found) == 2 * (3 + 4 + 5 + 6)


# ---- list gaps -------------------------------------------------------------------------------

LAMPS = [
    ("路灯不亮", "主街路灯坏了十几盏，晚上一片漆黑，老人孩子出行不安全。"),
    ("主街路灯损坏多日无人维修", "主街多盏路灯损坏，已有半个月没人修，群众意见大。"),
    ("村内路灯夜间不亮", "东西大街路灯全部不亮，村民晚上出门只能打手电，请协调维修。"),
    ("路灯维修无人负责", "去年安装的太阳能路灯坏了，厂家联系不上，产权单位不明，没人维修。"),
]
DOGS = [
    ("流浪狗咬人", "近期流浪狗成群，已经咬伤两名小学生，家长很担心。"),
    ("流浪犬伤人事件", "一条流浪犬连续追咬路人，有村民被咬伤后去打狂犬疫苗。"),
    ("村里流浪狗太多", "流浪狗越来越多，夜里狂叫，还追咬骑电动车的村民。"),
]
CABLES = [
    ("通信线缆垂落挂车", "村口通信光缆脱落，离地不到三米，货车经过时挂断过两次。"),
    ("电信线路低垂", "主路上方电信线路下垂，大车无法通行，找不到产权单位。"),
    ("路边光缆杆倾斜线缆下垂", "路边光缆杆倾斜，线缆垂到路面，影响车辆通行。"),
]
SINGLES = [
    ("独居老人房屋漏雨", "独居老人王某房屋漏雨，行动不便，请求救助。"),
    ("共享电动车乱停", "人民路人行道上共享电动车乱停乱放，盲道被占。"),
    ("广场舞噪音扰民", "文化广场每晚广场舞音响开到很大，一直跳到十点，周边居民休息受影响。"),
]


def out_of_list(world, lists, places, texts, *, start=NOW - timedelta(days=40), **kw):
    """Out-of-list calls, a day apart, over the county's villages and townships."""
    where = [places["v1"], places["w1"], places["v2"], world.t2]
    return [
        make(
            world,
            lists,
            (f"{where[n % 4].name}{title}", description),
            code=None,
            location=where[n % 4],
            at=start + timedelta(days=n),
            **kw,
        )
        for n, (title, description) in enumerate(texts)
    ]


def gaps(world, **kw):
    return [
        sorted(c.title for c in cluster.calls) for cluster in list_gaps(county=world.county, **kw)
    ]


def test_no_out_of_list_calls_no_gaps(world, lists, places):
    assert list_gaps(county=world.county) == []
    make(world, lists, LAMPS[0])  # on the list
    make(world, lists, LAMPS[1])
    make(world, lists, LAMPS[2])
    assert list_gaps(county=world.county) == []


def test_recurring_topics_become_clusters(world, lists, places):
    calls = out_of_list(world, lists, places, LAMPS + DOGS + CABLES + SINGLES)
    found = list_gaps(county=world.county)
    titles = [[c.title for c in g.calls] for g in found]
    by_id = {c.pk: c.title for c in calls}
    assert (
        titles
        == [
            [by_id[c.pk] for c in calls[0:4]],  # the largest first
            [by_id[c.pk] for c in calls[7:10]],  # the same size: the latest first
            [by_id[c.pk] for c in calls[4:7]],
        ]
    )
    lamps = found[0]
    assert lamps.terms[0] == "路灯"
    assert lamps.label.startswith("路灯")
    assert lamps.count == 4
    assert lamps.townships == ("柳林镇", "王庄镇")
    assert (lamps.first_at, lamps.last_at) == (calls[0].created_at, calls[3].created_at)
    assert [c.number for c in lamps.calls] == [c.number for c in calls[0:4]]
    assert lamps.calls[1].township == "柳林镇"
    assert "流浪狗" in found[2].terms
    # Place names are left out: the villages' names are in every title.
    assert not any("王庄镇" in t or t == "村" for g in found for t in g.terms)


def test_a_cluster_just_below_and_at_min_calls(world, lists, places):
    out_of_list(world, lists, places, DOGS + SINGLES)
    assert len(gaps(world)) == 1
    assert gaps(world, min_calls=4) == []
    assert len(gaps(world, min_calls=3)) == 1


def test_the_period_the_states_and_the_county(world, lists, places):
    out_of_list(world, lists, places, LAMPS[:3], start=NOW - timedelta(days=10))
    assert len(gaps(world)) == 1
    assert gaps(world, since=NOW - timedelta(days=9)) == []  # the first is before
    assert gaps(world, until=NOW - timedelta(days=8)) == []  # the third is after
    assert len(gaps(world, since=NOW - timedelta(days=10), until=NOW)) == 1
    # Drafts, withdrawn and merged calls are not counted.
    out_of_list(world, lists, places, LAMPS[:3], state=State.DRAFT)
    out_of_list(world, lists, places, DOGS, state=State.CANCELLED)
    out_of_list(world, lists, places, CABLES, state=State.MERGED)
    assert [len(g) for g in gaps(world)] == [3]
    # The other county's calls never appear, and it has its own.
    for title, description in DOGS:
        make(
            world,
            lists,
            (title, description),
            code=None,
            county=world.other_county,
            caller=world.orgs["tb"],
            location=world.orgs["tb"].region,
        )
    assert [len(g) for g in gaps(world)] == [3]
    assert [g.count for g in list_gaps(county=world.other_county)] == [3]


def test_the_clustering_is_deterministic(world, lists, places):
    out_of_list(world, lists, places, LAMPS + DOGS + CABLES + SINGLES)
    first = list_gaps(county=world.county, min_calls=1)
    assert list_gaps(county=world.county, min_calls=1) == first
    assert sum(g.count for g in first) == len(LAMPS + DOGS + CABLES + SINGLES)


# ---- the list-gap page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("bianban", 200),
        ("operator", 200),
        ("assessor", 200),
        ("admin", 200),
        ("dleader", 200),
        ("police_leader", 200),
        ("reporter", 403),
        ("tleader", 403),
        ("handler", 403),
        ("agency_handler", 403),
        ("volunteer", 403),
        ("nomember", 403),
    ],
)
def test_who_opens_the_gap_page(world, lists, client, key, status):
    world.login(client, key)
    assert client.get("/routing/gaps/").status_code == status


def test_anonymous_users_are_sent_to_log_in(client, world):
    r = client.get("/routing/gaps/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]


def _draft_links(page: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'href="([^"]*change-requests/new/[^"]*)"', page)]


def test_the_page_shows_the_clusters_and_drafts_a_change_request(world, lists, places, client):
    today = timezone.now()
    calls = out_of_list(world, lists, places, LAMPS + DOGS, start=today - timedelta(days=20))
    # The 编办 sees the clusters, without the button (it does not file requests).
    world.login(client, "bianban")
    r = client.get("/routing/gaps/")
    page = r.content.decode()
    assert page.count('data-testid="gap-cluster"') == 2
    assert calls[0].number in page
    assert calls[0].title in page
    assert _draft_links(page) == []
    assert 'data-testid="gaps-no-filing"' in page
    # ... and links to no call page: it may not open them.
    assert f"/calls/{calls[0].pk}/" not in page
    client.logout()
    # A department leader may file: each cluster has its prefilled draft.
    world.login(client, "dleader")
    page = client.get("/routing/gaps/").content.decode()
    links = _draft_links(page)
    assert len(links) == 2
    query = parse_qs(urlsplit(links[0]).query)
    assert query["kind"] == ["add"]
    assert query["name"][0].startswith("路灯")
    assert "路灯" in query["keywords"][0].split(",")
    for call in calls[:4]:
        assert call.number in query["reason"][0]
    assert "4" in query["reason"][0]
    form = client.get(links[0]).context["form"]
    assert form.initial["name"] == query["name"][0]
    assert form.initial["reason"] == query["reason"][0]
    assert form.initial["keywords"] == query["keywords"][0]
    client.logout()
    # The platform links the calls to their pages.
    world.login(client, "operator")
    page = client.get("/routing/gaps/").content.decode()
    assert f"/calls/{calls[0].pk}/" in page


def test_the_period_filter(world, lists, places, client):
    out_of_list(world, lists, places, LAMPS, start=timezone.now() - timedelta(days=300))
    world.login(client, "operator")
    r = client.get("/routing/gaps/")
    assert r.context["rows"] == []  # older than the half year shown by default
    assert 'data-testid="no-gaps"' in r.content.decode()
    since = (timezone.localdate() - timedelta(days=365)).isoformat()
    r = client.get("/routing/gaps/", {"since": since})
    assert len(r.context["rows"]) == 1
    assert len(client.get("/routing/gaps/", {"since": since, "min": "5"}).context["rows"]) == 0
    r = client.get("/routing/gaps/", {"since": "2025-05-01", "until": "2025-04-01"})
    assert 'data-testid="gaps-error"' in r.content.decode()


def test_the_change_request_form_prefills_only_what_fits(world, lists, client):
    world.login(client, "dleader")
    url = "/catalog/change-requests/new/"
    form = client.get(url, {"kind": "add", "name": "路灯维护", "reason": "多次呼叫"}).context[
        "form"
    ]
    assert (form.initial["name"], form.initial["reason"]) == ("路灯维护", "多次呼叫")
    # A modification keeps the item's own name; the reason may still be given.
    form = client.get(
        url, {"kind": "modify", "item": "D1-01", "name": "别的名称", "reason": "理由"}
    ).context["form"]
    assert form.initial["name"] != "别的名称"
    assert form.initial["reason"] == "理由"


# ---- the overview's hotspots -----------------------------------------------------------------


def _overview(world, key):
    membership = Membership.objects.select_related(
        "organisation__county", "organisation__township"
    ).get(user=world.users[key])
    return overview_build(actor=as_(world, key), membership=membership, now=NOW)


def test_the_overview_shows_the_scope_s_hotspots(world, lists, places):
    for _n in range(3):
        make(world, lists, FIRE, location=places["v1"])
        make(world, lists, FIRE, location=places["w1"], caller=world.orgs["t2"])
    county = _overview(world, "operator")
    assert county.show_hotspots
    assert {r.hotspot.region.name for r in county.hotspots} == {"王庄镇1村", "柳林镇1村"}
    row = county.hotspots[0]
    assert [pk for pk, _number in row.calls] == list(row.hotspot.call_ids[::-1])
    township = _overview(world, "tleader")
    assert [r.hotspot.region.name for r in township.hotspots] == ["王庄镇1村"]
    department = _overview(world, "dleader")
    assert not department.show_hotspots
    assert department.hotspots == []


def test_the_overview_page_lists_hotspots(world, lists, places, client):
    now = timezone.now()
    calls = [make(world, lists, FIRE, at=now - timedelta(days=d)) for d in (3, 2, 1)]
    world.login(client, "operator")
    page = client.get("/overview/").content.decode()
    assert 'data-testid="hotspot"' in page
    assert f"/calls/{calls[-1].pk}/" in page
    client.logout()
    f.MembershipFactory(
        user=world.users["reporter_t2"], organisation=world.orgs["t2"], role=Role.TOWNSHIP_LEADER
    )
    Membership.objects.filter(user=world.users["reporter_t2"], role=Role.TOWNSHIP_REPORTER).update(
        is_active=False
    )
    world.login(client, "reporter_t2")
    page = client.get("/overview/").content.decode()
    assert 'data-testid="no-hotspots"' in page
