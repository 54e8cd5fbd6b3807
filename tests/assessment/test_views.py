"""The assessment dashboards (/assessment/): who opens which page and sees what, the
figures they show (the worked example of docs/scoring.md), the period picker's errors,
"no data" instead of 0 % or 100 %, the Excel workbooks, the townships' evaluation forms,
the county's rules, and query counts that do not grow with the data."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from tests import factories as f
from tests.assessment.conftest import t
from tests.assessment.test_api import march  # noqa: F401  (fixture)
from tests.assessment.test_worked_example import example  # noqa: F401  (fixture)
from tests.calls.conftest import as_
from xianghu.assessment import dashboards, services
from xianghu.assessment.metrics import metrics_for_period
from xianghu.assessment.models import AssessmentPolicy, Grade, PeriodicEvaluation
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import policy_for
from xianghu.regions.models import Membership

MARCH = "2025-03"

PAGES = {
    "overview": "/assessment/",
    "domains": "/assessment/domains/",
    "departments": "/assessment/departments/",
    "townships": "/assessment/townships/",
    "steps": "/assessment/steps/",
    "rankings": "/assessment/rankings/",
    "evaluations": "/assessment/evaluations/",
    "policy": "/assessment/policy/",
}
DATA_PAGES = ("overview", "domains", "departments", "townships", "steps", "rankings")

# The role the user works as → the tabs it has and the subjects it sees.
COUNTY_TABS = ["overview", "domains", "departments", "townships", "steps", "rankings", "policy"]
DEPT_TABS = ["overview", "domains", "departments", "steps", "rankings", "policy"]
TOWNSHIP_TABS = ["overview", "domains", "townships", "steps", "rankings", "evaluations", "policy"]
ROLES = {
    "assessor": (COUNTY_TABS, {"dept", "police", "agency", "t1", "t2"}),
    "operator": (COUNTY_TABS, {"dept", "police", "agency", "t1", "t2"}),
    "admin": (COUNTY_TABS, {"dept", "police", "agency", "t1", "t2"}),
    "dleader": (DEPT_TABS, {"dept"}),
    "handler": (DEPT_TABS, {"dept"}),
    "police_leader": (DEPT_TABS, {"police", "agency"}),
    "agency_handler": (DEPT_TABS, {"agency"}),
    "tleader": (TOWNSHIP_TABS, {"t1"}),
}
NOBODY = ("reporter", "reporter_t2", "village_reporter", "bianban", "volunteer", "citizen")


def client_for(world, key: str | None) -> Client:
    client = Client()
    if key:
        world.login(client, key)
    return client


def names(world, keys) -> set[int]:
    return {world.orgs[k].pk for k in keys}


def shown_subjects(response) -> set[int]:
    return {
        int(pk)
        for pk in re.findall(r'data-testid="subject-row" data-subject="(\d+)"', html(response))
    }


def html(response) -> str:
    return response.content.decode()


def workbook(response):
    assert response.status_code == 200, html(response)[:500]
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert response["Content-Disposition"].startswith("attachment;")
    return load_workbook(io.BytesIO(response.content))


def sheet_rows(sheet) -> list[tuple]:
    return [tuple(c for c in row) for row in sheet.iter_rows(values_only=True)]


# ---- who opens what --------------------------------------------------------------------------


@pytest.mark.parametrize("user", sorted(ROLES))
def test_each_role_opens_its_pages_and_sees_its_subjects(world, march, user):  # noqa: F811
    tabs, visible = ROLES[user]
    client = client_for(world, user)
    for key, url in PAGES.items():
        r = client.get(url, {"period": MARCH})
        if key not in tabs:
            assert r.status_code == 403, (user, key)
            assert 'data-testid="error-message"' in html(r)
            continue
        assert r.status_code == 200, (user, key, html(r)[:800])
        assert [tab["key"] for tab in r.context["tabs"]] == tabs
        assert "北关镇" not in html(r)  # nothing of the other county
    # The subjects listed are those the role sees: departments and townships pages.
    shown: set[int] = set()
    for key in ("departments", "townships", "rankings"):
        if key in tabs:
            shown |= shown_subjects(client.get(PAGES[key], {"period": MARCH}))
    assert shown == names(world, visible)
    # Each visible subject's page opens; the others answer 404.
    for key in ("dept", "police", "agency", "t1", "t2"):
        r = client.get(f"/assessment/subjects/{world.orgs[key].pk}/", {"period": MARCH})
        assert r.status_code == (200 if key in visible else 404), (user, key)
    r = client.get(f"/assessment/subjects/{world.orgs['dept_b'].pk}/", {"period": MARCH})
    assert r.status_code == 404
    r = client.get(f"/assessment/subjects/{world.orgs['platform'].pk}/", {"period": MARCH})
    assert r.status_code == 404


@pytest.mark.parametrize("user", NOBODY)
def test_everybody_else_gets_the_friendly_403(world, user):
    client = client_for(world, user)
    for url in PAGES.values():
        r = client.get(url)
        assert r.status_code == 403, (user, url)
        assert 'data-testid="error-message"' in html(r)
    r = client.get(f"/assessment/subjects/{world.orgs['dept'].pk}/")
    assert r.status_code == 403


def test_anonymous_users_log_in_first(world):
    r = Client().get("/assessment/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]


def test_the_role_worked_as_decides_not_the_union_of_roles(world, march):  # noqa: F811
    """A department leader who is also an assessor sees the county only as assessor."""
    user = world.users["dleader"]
    assessor = f.MembershipFactory(user=user, organisation=world.orgs["office"], role="assessor")
    client = client_for(world, "dleader")
    r = client.get(PAGES["departments"], {"period": MARCH})
    assert shown_subjects(r) == names(world, {"dept"})
    assert client.post("/workbench/switch/", {"membership": assessor.pk}).status_code == 302
    r = client.get(PAGES["departments"], {"period": MARCH})
    assert r.context["ds"].kind == "county"
    assert shown_subjects(r) == names(world, {"dept", "police", "agency"})


def test_a_superuser_without_membership_chooses_the_county(world, march):  # noqa: F811
    root = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(root)
    r = client.get("/assessment/")
    assert r.status_code == 200
    assert 'data-testid="choose-county"' in html(r)
    assert f"?county={world.county.pk}" in html(r)
    r = client.get("/assessment/departments/", {"county": world.county.pk, "period": MARCH})
    assert r.status_code == 200
    assert shown_subjects(r) == names(world, {"dept", "police", "agency"})
    # The links keep the county.
    assert f"county={world.county.pk}" in r.context["query"]
    assert client.get("/assessment/", {"county": 999999}).status_code == 404
    # Working as a role without dashboards, a superuser still sees its county.
    f.MembershipFactory(user=root, organisation=world.orgs["t1"], role="township_reporter")
    r = client.get("/assessment/departments/", {"period": MARCH})
    assert r.status_code == 200
    assert r.context["ds"].county == world.county
    assert shown_subjects(r) == names(world, {"dept", "police", "agency"})


def test_the_workbench_and_the_navigation_link_the_dashboards(world):
    for user, dashboards_link, forms_link in (
        ("assessor", True, False),
        ("operator", True, False),
        ("admin", True, False),
        ("dleader", True, False),
        ("handler", True, False),
        ("tleader", True, True),
        ("reporter", False, False),
        ("bianban", False, False),
    ):
        page = html(client_for(world, user).get("/"))
        assert ('href="/assessment/"' in page) is dashboards_link, user
        assert ('data-testid="nav-assessment"' in page) is dashboards_link, user
        assert ('href="/assessment/evaluations/"' in page) is forms_link, user


# ---- the figures -----------------------------------------------------------------------------


def test_the_overview_of_the_worked_example(world, example):  # noqa: F811
    r = client_for(world, "assessor").get(PAGES["overview"], {"period": MARCH})
    data = r.context["data"]
    totals = data.totals
    # Lead episodes: 应急管理局 5, 公安局 1, 派出所 2, 王庄镇 2 (two-way); sent: 8 + 1.
    assert (totals.received, totals.calls_sent, totals.overdue) == (10, 9, 1)
    # Response 3/4 + 1/1 + 1/2 + 2/2 = 7/9; completion 3/4 + 1 + 2 + 2 = 8/9.
    assert (totals.response_rate, totals.completion_rate) == (Decimal("0.7778"), Decimal("0.8889"))
    # Evaluations: A B D D E (5, 4 worth) + C + F F2 F2 (2) + K K2 (2) = 9/11.
    assert totals.satisfaction_rate == Decimal("0.8182")
    page = html(r)
    assert 'data-figure="response_rate"><dt>' in page
    assert "77.8%" in page
    assert "88.9%" in page
    assert "81.8%" in page
    # The trend ends in March; earlier months have no data, shown as such.
    assert [p.period.key for p in data.trend][-2:] == ["2025-02", MARCH]
    february = data.trend[-2]
    assert (february.received, february.response_rate) == (0, None)
    assert 'data-period="2025-02"' in page
    row = re.search(r'data-period="2025-02">(.*?)</tr>', page, re.S)
    assert row
    assert "data-no-data" in row.group(1)
    assert "0.0%" not in row.group(1)
    # The charts' data: the same numbers, null for no data.
    rates = data.charts["rates"]
    assert rates["series"][0]["data"][-2:] == [None, 77.8]
    assert 'id="chart-rates" type="application/json"' in page


def test_the_trend_is_the_months_metrics_summed(world, example, sent, step):  # noqa: F811
    """The trend groups by month in Asia/Shanghai in the database: a month's point equals
    that month's metrics summed over the subjects."""
    # Dispatched at 00:30 on 1 April in Shanghai (16:30 UTC the day before): April.
    late = sent(t(2025, 4, 1, 0, 30))
    step("handler", late, "sign", t(2025, 4, 1, 9, 0))
    ds = dashboards.dashboard_scope(
        actor=_actor(world, "assessor"), membership=_membership(world, "assessor")
    )
    months = [Period.month(2025, 2), Period.month(2025, 3), Period.month(2025, 4)]
    policy = policy_for(world.county.pk)
    now = t(2025, 4, 15, 12, 0)
    trend = dashboards.monthly_trend(ds, months, policy=policy, now=now)
    for point, month in zip(trend, months, strict=True):
        summed = dashboards.totals_of(
            metrics_for_period(county=world.county, period=month, times=False, now=now), policy
        )
        assert (
            point.received,
            point.calls_sent,
            point.response_rate,
            point.completion_rate,
            point.satisfaction_rate,
            point.overdue,
        ) == (
            summed.received,
            summed.calls_sent,
            summed.response_rate,
            summed.completion_rate,
            summed.satisfaction_rate,
            summed.overdue,
        ), month.key
    assert (trend[2].received, trend[2].calls_sent) == (1, 1)


