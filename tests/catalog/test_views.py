"""The list pages (清单): public list and items, versions and diffs, the 编办's workbench,
filing change requests and admissions, one's duties.

Labels of these pages are English msgids until the translations are compiled, so the
tests assert on data (codes, names, limits) and on `data-testid` attributes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.catalog.conftest import spec
from xianghu.catalog import guard, selectors, services
from xianghu.catalog.models import (
    Admission,
    ChangeKind,
    ChangeRequest,
    DecisionStatus,
)
from xianghu.regions.selectors import actor_for_user


def as_(world, key):
    return actor_for_user(user=world.users[key])


def html_of(response) -> str:
    return response.content.decode()


def codes_in(html: str) -> list[str]:
    return re.findall(r'data-testid="item-row" data-code="([^"]+)"', html)


def file_modify(world, lists, *, proposal=None, reason="企业隐患整改周期缩短"):
    return services.change_request_file(
        actor=as_(world, "handler"),
        organisation=world.orgs["dept"],
        version=selectors.version_in_force(catalogue=lists.catalogue),
        kind=ChangeKind.MODIFY,
        item_code="D1-01",
        proposal=proposal or {"complete_limit": "3wd"},
        reason=reason,
    )


def file_admission(world):
    today = timezone.localdate()
    return services.admission_file(
        actor=as_(world, "handler"),
        department=world.orgs["dept"],
        title="汛期隐患排查",
        content="组织村（社区）排查低洼地带隐患",
        basis="县防指通知",
        townships=[world.orgs["t1"]],
        starts_on=today,
        ends_on=today + timedelta(days=30),
    )


def post_data(form) -> dict[str, Any]:
    """A filing form's fields as the browser would post them (initial values)."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


# ---- the public list -----------------------------------------------------------------


def test_public_list_works_anonymously(client, lists):
    r = client.get("/catalog/")
    assert r.status_code == 200
    html = html_of(r)
    assert codes_in(html) == ["D1-01", "D1-04-1", "D1-04-2", "D2-09", "QH-01"]
    assert "工矿商贸企业安全生产监管" in html
    assert "清河县属地管理事项清单" in html
    assert 'data-testid="version-in-force" data-version="1"' in html
    # Limits as the official tables write them.
    assert "24小时" in html
    assert "5个工作日" in html
    assert "30分钟" in html
    # Origin badges of a derived list.
    assert 'data-origin="local"' in html
    assert 'data-origin="split"' in html
    assert 'data-origin="inherited"' in html
    # The primary party: the department, or the township for a township item.
    assert "应急管理局" in html
    assert f'href="/catalog/{lists.catalogue.pk}/versions/"' in html
    assert f'href="/catalog/versions/{lists.version.pk}/derivation/"' in html


def test_public_list_search_and_domain_filter(client, lists):
    assert codes_in(html_of(client.get("/catalog/", {"q": "烟花"}))) == ["D1-04-1", "D1-04-2"]
    assert codes_in(html_of(client.get("/catalog/", {"q": "隐患"}))) == ["D1-01"]
    assert codes_in(html_of(client.get("/catalog/", {"q": "qh-01"}))) == ["QH-01"]
    assert codes_in(html_of(client.get("/catalog/", {"domain": "D2"}))) == ["D2-09"]
    assert codes_in(html_of(client.get("/catalog/", {"domain": "D1", "q": "经营"}))) == ["D1-04-2"]
    # An unknown domain shows everything rather than nothing.
    assert len(codes_in(html_of(client.get("/catalog/", {"domain": "ZZ"})))) == 5


