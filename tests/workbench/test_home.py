"""Each role's workbench (工作台) shows that role's work and data."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.mark.parametrize(
    ("user", "role_label", "panels", "must_show"),
    [
        (
            "reporter",
            "乡镇呼叫员",
            {"role", "township", "agencies", "calls"},
            ["本乡镇：王庄镇人民政府", "派出所"],
        ),
        ("tleader", "乡镇领导", {"role", "township", "agencies", "calls"}, ["审核本乡镇"]),
        (
            "operator",
            "平台受理员",
            {"role", "county", "calls"},
            ["全县概况：清河县", "柳林镇人民政府"],
        ),
        ("handler", "部门承办人", {"role", "department", "calls"}, ["本单位：清河县应急管理局"]),
        ("dleader", "部门领导", {"role", "department", "calls"}, ["统筹本部门"]),
        ("police_leader", "部门领导", {"role", "department", "calls"}, ["王庄镇"]),
        ("bianban", "编办审核员", {"role", "county"}, ["清单调整"]),
        ("assessor", "考核员", {"role", "county"}, ["响应率"]),
        ("admin", "系统管理员", {"role", "admin"}, ["后台管理", "API 文档"]),
        ("volunteer", "公众用户", {"role", "public"}, ["单位名录"]),
        ("citizen", "公众用户", {"role", "public"}, ["单位名录"]),
    ],
)
def test_each_role_sees_its_workbench(world, client, user, role_label, panels, must_show):
    world.login(client, user)
    r = client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert role_label in html
    assert {p.key for p in r.context["panels"]} == panels | {"cogovernance"}
    for text in must_show:
        assert text in html, text
    # Nothing of the other county leaks into any workbench.
    assert "柳河县" not in html
    assert "北关镇" not in html


def test_workbench_queries_are_bounded(world, client, django_assert_max_num_queries):
    world.login(client, "operator")
    for n in range(3, 30):
        f.township_gov(f.township(world.county, n))
    with django_assert_max_num_queries(14):
        assert client.get("/").status_code == 200


def test_switching_between_memberships(world, client):
    user = world.users["operator"]
    f.MembershipFactory(user=user, organisation=world.orgs["office"], role="assessor")
    world.login(client, "operator")
    assert "平台受理员" in client.get("/").content.decode()
    m = user.memberships.get(role="assessor")
    r = client.post("/workbench/switch/", {"membership": m.pk})
    assert r.status_code == 302
    html = client.get("/").content.decode()
    assert 'data-testid="current-role">考核员' in html


def test_cannot_switch_to_someone_elses_membership(world, client):
    world.login(client, "operator")
    other = world.users["reporter"].memberships.get()
    r = client.post("/workbench/switch/", {"membership": other.pk})
    assert r.status_code == 404


def test_anonymous_is_sent_to_login(db, client):
    r = client.get("/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_english_is_available(world, client):
    world.login(client, "operator")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert "Workbench" in html
    assert "Platform operator" in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "工作台" in client.get("/").content.decode()


def test_the_calls_panel_counts_and_links(world, client, lists, django_assert_max_num_queries):
    from xianghu.calls import services
    from xianghu.calls.services import CallDraft
    from xianghu.regions.selectors import actor_for_user

    def actor(key):
        return actor_for_user(user=world.users[key])

    draft = CallDraft(title="待受理", description="描述", location=world.t1)
    waiting, _ = services.call_create(actor=actor("reporter"), caller=world.orgs["t1"], draft=draft)
    services.call_transition(actor=actor("reporter"), call=waiting, action="submit")
    services.call_transition(actor=actor("tleader"), call=waiting, action="approve")
    services.call_create(
        actor=actor("reporter"),
        caller=world.orgs["t1"],
        draft=CallDraft(title="草稿", description="描述", location=world.t1),
    )
    world.login(client, "operator")
    with django_assert_max_num_queries(14):
        r = client.get("/")
    [panel] = [p for p in r.context["panels"] if p.key == "calls"]
    assert [v for _label, v in panel.figures] == [1, 0, 0]
    assert "/calls/?tab=to_accept" in r.content.decode()
    client.logout()
    world.login(client, "reporter")
    [panel] = [p for p in client.get("/").context["panels"] if p.key == "calls"]
    assert [v for _label, v in panel.figures] == [1, 1, 0]


@pytest.mark.parametrize(
    ("user", "links", "not_links"),
    [
        (
            "citizen",
            ["/participation/report/", "/participation/mine/"],
            ["/participation/moderation/"],
        ),
        ("volunteer", ["/participation/registry/mine/", "/participation/resources/offers/"], []),
        (
            "reporter",
            ["/participation/moderation/", "/participation/registry/"],
            ["/participation/mine/"],
        ),
        (
            "operator",
            ["/participation/resources/offers/", "/participation/organisations/pending/"],
            [],
        ),
        ("admin", ["/participation/moderation/audit/"], ["/participation/moderation/"]),
    ],
)
def test_the_cogovernance_panel_links_what_the_role_works_with(
    world, client, user, links, not_links
):
    world.login(client, user)
    [panel] = [p for p in client.get("/").context["panels"] if p.key == "cogovernance"]
    urls = {row.url for row in panel.rows}
    assert "/participation/resources/board/" in urls
    for url in links:
        assert url in urls, url
    for url in not_links:
        assert url not in urls, url