def _membership(world, key):
    return Membership.objects.select_related("organisation__county").get(user=world.users[key])


def _actor(world, key):
    return as_(world, key)


def test_departments_townships_and_rankings_of_the_worked_example(world, example):  # noqa: F811
    client = client_for(world, "assessor")
    o = world.orgs
    r = client.get(PAGES["departments"], {"period": MARCH})
    rows = {row.score.subject_id: row for row in r.context["data"].departments}
    assert (rows[o["dept"].pk].entry.rank, rows[o["dept"].pk].score.score) == (1, Decimal("76.83"))
    assert rows[o["police"].pk].entry.status == "too_few_calls"
    [agency] = r.context["data"].agencies
    assert (agency.score.score, agency.entry.status) == (Decimal("84.43"), "too_few_calls")
    assert "76.83" in html(r)
    assert escape(_("not ranked: too few calls")) in html(r)

    r = client.get(PAGES["townships"], {"period": MARCH})
    grid = r.context["data"].grid
    assert [row.score.subject_name for row in grid] == ["王庄镇人民政府", "柳林镇人民政府"]
    assert [(row.score.score, row.band) for row in grid] == [
        (Decimal("79.29"), "c"),
        (Decimal("100.00"), "a"),
    ]
    assert 'data-testid="township-tile"' in html(r)

    r = client.get(PAGES["rankings"], {"period": MARCH})
    blocks = {b.kind: b for b in r.context["data"]}
    assert [row.entry.score.subject_id for row in blocks["department"].red_list] == [o["dept"].pk]
    assert blocks["department"].ranking.min_volume == 5
    # February had no call: its rank is "no data" for everybody.
    assert {row.previous.status for row in blocks["department"].rows} == {"no_data"}
    page = html(r)
    assert page.count('data-testid="ranking-rule"') == 3
    assert 'data-testid="red-list"' in page
    assert 'data-testid="black-list"' in page