def test_public_list_live_search_returns_only_the_rows(client, lists):
    r = client.get("/catalog/", {"q": "秸秆"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="item-rows")
    html = html_of(r)
    assert "<html" not in html
    assert codes_in(html) == ["D2-09"]
    assert 'data-testid="item-count"' in html


def test_public_list_without_any_list(client, world):
    r = client.get("/catalog/")
    assert r.status_code == 200
    assert 'data-testid="no-list"' in html_of(r)


def test_public_list_chooses_the_county(client, lists, world):
    """Two counties with a list: the first by default, the user's own when logged in,
    any one by choice."""
    from xianghu.catalog.models import ScopeLevel

    other = services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=world.other_county, name="柳河县清单"
    )
    v = services.version_create_draft(
        catalogue=other, specs=[spec("LH-01", "柳河事项", primary=())], title="柳河县清单第1版"
    )
    services.version_publish(version=v)
    # 371221 (清河县) sorts before 371222 (柳河县).
    assert "D1-01" in codes_in(html_of(client.get("/catalog/")))
    assert codes_in(html_of(client.get("/catalog/", {"county": "371222"}))) == ["LH-01"]
    world.login(client, "operator_b")
    assert codes_in(html_of(client.get("/catalog/"))) == ["LH-01"]


def test_public_list_queries_are_bounded(client, lists, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert client.get("/catalog/", {"q": "烟花"}).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get("/catalog/").status_code == 200


def test_public_list_queries_do_not_grow_with_items(client, world, django_assert_max_num_queries):
    from xianghu.catalog.models import ScopeLevel

    catalogue = services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=world.county, name="清河县清单"
    )
    specs = [
        spec(f"X-{n:02d}", f"事项{n}", domain=(f"D{n % 5}", f"领域{n % 5}"), assisting=("公安局",))
        for n in range(40)
    ]
    services.version_publish(
        version=services.version_create_draft(catalogue=catalogue, specs=specs, title="大清单")
    )
    with django_assert_max_num_queries(4):
        r = client.get("/catalog/")
    assert len(codes_in(html_of(r))) == 40


# ---- items --------------------------------------------------------------------------


def test_item_page_shows_duties_parties_and_the_procedure_flow(client, lists):
    r = client.get(f"/catalog/versions/{lists.version.pk}/items/D1-04-2/")
    assert r.status_code == 200
    html = html_of(r)
    assert "烟花爆竹非法经营储存" in html
    assert 'data-testid="procedure-flow"' in html
    assert html.count('data-testid="flow-step"') == 2
    assert "乡镇巡查发现并报告" in html
    assert "乡镇呼叫：问题移交县级平台" in html  # the hand-off on the connector
    assert "办结反馈乡镇" in html
    assert "执法检查、行政处罚" in html  # primary duties
    assert "日常巡查、发现报告、配合检查" in html  # the township's cooperating duties
    assert "公安局" in html  # the assisting department
    assert "30分钟" in html
    assert "3个工作日" in html
    # It derives from a guidance item, which is public too.
    guidance_url = f"/catalog/versions/{lists.guidance.pk}/items/D1-04/"
    assert guidance_url in html
    assert client.get(guidance_url).status_code == 200
    assert 'data-testid="not-in-force"' not in html


def test_township_item_names_the_township_primary(client, lists):
    html = html_of(client.get(f"/catalog/versions/{lists.version.pk}/items/D2-09/"))
    assert "网格巡查、劝阻、处置" in html
    assert 'data-testid="primary-party">应急管理局' not in html


def test_unknown_item_is_404(client, lists):
    assert client.get(f"/catalog/versions/{lists.version.pk}/items/NOPE/").status_code == 404
    assert client.get("/catalog/versions/999999/items/D1-01/").status_code == 404


@pytest.fixture
def draft(lists):
    return services.version_derive(
        catalogue=lists.catalogue,
        guidance=lists.guidance,
        title="清河县清单（第2版草案）",
        local=[spec("QH-09", "草案中的本地事项", primary=("公安局",))],
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 404), ("handler", 404), ("operator_b", 404), ("bianban", 200), ("admin", 200)],
)
def test_draft_items_only_for_the_bianban(client, world, draft, who, status):
    if who:
        world.login(client, who)
    assert client.get(f"/catalog/versions/{draft.pk}/items/QH-09/").status_code == status
    assert client.get(f"/catalog/versions/{draft.pk}/").status_code == status


def test_superseded_version_is_public_and_says_so(client, lists, world):
    cr = file_modify(world, lists)
    services.change_request_decide(
        actor=as_(world, "bianban"), request=cr, approve=True, opinion="同意"
    )
    r = client.get(f"/catalog/versions/{lists.version.pk}/items/D1-01/")
    assert r.status_code == 200
    assert 'data-testid="not-in-force"' in html_of(r)


# ---- versions, diff, derivation ---------------------------------------------------------


def test_versions_page_hides_drafts_from_the_public(client, world, lists, draft):
    url = f"/catalog/{lists.catalogue.pk}/versions/"
    html = html_of(client.get(url))
    assert 'data-testid="version-row" data-number="1"' in html
    assert 'data-number="2"' not in html
    assert 'data-testid="list-actions"' in html  # where "导出 Excel" goes later
    world.login(client, "bianban")
    html = html_of(client.get(url))
    assert 'data-number="2"' in html
    assert 'data-status="draft"' in html


def test_derivation_page(client, lists):
    r = client.get(f"/catalog/versions/{lists.version.pk}/derivation/")
    assert r.status_code == 200
    html = html_of(r)
    assert 'data-testid="removed-row" data-code="D7-04"' in html
    assert "本县无田野文物，纳入其他事项管理" in html
    assert 'data-testid="split-row" data-code="D1-04-1"' in html
    assert "烟花爆竹非法生产经营" in html  # the guidance item that was split
    assert "水库周边违规垂钓游泳" in html  # the local addition
    assert 'data-testid="n-inherited">2<' in html


def test_diff_of_unknown_or_draft_versions_is_404(client, lists, draft):
    assert client.get("/catalog/diff/").status_code == 404
    assert client.get("/catalog/diff/", {"old": "x", "new": lists.version.pk}).status_code == 404
    assert (
        client.get("/catalog/diff/", {"old": lists.version.pk, "new": draft.pk}).status_code == 404
    )


# ---- the walk: file through the form, approve through the review page -------------------


def test_file_a_change_through_the_form_and_approve_it(client, world, lists):
    world.login(client, "handler")
    r = client.get("/catalog/change-requests/new/")
    assert r.status_code == 200
    assert r.context["form"] is None
    r = client.get("/catalog/change-requests/new/", {"kind": "modify", "item": "D1-01"})
    form = r.context["form"]
    assert form.initial["complete_limit"] == "5个工作日"
    assert form.initial["primary_departments"] == ["应急管理局"]
    data = post_data(form)
    data.update(
        kind="modify",
        item="D1-01",
        complete_limit="3个工作日",
        reason="企业隐患整改周期缩短",
        legal_basis="《安全生产法》第六十五条",
    )
    r = client.post("/catalog/change-requests/new/", data)
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    change = ChangeRequest.objects.get()
    assert r["Location"] == f"/catalog/change-requests/{change.pk}/"
    assert (change.kind, change.item_code, change.proposal) == (
        "modify",
        "D1-01",
        {"complete_limit": "3wd"},
    )
    # The filer sees the request, current → proposed, but no decision form.
    html = html_of(client.get(r["Location"]))
    assert "5个工作日" in html
    assert "3个工作日" in html
    assert 'data-testid="decision-form"' not in html
    assert client.post(r["Location"], {"decision": "approve", "opinion": "x"}).status_code == 403

    world.login(client, "bianban")
    html = html_of(client.get("/catalog/review/"))
    assert f'data-testid="change-row" data-pk="{change.pk}"' in html
    html = html_of(client.get(f"/catalog/change-requests/{change.pk}/"))
    assert 'data-testid="decision-form"' in html
    r = client.post(
        f"/catalog/change-requests/{change.pk}/",
        {"decision": "approve", "opinion": "同意，按新时限执行"},
    )
    assert r.status_code == 302
    change.refresh_from_db()
    assert change.status == DecisionStatus.APPROVED
    new = change.result_version
    assert selectors.version_in_force(catalogue=lists.catalogue) == new
    html = html_of(client.get(r["Location"]))
    diff_url = f"/catalog/diff/?old={lists.version.pk}&amp;new={new.pk}"
    assert diff_url in html
    assert f'href="/catalog/versions/{new.pk}/"' in html

    # The public sees the new version in force and the diff shows the change.
    client.logout()
    html = html_of(client.get("/catalog/"))
    assert f'data-version="{new.number}"' in html
    r = client.get("/catalog/diff/", {"old": lists.version.pk, "new": new.pk})
    html = html_of(r)
    assert 'data-testid="diff-item" data-code="D1-01"' in html
    assert 'data-field="complete_limit"' in html
    change_row = html.split('data-field="complete_limit"')[1].split("</tr>")[0]
    assert "5个工作日" in change_row
    assert "3个工作日" in change_row
    assert 'data-testid="n-added">0<' in html
    # The versions page links the change from v1.
    html = html_of(client.get(f"/catalog/{lists.catalogue.pk}/versions/"))
    assert f"?old={lists.version.pk}&amp;new={new.pk}" in html