def test_ties_share_a_rank_and_the_previous_period_compares(world, sent, step):
    """Two departments with the same score share rank 1; the next period shows the
    earlier rank and the places gained or lost."""
    o = world.orgs
    services.assessment_policy_set(
        actor=as_(world, "assessor"), county=world.county, values={"min_volume": 1}
    )

    def handled(lead: str, user: str, when, *, late: bool = False):
        # Outside the list: the platform may give it to either department.
        call = sent(when, lead=lead, code=None)
        step(user, call, "sign", when.replace(hour=when.hour + (3 if late else 0), minute=30))
        step(user, call, "respond", when.replace(hour=when.hour + 4), mode="contact")
        step(user, call, "complete", when.replace(day=when.day + 1), result="已处置")
        step(
            "reporter",
            call,
            "evaluate",
            when.replace(day=when.day + 1, hour=17),
            evaluation="satisfied",
            resolved="yes",
        )
        return call

    # February: both on time → 100 and 100: a tie at rank 1.
    handled("dept", "handler", t(2025, 2, 4, 9, 0))
    handled("police", "police_leader", t(2025, 2, 5, 9, 0))
    # March: 应急管理局 signs late → 公安局 1st, 应急管理局 2nd.
    handled("dept", "handler", t(2025, 3, 4, 9, 0), late=True)
    handled("police", "police_leader", t(2025, 3, 5, 9, 0))
    client = client_for(world, "assessor")
    r = client.get(PAGES["rankings"], {"period": "2025-02"})
    [block] = [b for b in r.context["data"] if b.kind == "department"]
    assert [(row.entry.score.subject_id, row.entry.rank) for row in block.rows] == [
        (o["police"].pk, 1),  # equal scores are listed by name: 公安局 before 应急管理局
        (o["dept"].pk, 1),
    ]
    r = client.get(PAGES["rankings"], {"period": MARCH})
    [block] = [b for b in r.context["data"] if b.kind == "department"]
    movement = {
        row.entry.score.subject_id: (row.entry.rank, row.previous.rank, row.movement)
        for row in block.rows
    }
    assert movement == {o["police"].pk: (1, 1, 0), o["dept"].pk: (2, 1, -1)}
    assert "↓1" in html(r)