def test_rejection_shows_the_opinion_on_my_requests(client, world, lists):
    change = file_modify(world, lists)
    world.login(client, "bianban")
    r = client.post(
        f"/catalog/change-requests/{change.pk}/",
        {"decision": "reject", "opinion": "理由不充分，请补充依据"},
    )
    assert r.status_code == 302
    world.login(client, "handler")
    html = html_of(client.get("/catalog/my-requests/"))
    assert f'data-testid="change-row" data-pk="{change.pk}"' in html
    assert 'data-status="rejected"' in html
    assert "理由不充分，请补充依据" in html
    assert selectors.version_in_force(catalogue=lists.catalogue) == lists.version


def test_a_second_decision_shows_a_clear_error(client, world, lists):
    change = file_modify(world, lists)
    world.login(client, "bianban")
    url = f"/catalog/change-requests/{change.pk}/"
    assert client.post(url, {"decision": "reject", "opinion": "否"}).status_code == 302
    r = client.post(url, {"decision": "approve", "opinion": "是"})
    assert r.status_code == 409
    html = html_of(r)
    assert 'data-testid="decision-error"' in html
    assert 'data-testid="decision-form"' not in html
    change.refresh_from_db()
    assert (change.status, change.opinion) == (DecisionStatus.REJECTED, "否")


def test_a_decision_needs_an_opinion(client, world, lists):
    change = file_modify(world, lists)
    world.login(client, "bianban")
    r = client.post(f"/catalog/change-requests/{change.pk}/", {"decision": "approve"})
    assert r.status_code == 200
    assert 'data-testid="error-opinion"' in html_of(r)
    change.refresh_from_db()
    assert change.status == DecisionStatus.PENDING


def test_filing_errors_are_shown_next_to_the_fields(client, world, lists):
    world.login(client, "handler")
    form = client.get("/catalog/change-requests/new/", {"kind": "modify", "item": "D1-01"}).context[
        "form"
    ]
    data = {**post_data(form), "kind": "modify", "item": "D1-01", "reason": "x"}
    # Nothing changes.
    r = client.post("/catalog/change-requests/new/", data)
    assert r.status_code == 200
    assert 'data-testid="form-error"' in html_of(r)
    # A limit that cannot be read (5天 is ambiguous), and no reason.
    r = client.post(
        "/catalog/change-requests/new/", {**data, "complete_limit": "5天", "reason": ""}
    )
    html = html_of(r)
    assert 'data-testid="error-complete_limit"' in html
    assert 'data-testid="error-reason"' in html
    # A county item without a primary department.
    r = client.post(
        "/catalog/change-requests/new/", {**data, "primary_departments": [], "name": "新名称"}
    )
    assert 'data-testid="error-primary_departments"' in html_of(r)
    # Modify without choosing an item.
    r = client.get("/catalog/change-requests/new/", {"kind": "modify"})
    assert r.context["form"] is None
    assert 'data-testid="error-item"' in html_of(r)
    assert not ChangeRequest.objects.exists()


def test_removal_through_the_form(client, world, lists):
    world.login(client, "tleader")
    r = client.post(
        "/catalog/change-requests/new/",
        {"kind": "remove", "item": "QH-01", "reason": "水库已移交市级管理"},
    )
    assert r.status_code == 302
    change = ChangeRequest.objects.get()
    assert (change.kind, change.item_code, change.filed_by_org) == (
        "remove",
        "QH-01",
        world.orgs["t1"],
    )
    assert "水库周边违规垂钓游泳" in html_of(client.get(r["Location"]))


def test_addition_through_the_form(client, world, lists):
    pytest.importorskip("xianghu.catalog.io")  # the default procedure of new items
    world.login(client, "handler")
    form = client.get("/catalog/change-requests/new/", {"kind": "add"}).context["form"]
    data = {
        **post_data(form),
        "kind": "add",
        "code": "QH-02",
        "name": "农村自建房经营安全",
        "domain": "__new__",
        "new_domain_code": "D8",
        "new_domain_name": "农村住房安全",
        "primary_level": "county",
        "primary_departments": ["应急管理局"],
        "assisting_departments": ["公安局"],
        "primary_duties": "排查整治、执法",
        "respond_limit": "24小时",
        "complete_limit": "10个工作日",
        "reason": "新增本地事项",
    }
    r = client.post("/catalog/change-requests/new/", data)
    assert r.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.proposal["domain_code"] == "D8"
    assert change.proposal["assisting_departments"] == ["公安局"]
    world.login(client, "bianban")
    client.post(r["Location"], {"decision": "approve", "opinion": "同意"})
    new = selectors.version_in_force(catalogue=lists.catalogue)
    html = html_of(client.get(f"/catalog/diff/?old={lists.version.pk}&new={new.pk}"))
    assert 'data-testid="diff-added"' in html
    assert "农村自建房经营安全" in html


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("handler", 200),
        ("dleader", 200),
        ("reporter", 200),
        ("tleader", 200),
        ("operator", 403),
        ("bianban", 403),
        ("village_reporter", 403),
        ("volunteer", 403),
        ("citizen", 403),
    ],
)
def test_who_may_file_a_change(client, world, lists, who, status):
    world.login(client, who)
    assert client.get("/catalog/change-requests/new/").status_code == status


def test_filing_without_a_list_in_force(client, world):
    world.login(client, "handler")
    r = client.get("/catalog/change-requests/new/")
    assert r.status_code == 200
    assert 'data-testid="no-list"' in html_of(r)


# ---- admissions ---------------------------------------------------------------------------


def test_admission_filed_and_approved_through_the_pages(client, world, lists):
    world.login(client, "handler")
    assert client.get("/catalog/admissions/new/").status_code == 200
    today = timezone.localdate()
    r = client.post(
        "/catalog/admissions/new/",
        {
            "title": "汛期隐患排查",
            "content": "组织村（社区）排查低洼地带隐患",
            "basis": "县防指〔2026〕3号通知",
            "resources": "每乡镇工作经费2万元",
            "townships": [world.orgs["t1"].pk, world.orgs["t2"].pk],
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=60)).isoformat(),
        },
    )
    assert r.status_code == 302
    admission = Admission.objects.get()
    assert set(admission.townships.all()) == {world.orgs["t1"], world.orgs["t2"]}
    assert guard.admission_for(department=world.orgs["dept"], township=world.orgs["t1"]) is None
    # Pending, it hands the townships nothing: they do not see it.
    world.login(client, "reporter")
    assert client.get(f"/catalog/admissions/{admission.pk}/").status_code == 404

    world.login(client, "bianban")
    html = html_of(client.get("/catalog/review/"))
    assert f'data-testid="admission-row" data-pk="{admission.pk}"' in html
    r = client.post(
        f"/catalog/admissions/{admission.pk}/",
        {"decision": "approve", "opinion": "同意，经费随事转移"},
    )
    assert r.status_code == 302
    admission.refresh_from_db()
    assert admission.status == DecisionStatus.APPROVED
    assert (
        guard.admission_for(department=world.orgs["dept"], township=world.orgs["t1"]) == admission
    )
    world.login(client, "handler")
    html = html_of(client.get("/catalog/my-requests/"))
    assert "同意，经费随事转移" in html
    # The target township sees the admission that reaches it.
    world.login(client, "reporter")
    assert client.get(f"/catalog/admissions/{admission.pk}/").status_code == 200