def test_domains_steps_and_the_subject_page(world, example):  # noqa: F811
    client = client_for(world, "assessor")
    o = world.orgs
    r = client.get(PAGES["domains"], {"period": MARCH})
    data = r.context["data"]
    domains = {g.code: (g.received, g.overdue) for g in data.domains}
    assert domains == {"D1": (6, 1), "D7": (2, 0), "": (2, 0)}
    items = {g.code: g for g in data.items}
    assert items["D1-01"].satisfaction_rate == Decimal("0.8571")  # 6 of 7
    assert items["QH-01"].response_rate == Decimal("0.5000")

    # Step times of 应急管理局 (its leader's view): signs 1800, 9000, 1800, 1200 s.
    r = client_for(world, "dleader").get(PAGES["steps"], {"period": MARCH})
    sign = r.context["data"].summaries[0]
    assert (sign.key, sign.count, sign.average_seconds) == ("sign", 4, 3450)
    assert sign.bins[:4] == [1, 2, 0, 1]  # <30 min, 30 min–1 h, 1–2 h, 2–4 h
    assert [m.subject_id for m in r.context["data"].subjects] == [o["dept"].pk]
    for summary in r.context["data"].summaries:
        assert sum(summary.bins) == summary.count

    r = client.get(f"/assessment/subjects/{o['dept'].pk}/", {"period": MARCH})
    page_data = r.context["data"]
    assert page_data.score.score == Decimal("76.83")
    assert [p.period.key for p in page_data.history][-1] == MARCH
    assert len(page_data.history) == 12
    assert page_data.losses.total == Decimal("23.17")
    page = html(r)
    call_d = example.calls["D"]
    assert f'href="/calls/{call_d.pk}/" data-testid="loss-call"' in page
    assert page.count('data-testid="loss-row"') == len(page_data.losses.items) == 7
    trend = page_data.charts["trend"]
    assert trend["series"][0]["data"][-1] == 76.83
    assert trend["series"][0]["data"][0] is None  # no data, not 0