def test_admission_errors_are_shown_next_to_the_fields(client, world, lists):
    world.login(client, "handler")
    today = timezone.localdate()
    r = client.post(
        "/catalog/admissions/new/",
        {
            "title": "",
            "content": "x",
            "basis": "y",
            "townships": [world.orgs["tb"].pk],  # another county's township
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert r.status_code == 200
    html = html_of(r)
    for name in ("title", "townships", "ends_on"):
        assert f'data-testid="error-{name}"' in html, name
    assert not Admission.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("handler", 200),
        ("dleader", 200),
        ("reporter", 403),
        ("agency_handler", 403),
        ("bianban", 403),
    ],
)
def test_who_may_request_an_admission(client, world, lists, who, status):
    world.login(client, who)
    assert client.get("/catalog/admissions/new/").status_code == status


def test_second_admission_decision_is_refused(client, world, lists):
    admission = file_admission(world)
    world.login(client, "bianban")
    url = f"/catalog/admissions/{admission.pk}/"
    assert client.post(url, {"decision": "reject", "opinion": "不属于准入范围"}).status_code == 302
    r = client.post(url, {"decision": "approve", "opinion": "同意"})
    assert r.status_code == 409
    assert 'data-testid="decision-error"' in html_of(r)


# ---- the 编办's workbench ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("bianban", 200),
        ("admin", 200),
        ("reporter", 403),
        ("handler", 403),
        ("operator", 403),
        ("citizen", 403),
    ],
)
def test_review_page_is_for_the_bianban(client, world, lists, who, status):
    world.login(client, who)
    assert client.get("/catalog/review/").status_code == status


def test_review_page_needs_a_login(client, lists):
    r = client.get("/catalog/review/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_other_countys_requests_are_404(client, world, lists):
    change = file_modify(world, lists)
    admission = file_admission(world)
    for who in ("operator_b", "reporter_t2", "police_leader"):
        world.login(client, who)
        assert client.get(f"/catalog/change-requests/{change.pk}/").status_code == 404, who
        assert client.get(f"/catalog/admissions/{admission.pk}/").status_code == 404, who


def test_review_page_queries_are_bounded(client, world, lists, django_assert_max_num_queries):
    for n in range(6):
        file_modify(world, lists, proposal={"complete_limit": f"{n + 1}wd"}, reason=f"r{n}")
        file_admission(world)
    decided = file_modify(world, lists)
    services.change_request_decide(
        actor=as_(world, "bianban"), request=decided, approve=False, opinion="否"
    )
    world.login(client, "bianban")
    # session, user, actor, working membership, session touch (3): 7; the page: 5.
    with django_assert_max_num_queries(12):
        r = client.get("/catalog/review/")
    html = html_of(r)
    assert html.count('data-testid="change-row"') == 7
    assert html.count('data-testid="admission-row"') == 6


# ---- duties -------------------------------------------------------------------------------------


def test_my_duties_for_a_department_and_a_township(client, world, lists):
    world.login(client, "handler")
    r = client.get("/catalog/duties/")
    assert r.status_code == 200
    primary = [i.item.code for i in r.context["primary"]]
    cooperating = [i.item.code for i in r.context["cooperating"]]
    assert primary == ["D1-01", "D1-04-1", "D1-04-2"]
    assert cooperating == ["D2-09"]
    assert f'href="/catalog/versions/{lists.version.pk}/items/D1-01/"' in html_of(r)
    world.login(client, "tleader")
    r = client.get("/catalog/duties/")
    assert [i.item.code for i in r.context["primary"]] == ["D2-09"]
    assert "D1-01" in [i.item.code for i in r.context["cooperating"]]


def admission(world, title, *, townships=("t1",), days=(0, 30), decide=True):
    today = timezone.localdate()
    filed = services.admission_file(
        actor=as_(world, "handler"),
        department=world.orgs["dept"],
        title=title,
        content=f"{title}的内容",
        basis="县防指通知",
        resources="经费随事转移",
        townships=[world.orgs[t] for t in townships],
        starts_on=today + timedelta(days=days[0]),
        ends_on=today + timedelta(days=days[1]),
    )
    if decide is not None:
        services.admission_decide(
            actor=as_(world, "bianban"), admission=filed, approve=decide, opinion="意见"
        )
    return filed


def test_my_duties_lists_a_townships_admitted_tasks_for_their_period(client, world, lists):
    current = admission(world, "汛期隐患排查", townships=("t1", "t2"))
    admission(world, "待审任务", decide=None)
    admission(world, "被驳回任务", decide=False)
    admission(world, "已过期任务", days=(-30, -1))
    admission(world, "未开始任务", days=(1, 30))
    only_t2 = admission(world, "柳林镇任务", townships=("t2",))
    today = timezone.localdate()

    world.login(client, "reporter")
    r = client.get("/catalog/duties/")
    assert r.context["admitted"] == [current]
    html = html_of(r)
    assert 'data-testid="duties-admitted"' in html
    assert html.count('data-testid="admitted-row"') == 1
    assert "汛期隐患排查" in html
    assert "经费随事转移" in html
    period = f"{today.isoformat()} – {(today + timedelta(days=30)).isoformat()}"
    assert period in html
    assert f'href="/catalog/admissions/{current.pk}/"' in html
    assert client.get(f"/catalog/admissions/{current.pk}/").status_code == 200
    # The list's own duties are still there.
    assert [i.item.code for i in r.context["primary"]] == ["D2-09"]
    # A village works under its township's admitted tasks.
    world.login(client, "village_reporter")
    r = client.get("/catalog/duties/")
    assert r.context["admitted"] == [current]
    assert client.get(f"/catalog/admissions/{current.pk}/").status_code == 200
    assert client.get(f"/catalog/admissions/{only_t2.pk}/").status_code == 404
    world.login(client, "reporter_t2")
    assert client.get("/catalog/duties/").context["admitted"] == [current, only_t2]
    # A department's page has no such section: the tasks are the townships'.
    world.login(client, "handler")
    assert 'data-testid="duties-admitted"' not in html_of(client.get("/catalog/duties/"))


def test_a_township_sees_only_approved_admissions(client, world, lists):
    approved = admission(world, "已批准")
    pending = admission(world, "待审", decide=None)
    rejected = admission(world, "被驳回", decide=False)
    reporter = as_(world, "reporter")
    from xianghu.core import access

    visible = access.visible(reporter, Admission.objects.all())
    assert list(visible) == [approved]
    for hidden in (pending, rejected):
        assert not access.can(reporter, "view", hidden)
    # The department that filed them sees all three; another township none.
    assert access.visible(as_(world, "handler"), Admission.objects.all()).count() == 3
    assert not access.visible(as_(world, "reporter_b"), Admission.objects.all()).exists()


def test_my_duties_needs_a_login(client, lists):
    assert client.get("/catalog/duties/").status_code == 302


# ---- the workbench panels ------------------------------------------------------------------------


def test_workbench_panels_for_the_lists(client, world, lists):
    file_modify(world, lists)
    file_admission(world)
    world.login(client, "bianban")
    r = client.get("/")
    panel = next(p for p in r.context["panels"] if p.key == "catalog_review")
    assert [v for _label, v in panel.figures] == [1, 1]
    assert "/catalog/review/" in html_of(r)
    world.login(client, "handler")
    r = client.get("/")
    panel = next(p for p in r.context["panels"] if p.key == "duties")
    assert [v for _label, v in panel.figures] == [3, 1]
    assert "/catalog/duties/" in html_of(r)
    world.login(client, "reporter")
    keys = {p.key for p in client.get("/").context["panels"]}
    assert "duties" in keys


def test_nav_links_the_lists_for_everyone(client, world, lists):
    assert 'data-testid="nav-lists"' in html_of(client.get("/catalog/"))
    world.login(client, "reporter")
    html = html_of(client.get("/"))
    assert html.index('data-testid="nav-lists"') < html.index('href="/orgs/"')