# ---- periods and no data -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"period": ""}, "assessment.period_required"),
        ({"period": "  "}, "assessment.period_required"),
        ({"period": "2025-13"}, "assessment.period_invalid"),
        ({"period": "2025-02-30"}, "assessment.period_invalid"),
        ({"period": "soon"}, "assessment.period_invalid"),
        ({"period": "2025-03-15..2025-03-01"}, "assessment.period_reversed"),
        ({"period": "2099-01"}, "assessment.period_future"),
        ({"period": "2099"}, "assessment.period_future"),
        ({"kind": "range", "start": "2025-03-01", "end": ""}, "assessment.period_required"),
        (
            {"kind": "range", "start": "2025-03-10", "end": "2025-03-01"},
            "assessment.period_reversed",
        ),
        ({"kind": "month", "month": ""}, "assessment.period_required"),
        ({"kind": "quarter", "quarter_year": "", "quarter": "1"}, "assessment.period_required"),
        ({"kind": "year", "year": ""}, "assessment.period_required"),
        ({"kind": "week"}, "assessment.period_invalid"),
    ],
)
def test_bad_periods_are_refused_with_a_clear_error(world, params, code):
    client = client_for(world, "assessor")
    for key in DATA_PAGES:
        r = client.get(PAGES[key], params)
        assert r.status_code == 400, (key, params)
        page = html(r)
        assert f'data-testid="period-error" data-code="{code}"' in page, key
        assert r.context["period"] is None
        assert "data-chart " not in page
        assert "data-figure=" not in page
        # The Excel download is refused too.
        assert client.get(PAGES[key], {**params, "format": "xlsx"}).status_code == 400
    r = client.get(f"/assessment/subjects/{world.orgs['dept'].pk}/", params)
    assert r.status_code == 400


def test_the_picker_builds_each_kind_of_period(world, march):  # noqa: F811
    client = client_for(world, "assessor")
    for params, key in (
        ({"kind": "month", "month": "2025-03"}, "2025-03"),
        ({"kind": "quarter", "quarter_year": "2025", "quarter": "1"}, "2025-Q1"),
        ({"kind": "year", "year": "2025"}, "2025"),
        ({"kind": "range", "start": "2025-03-01", "end": "2025-03-15"}, "2025-03-01..2025-03-15"),
    ):
        r = client.get(PAGES["overview"], params)
        assert r.status_code == 200, params
        assert r.context["period"].key == key
        assert r.context["picker"].kind == params["kind"]
        assert r.context["data"].totals.received == 1
    # Without a period: the current month (the call of March is not in it).
    r = client.get(PAGES["overview"])
    assert r.context["period"].kind == "month"
    assert r.context["data"].totals.received == 0


def test_subjects_without_calls_show_no_data_never_0_or_100_percent(world, march):  # noqa: F811
    client = client_for(world, "assessor")
    # January: nothing happened at all.
    r = client.get(PAGES["overview"], {"period": "2025-01"})
    t_ = r.context["data"].totals
    assert (t_.response_rate, t_.completion_rate, t_.satisfaction_rate) == (None, None, None)
    figures = re.search(r'data-testid="overview-figures">(.*?)</dl>', html(r), re.S).group(1)
    for key in ("response_rate", "completion_rate", "satisfaction_rate"):
        cell = re.search(rf'data-figure="{key}">(.*?)</div>', figures, re.S).group(1)
        assert "data-no-data" in cell, key
        assert "%" not in cell, key
    # March: 应急管理局 handled its one call; 公安局 had none.
    r = client.get(PAGES["departments"], {"period": MARCH})
    page = html(r)
    row = re.search(
        rf'data-subject="{world.orgs["police"].pk}" data-status="no_data">(.*?)</tr>', page, re.S
    ).group(1)
    for col in ("sign_rate", "response_rate", "completion_rate", "satisfaction_rate", "score"):
        cell = re.search(rf'data-col="{col}">(.*?)</td>', row, re.S).group(1)
        assert "data-no-data" in cell, col
        assert "0.0%" not in cell, col
        assert "100" not in cell, col
    assert escape(_("no data")) in page
    # The same in the Excel workbook.
    book = workbook(client.get(PAGES["departments"], {"period": MARCH, "format": "xlsx"}))
    rows = sheet_rows(book.worksheets[0])
    [police] = [row for row in rows if row[1] == "清河县公安局"]
    assert police[0] == police[4] == police[-1] == _("no data")
    [dept] = [row for row in rows if row[1] == "清河县应急管理局"]
    assert dept[4] == 100.0  # its one call: on time
    # A subject page without any call in the period.
    r = client.get(f"/assessment/subjects/{world.orgs['police'].pk}/", {"period": MARCH})
    assert r.context["data"].score.score is None
    assert 'data-testid="no-losses"' in html(r)


# ---- Excel -----------------------------------------------------------------------------------


def test_every_page_downloads_its_tables_as_excel(world, example):  # noqa: F811
    client = client_for(world, "assessor")
    kinds = [_("County departments"), _("Stationed agencies"), _("Townships")]
    expected = {
        "overview": ([_("Figures"), _("Trend")], _("Response rate (%)")),
        "domains": ([_("By domain"), _("By list item")], "工矿商贸企业安全生产监管"),
        "departments": (kinds[:2], "清河县应急管理局"),
        "townships": (kinds[2:], "王庄镇人民政府"),
        "steps": ([_("Distribution"), _("By organisation")], "清河县应急管理局"),
        "rankings": (kinds, "清河县应急管理局"),
    }
    for key, (sheets, text) in expected.items():
        r = client.get(PAGES[key], {"period": MARCH, "format": "xlsx"})
        book = workbook(r)
        assert book.sheetnames == [name[:31] for name in sheets], key
        cells = [c for s in book.worksheets for row in sheet_rows(s) for c in row]
        assert text in cells, key
        assert f"{key}-{MARCH}.xlsx" in r["Content-Disposition"]
    # The figures are the page's.
    book = workbook(client.get(PAGES["departments"], {"period": MARCH, "format": "xlsx"}))
    [dept] = [row for row in sheet_rows(book.worksheets[0]) if row[1] == "清河县应急管理局"]
    assert (dept[0], dept[2], dept[4], dept[-1]) == (1, 5, 75.0, 76.83)
    book = workbook(client.get(PAGES["overview"], {"period": MARCH, "format": "xlsx"}))
    trend = sheet_rows(book[_("Trend")])
    assert trend[-1][:4] == (MARCH, 10, 9, 77.8)
    book = workbook(client.get(PAGES["rankings"], {"period": MARCH, "format": "xlsx"}))
    rows = sheet_rows(book[_("County departments")])
    assert rows[2][:4] == (1, "清河县应急管理局", 76.83, 5)
    # The subject page: its trend, its score and where it lost points, with call numbers.
    o = world.orgs
    book = workbook(
        client.get(f"/assessment/subjects/{o['dept'].pk}/", {"period": MARCH, "format": "xlsx"})
    )
    assert book.sheetnames == [_("Trend"), _("Score"), _("Points lost")]
    losses = sheet_rows(book[_("Points lost")])[2:]
    assert len(losses) == 7
    assert losses[0][0] == 8.0
    assert losses[0][3] == example.calls["D"].number
    # The rules.
    book = workbook(client.get(PAGES["policy"], {"format": "xlsx"}))
    rules = sheet_rows(book.worksheets[0])
    label = str(AssessmentPolicy._meta.get_field("weight_response").verbose_name)
    assert (label, "30", "30") in rules


def test_a_department_leader_exports_only_its_rows(world, example):  # noqa: F811
    client = client_for(world, "police_leader")
    book = workbook(client.get(PAGES["departments"], {"period": MARCH, "format": "xlsx"}))
    names_ = {row[1] for s in book.worksheets for row in sheet_rows(s)[2:]}
    assert names_ == {"清河县公安局", "清河县公安局王庄镇派出所"}
    book = workbook(client.get(PAGES["rankings"], {"period": MARCH, "format": "xlsx"}))
    names_ = {row[1] for s in book.worksheets for row in sheet_rows(s)[2:]}
    assert "清河县应急管理局" not in names_


# ---- query counts ------------------------------------------------------------------------------


def _count(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url, params)
    assert r.status_code == 200
    return len(ctx.captured_queries)


LIMITS = {
    "overview": 20,
    "domains": 12,
    "departments": 16,
    "townships": 14,
    "steps": 17,
    "rankings": 34,
}


def test_the_number_of_queries_does_not_grow_with_the_data(
    world,
    example,  # noqa: F811
    sent,
    step,
    django_assert_max_num_queries,
):
    client = client_for(world, "assessor")
    params = {"period": MARCH}
    before = {}
    for key, limit in LIMITS.items():
        with django_assert_max_num_queries(limit):
            r = client.get(PAGES[key], params)
        assert r.status_code == 200
        before[key] = _count(client, PAGES[key], params)
    subject_url = f"/assessment/subjects/{world.orgs['dept'].pk}/"
    # Twelve periods of history, a ranking each (five queries), and the losses.
    with django_assert_max_num_queries(70):
        client.get(subject_url, params)
    before["subject"] = _count(client, subject_url, params)
    # Twelve more calls, of two more departments.
    extra = [f.department(world.county, f"第{n}局") for n in range(2)]
    for n in range(12):
        call = sent(t(2025, 3, 3 + n, 9, 0))
        step("handler", call, "sign", t(2025, 3, 3 + n, 9, 30))
    assert extra
    for key in LIMITS:
        assert _count(client, PAGES[key], params) == before[key], key
    assert _count(client, subject_url, params) == before["subject"]


# ---- the townships' evaluation forms ------------------------------------------------------------


def test_a_township_leader_fills_in_the_forms(world, march):  # noqa: F811
    client = client_for(world, "tleader")
    o = world.orgs
    url = PAGES["evaluations"]
    r = client.get(url, {"period": MARCH})
    assert r.status_code == 200
    listed = [row["subject"].pk for row in r.context["rows"]]
    assert set(listed) == {o["dept"].pk, o["police"].pk, o["agency"].pk}
    # A score.
    r = client.post(
        f"{url}?period={MARCH}", {"subject": o["dept"].pk, "score": "88.5", "comment": "响应及时"}
    )
    assert r.status_code == 302
    form = PeriodicEvaluation.objects.get(subject=o["dept"])
    assert (form.score, form.period_key, form.township_id, form.comment) == (
        Decimal("88.50"),
        MARCH,
        o["t1"].pk,
        "响应及时",
    )
    # A grade replaces it.
    r = client.post(f"{url}?period={MARCH}", {"subject": o["dept"].pk, "grade": "good"})
    assert r.status_code == 302
    form.refresh_from_db()
    assert (form.score, form.grade) == (Decimal("85.00"), "good")
    # A quarter.
    r = client.post(f"{url}?period=2025-Q1", {"subject": o["agency"].pk, "score": "70"})
    assert r.status_code == 302
    assert PeriodicEvaluation.objects.get(subject=o["agency"]).period_key == "2025-Q1"
    # Bad input, kept on the card, nothing written.
    for data, field in (
        ({"score": "101"}, "score"),
        ({"score": "80", "grade": "good"}, "score"),
        ({"score": ""}, "score"),
        ({"grade": "superb"}, "grade"),
        ({"score": "80", "comment": "很" * 1001}, "comment"),
    ):
        r = client.post(f"{url}?period={MARCH}", {"subject": o["police"].pk, **data})
        assert r.status_code == 400, data
        [row] = [row for row in r.context["rows"] if row["subject"].pk == o["police"].pk]
        assert field in row["errors"], data
        assert f'data-testid="error-{field}"' in html(r)
    assert not PeriodicEvaluation.objects.filter(subject=o["police"]).exists()
    # A range of days, or a period not begun: refused.
    r = client.get(url, {"period": "2025-03-01..2025-03-15"})
    assert r.status_code == 400
    assert r.context["picker"].code == "assessment.form_period"
    r = client.post(f"{url}?period=2099-01", {"subject": o["police"].pk, "score": "80"})
    assert r.status_code == 400
    # Another county's department is not a subject.
    r = client.post(f"{url}?period={MARCH}", {"subject": o["dept_b"].pk, "score": "80"})
    assert r.status_code == 400
    # The page shows what was given, and the workbook lists it.
    r = client.get(url, {"period": MARCH})
    assert r.context["filled"] == 1
    assert 'data-testid="form-current"' in html(r)
    book = workbook(client.get(url, {"period": MARCH, "format": "xlsx"}))
    rows = sheet_rows(book.worksheets[0])
    assert rows[2][:4] == ("清河县应急管理局", MARCH, 85.0, str(Grade.GOOD.label))
    # The form feeds the score: the townships' evaluation of 应急管理局 in March.
    r = client_for(world, "assessor").get(
        f"/assessment/subjects/{o['dept'].pk}/", {"period": MARCH}
    )
    assert r.context["data"].score.township_evaluation == Decimal("92.50")  # ½ × 100 + ½ × 85


@pytest.mark.parametrize("user", ["dleader", "assessor", "reporter", "operator"])
def test_only_township_leaders_fill_in_forms(world, user):
    client = client_for(world, user)
    assert client.get(PAGES["evaluations"]).status_code == 403
    r = client.post(PAGES["evaluations"], {"subject": world.orgs["dept"].pk, "score": "80"})
    assert r.status_code == 403
    assert not PeriodicEvaluation.objects.exists()


# ---- the county's rules -----------------------------------------------------------------------


def _policy_post(**changes):
    data = {
        "weight_response": "30",
        "weight_completion": "35",
        "weight_satisfaction": "35",
        "weight_valid_calls": "40",
        "weight_cooperation": "30",
        "weight_township_satisfaction": "30",
        "w_basic": "1",
        "count_default_evaluations": "on",
        "penalty_red_card": "2",
        "penalty_refused_return": "1",
        "penalty_redo": "1",
        "township_share_department": "1/3",
        "township_share_agency": "3/5",
        "form_share": "1/2",
        "min_volume": "5",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("user", ["assessor", "admin"])
def test_the_county_changes_its_rules(world, march, user):  # noqa: F811
    client = client_for(world, user)
    r = client.get(PAGES["policy"])
    assert r.status_code == 200
    assert r.context["may_edit"]
    assert 'data-testid="save-policy"' in html(r)
    r = client.post(
        PAGES["policy"],
        _policy_post(
            weight_response="40",
            weight_completion="25",
            township_share_department="40%",
            min_volume="1",
            count_default_evaluations=None,
        ),
    )
    assert r.status_code == 302
    row = AssessmentPolicy.objects.get(county=world.county)
    assert (row.weight_response, row.weight_completion, row.township_share_department) == (
        Decimal("40"),
        Decimal("25"),
        "0.4",
    )
    assert (row.min_volume, row.count_default_evaluations) == (1, False)
    # The rankings follow: with one call 应急管理局 is now ranked.
    r = client.get(PAGES["rankings"], {"period": MARCH})
    [block] = [b for b in r.context["data"] if b.kind == "department"]
    assert block.rows[0].entry.rank == 1
    # Back to the defaults.
    r = client.post(PAGES["policy"], {"reset": "1"})
    assert r.status_code == 302
    assert not AssessmentPolicy.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"weight_response": "40"}, "weights", "110"),
        ({"weight_valid_calls": "10"}, "township_weights", "70"),
        ({"township_share_agency": "1/2"}, "township_share_agency", "60"),
        ({"w_basic": "1.5"}, "w_basic", ""),
        ({"penalty_red_card": "abc"}, "penalty_red_card", ""),
        ({"min_volume": "-1"}, "min_volume", ""),
        ({"form_share": ""}, "form_share", ""),
    ],
)
def test_wrong_rules_are_refused_with_clear_errors(world, changes, field, words):
    client = client_for(world, "assessor")
    r = client.post(PAGES["policy"], _policy_post(**changes))
    assert r.status_code == 400
    page = html(r)
    error = re.search(rf'data-testid="error-{field}">(.*?)</p>', page, re.S)
    assert error
    assert error.group(1).strip()
    assert words in error.group(1)
    assert not AssessmentPolicy.objects.exists()
    # What was typed stays in the form.
    [value] = list(changes.values())
    if value:
        assert f'value="{value}"' in page


@pytest.mark.parametrize("user", ["dleader", "handler", "tleader", "operator"])
def test_others_read_the_rules_but_do_not_change_them(world, user):
    client = client_for(world, user)
    r = client.get(PAGES["policy"])
    assert r.status_code == 200
    assert not r.context["may_edit"]
    assert 'data-testid="policy-readonly"' in html(r)
    assert 'data-testid="save-policy"' not in html(r)
    r = client.post(PAGES["policy"], _policy_post(weight_response="40", weight_completion="25"))
    assert r.status_code == 403
    assert not AssessmentPolicy.objects.exists()
