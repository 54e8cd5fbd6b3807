"""Stationed agencies (派驻机构): who sees an agency's page, the head consultation
(proposal → the host township's opinion → the parent department's decision) with its
refusals, the funds arrangement, the pages, and the figures with the host township's
evaluation at the county's weight (docs/agencies.md)."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from tests import factories as f
from tests.assessment.conftest import calendar  # noqa: F401  (fixture)
from tests.calls.conftest import as_
from xianghu.assessment.services import assessment_policy_set
from xianghu.core import access
from xianghu.core.actor import ANONYMOUS
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.regions import agencies
from xianghu.regions.agency_access import (
    may_propose,
    may_see_agencies,
    may_see_agency,
    may_set_funds,
)
from xianghu.regions.models import AgencyFunds, HeadConsultation
from xianghu.regions.roles import Role
from xianghu.regions.selectors import actor_for_user

# The world's agency is 公安局王庄镇派出所: department 公安局 (police_leader), host 王庄镇
# (t1: tleader, reporter), county A; its own member agency_handler.
SEES_AGENCY = {
    "agency_handler",  # its own member
    "police_leader",  # the parent department's leader
    "tleader",  # the host township's leader
    "reporter",  # the host township's reporter
    "operator",  # the platform centre
    "admin",  # the platform centre's system administrator
    "assessor",  # the 两办
}
WORLD_USERS = (
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
)


@pytest.fixture
def agency(world):
    return world.orgs["agency"]


@pytest.fixture
def agency_b(world):
    """An agency of the other county (柳河县), hosted by 北关镇."""
    return f.stationed_agency(world.orgs["dept_b"], world.orgs["tb"].township, "应急管理所")


def propose(world, agency, key="police_leader", **kw):
    data = {
        "kind": "appointment",
        "person_name": "张建国",
        "position": "所长",
        "proposal": "原所长调任，拟任命张建国同志为所长。",
    }
    data.update(kw)
    return agencies.consultation_propose(actor=as_(world, key), agency=agency, **data)


def opine(world, c, key="tleader", opinion="agree", text=""):
    return agencies.consultation_opine(
        actor=as_(world, key), consultation=c, opinion=opinion, text=text
    )


def decide(world, c, key="police_leader", decision="approved", text=""):
    return agencies.consultation_decide(
        actor=as_(world, key), consultation=c, decision=decision, text=text
    )


# ---- who sees ----------------------------------------------------------------------------


def test_world_users_are_all_covered(world):
    assert set(WORLD_USERS) == set(world.users)


@pytest.mark.parametrize("user", WORLD_USERS)
def test_who_sees_the_agency_page(world, agency, agency_b, user):
    """The page, the check, the list and the consultation's policy agree; another
    county's agency is not found by anyone of county A, and the reverse."""
    actor = as_(world, user)
    sees = user in SEES_AGENCY
    assert may_see_agency(actor, agency) is sees
    client = world.login(Client(), user)
    assert client.get(f"/orgs/agencies/{agency.pk}/").status_code == (200 if sees else 404)
    listed = set(agencies.agency_list(actor=actor).values_list("pk", flat=True))
    assert (agency.pk in listed) is sees
    # Only county B's platform and the host township (北关镇) see county B's agency.
    sees_b = user in {"operator_b", "reporter_b"}
    assert may_see_agency(actor, agency_b) is sees_b
    assert client.get(f"/orgs/agencies/{agency_b.pk}/").status_code == (200 if sees_b else 404)


def test_a_non_agency_is_not_an_agency_page(world):
    client = world.login(Client(), "operator")
    assert client.get(f"/orgs/agencies/{world.orgs['police'].pk}/").status_code == 404
    assert client.get("/orgs/agencies/999999/").status_code == 404


def test_the_list_is_not_found_for_those_who_see_no_agency(world, agency):
    assert not may_see_agencies(as_(world, "bianban"))
    assert not may_see_agencies(ANONYMOUS)
    assert world.login(Client(), "bianban").get("/orgs/agencies/").status_code == 404
    assert world.login(Client(), "citizen").get("/orgs/agencies/").status_code == 404
    anonymous = Client().get("/orgs/agencies/")
    assert anonymous.status_code == 302  # to the login page


def test_superuser_sees_every_agency(world, agency, agency_b):
    boss = f.UserFactory(username="root", is_superuser=True)
    actor = actor_for_user(user=boss)
    assert may_see_agency(actor, agency)
    assert may_see_agency(actor, agency_b)
    # ... but is no party to the consultation or the funds.
    assert not may_propose(actor, agency)
    assert not may_set_funds(actor, agency)


@pytest.mark.parametrize("user", [*WORLD_USERS, "anonymous"])
def test_policies_scope_and_check_agree(world, agency, agency_b, user):
    c = propose(world, agency)
    propose(world, agency, kind="removal", person_name="李卫东", proposal="到龄退休。")
    agencies.agency_funds_set(actor=None, agency=agency, managed_by_township=True)
    agencies.agency_funds_set(actor=None, agency=agency_b, managed_by_township=False)
    actor = ANONYMOUS if user == "anonymous" else as_(world, user)
    for model, actions in (
        (HeadConsultation, ("view", "opine", "decide", "delete")),
        (AgencyFunds, ("view", "change", "delete")),
    ):
        objects = list(model._default_manager.all())
        assert objects
        for action in actions:
            scope = set(
                access.visible(actor, model._default_manager.all(), action).values_list(
                    "pk", flat=True
                )
            )
            for obj in objects:
                assert access.can(actor, action, obj) == (obj.pk in scope), (action, obj)
    assert access.can(actor, "view", c) is (user in SEES_AGENCY)
    assert access.can(actor, "opine", c) is (user == "tleader")
    assert access.can(actor, "decide", c) is (user == "police_leader")


# ---- the consultation ------------------------------------------------------------------------


def test_proposal_opinion_and_decision_are_recorded(world, agency):
    c = propose(world, agency)
    assert c.is_open
    assert not c.opinion
    assert not c.decision
    assert c.proposed_by_organisation == world.orgs["police"]
    assert c.proposed_by == world.users["police_leader"]
    c = opine(world, c, opinion="reservations", text="该同志熟悉辖区，但群众工作经验不足。")
    assert c.opinion == "reservations"
    assert c.opinion_organisation == world.orgs["t1"]
    assert c.opinion_by == world.users["tleader"]
    assert c.opinion_at is not None
    c = decide(world, c, text="已安排其到乡镇综治中心跟班学习。")
    c.refresh_from_db()
    assert c.decision == "approved"
    assert not c.is_open
    assert c.decided_by == world.users["police_leader"]
    assert c.decision_text == "已安排其到乡镇综治中心跟班学习。"


def test_a_consultation_decided_twice_is_refused(world, agency):
    c = decide(world, opine(world, propose(world, agency)))
    with pytest.raises(Conflict) as err:
        decide(world, c, decision="rejected", text="改变主意。")
    assert err.value.code == "regions.consultation_decided"
    c.refresh_from_db()
    assert c.decision == "approved"
    assert c.decision_text == ""
    # Also from a stale copy read before the first decision (two open tabs): the row is
    # read again under a lock.
    stale = opine(world, propose(world, agency, person_name="王强"))
    decide(world, HeadConsultation.objects.get(pk=stale.pk))
    assert stale.is_open
    with pytest.raises(Conflict) as err:
        decide(world, stale, decision="withdrawn", text="撤回。")
    assert err.value.code == "regions.consultation_decided"
    stale.refresh_from_db()
    assert stale.decision == "approved"


def test_deciding_before_the_townships_opinion_is_refused(world, agency):
    c = propose(world, agency)
    with pytest.raises(Conflict) as err:
        decide(world, c)
    assert err.value.code == "regions.opinion_missing"
    with pytest.raises(Conflict):
        decide(world, c, decision="withdrawn", text="撤回。")
    c.refresh_from_db()
    assert c.is_open


def test_the_database_refuses_a_decision_without_opinion(world, agency):
    c = propose(world, agency)
    with pytest.raises(IntegrityError), transaction.atomic():
        HeadConsultation.objects.filter(pk=c.pk).update(
            decision="approved", decided_at=timezone.now()
        )


def test_the_opinion_is_given_once(world, agency):
    c = opine(world, propose(world, agency))
    with pytest.raises(Conflict) as err:
        opine(world, c, opinion="disagree", text="反对。")
    assert err.value.code == "regions.opinion_given"
    c.refresh_from_db()
    assert c.opinion == "agree"


@pytest.mark.parametrize(
    ("key", "error", "code"),
    [
        ("tleader", PermissionDenied, "regions.propose_forbidden"),
        ("reporter", PermissionDenied, "regions.propose_forbidden"),
        ("agency_handler", PermissionDenied, "regions.propose_forbidden"),
        ("assessor", PermissionDenied, "regions.propose_forbidden"),
        ("dleader", NotFound, "not_found"),  # another department: not even visible
        ("operator_b", NotFound, "not_found"),  # another county
    ],
)
def test_only_the_parent_department_leader_proposes(world, agency, key, error, code):
    with pytest.raises(error) as err:
        propose(world, agency, key=key)
    assert err.value.code == code
    assert not HeadConsultation.objects.exists()


@pytest.mark.parametrize(
    ("key", "error", "code"),
    [
        ("police_leader", PermissionDenied, "regions.opinion_forbidden"),
        ("reporter", PermissionDenied, "regions.opinion_forbidden"),
        ("assessor", PermissionDenied, "regions.opinion_forbidden"),
        ("reporter_t2", NotFound, "not_found"),
        ("operator_b", NotFound, "not_found"),
    ],
)
def test_only_the_host_township_leader_gives_the_opinion(world, agency, key, error, code):
    c = propose(world, agency)
    with pytest.raises(error) as err:
        opine(world, c, key=key)
    assert err.value.code == code
    c.refresh_from_db()
    assert not c.opinion


def test_a_leader_of_another_township_cannot_give_the_opinion(world, agency):
    other = f.UserFactory(username="tleader_t2")
    f.MembershipFactory(user=other, organisation=world.orgs["t2"], role=Role.TOWNSHIP_LEADER)
    world.users["tleader_t2"] = other
    c = propose(world, agency)
    with pytest.raises(NotFound):
        opine(world, c, key="tleader_t2")


@pytest.mark.parametrize(
    ("key", "error", "code"),
    [
        ("tleader", PermissionDenied, "regions.decision_forbidden"),
        ("assessor", PermissionDenied, "regions.decision_forbidden"),
        ("agency_handler", PermissionDenied, "regions.decision_forbidden"),
        ("dleader", NotFound, "not_found"),
    ],
)
def test_only_the_parent_department_leader_decides(world, agency, key, error, code):
    c = opine(world, propose(world, agency))
    with pytest.raises(error) as err:
        decide(world, c, key=key)
    assert err.value.code == code


def test_bad_proposals_are_refused_field_by_field(world, agency):
    with pytest.raises(InvalidInput) as err:
        propose(world, agency, kind="promotion", person_name=" ", proposal="", position="x" * 65)
    assert err.value.code == "regions.consultation_invalid"
    assert {p["field"] for p in err.value.detail} == {"kind", "person_name", "proposal", "position"}
    with pytest.raises(InvalidInput):
        propose(world, agency, person_name="张" * 65)
    with pytest.raises(InvalidInput):
        propose(world, agency, proposal="理" * 2001)
    assert not HeadConsultation.objects.exists()


def test_one_open_consultation_per_kind(world, agency):
    first = propose(world, agency)
    with pytest.raises(Conflict) as err:
        propose(world, agency, person_name="王强")
    assert err.value.code == "regions.consultation_open"
    # A removal may run beside the appointment; once decided, a new appointment may start.
    propose(world, agency, kind="removal", person_name="李卫东", proposal="到龄退休。")
    decide(
        world,
        opine(world, first, opinion="disagree", text="人选不合适。"),
        decision="withdrawn",
        text="另行推荐人选。",
    )
    second = propose(world, agency, person_name="王强")
    assert second.is_open


def test_an_inactive_agency_takes_no_proposal(world, agency):
    agency.is_active = False
    agency.save()
    with pytest.raises(Conflict) as err:
        propose(world, agency)
    assert err.value.code == "regions.agency_inactive"


@pytest.mark.parametrize(
    ("opinion", "text", "code"),
    [
        ("maybe", "", "regions.consultation_invalid"),
        ("", "", "regions.consultation_invalid"),
        ("disagree", "", "regions.reason_required"),
        ("reservations", "  ", "regions.reason_required"),
        ("agree", "意" * 2001, "regions.consultation_invalid"),
    ],
)
def test_bad_opinions_are_refused(world, agency, opinion, text, code):
    c = propose(world, agency)
    with pytest.raises(InvalidInput) as err:
        opine(world, c, opinion=opinion, text=text)
    assert err.value.code == code
    c.refresh_from_db()
    assert not c.opinion


@pytest.mark.parametrize(
    ("opinion", "decision", "text", "code"),
    [
        ("agree", "postponed", "", "regions.consultation_invalid"),
        ("agree", "rejected", "", "regions.reason_required"),
        ("agree", "withdrawn", "", "regions.reason_required"),
        ("disagree", "approved", "", "regions.reason_required"),
        ("reservations", "approved", "", "regions.reason_required"),
    ],
)
def test_decisions_that_need_reasons(world, agency, opinion, decision, text, code):
    c = opine(
        world, propose(world, agency), opinion=opinion, text="" if opinion == "agree" else "理由。"
    )
    with pytest.raises(InvalidInput) as err:
        decide(world, c, decision=decision, text=text)
    assert err.value.code == code
    c.refresh_from_db()
    assert c.is_open


def test_approving_after_agreement_needs_no_reason(world, agency):
    c = decide(world, opine(world, propose(world, agency)))
    assert c.decision == "approved"
    assert c.decision_text == ""


# ---- the funds arrangement ---------------------------------------------------------------------


def test_the_county_office_sets_the_funds_arrangement(world, agency):
    funds = agencies.agency_funds_set(
        actor=as_(world, "assessor"),
        agency=agency,
        managed_by_township=True,
        note="日常办公经费由王庄镇财政所代管。",
    )
    assert funds.managed_by_township
    assert funds.updated_by == world.users["assessor"]
    again = agencies.agency_funds_set(
        actor=as_(world, "assessor"), agency=agency, managed_by_township=False, note=""
    )
    assert again.pk == funds.pk
    assert not again.managed_by_township
    assert AgencyFunds.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "error", "code"),
    [
        ("tleader", PermissionDenied, "regions.funds_forbidden"),
        ("police_leader", PermissionDenied, "regions.funds_forbidden"),
        ("operator", PermissionDenied, "regions.funds_forbidden"),
        ("admin", PermissionDenied, "regions.funds_forbidden"),
        ("bianban", NotFound, "not_found"),
        ("operator_b", NotFound, "not_found"),
    ],
)
def test_only_the_county_office_sets_the_funds(world, agency, key, error, code):
    with pytest.raises(error) as err:
        agencies.agency_funds_set(actor=as_(world, key), agency=agency, managed_by_township=True)
    assert err.value.code == code
    assert not AgencyFunds.objects.exists()


def test_the_other_countys_office_cannot_set_the_funds(world, agency_b):
    with pytest.raises(NotFound):
        agencies.agency_funds_set(
            actor=as_(world, "assessor"), agency=agency_b, managed_by_township=True
        )


def test_bad_funds_input_is_refused(world, agency):
    with pytest.raises(InvalidInput) as err:
        agencies.agency_funds_set(
            actor=as_(world, "assessor"), agency=agency, managed_by_township=True, note="注" * 501
        )
    assert err.value.code == "regions.funds_invalid"
    with pytest.raises(InvalidInput) as err:
        agencies.agency_funds_set(actor=None, agency=world.orgs["police"], managed_by_township=True)
    assert err.value.code == "regions.not_an_agency"


# ---- the pages ------------------------------------------------------------------------------------


def test_the_pages_carry_the_whole_consultation(world, agency):
    leader = world.login(Client(), "police_leader")
    url = f"/orgs/agencies/{agency.pk}/"
    page = leader.get(url)
    assert b'data-testid="proposal-form"' in page.content
    assert b'data-testid="funds-form"' not in page.content
    # A bad proposal comes back on its form (400), nothing recorded.
    bad = leader.post(f"{url}consultations/", {"proposal-kind": "appointment"})
    assert bad.status_code == 400
    assert b'data-testid="error-person_name"' in bad.content
    assert not HeadConsultation.objects.exists()
    done = leader.post(
        f"{url}consultations/",
        {
            "proposal-kind": "appointment",
            "proposal-person_name": "张建国",
            "proposal-position": "所长",
            "proposal-proposal": "拟任命张建国同志为所长。",
        },
    )
    c = HeadConsultation.objects.get()
    assert done.status_code == 302
    assert done["Location"].endswith(f"#consultation-{c.pk}")
    # The decision cannot be taken yet: no form, and a forged post is refused (409 → message).
    assert b'data-testid="decision-form"' not in leader.get(url).content
    early = leader.post(
        f"/orgs/agencies/consultations/{c.pk}/decision/", {f"decision-{c.pk}-decision": "approved"}
    )
    assert early.status_code == 302
    c.refresh_from_db()
    assert c.is_open

    township = world.login(Client(), "tleader")
    page = township.get(url)
    assert b'data-testid="opinion-form"' in page.content
    assert b'data-testid="proposal-form"' not in page.content
    missing = township.post(
        f"/orgs/agencies/consultations/{c.pk}/opinion/", {f"opinion-{c.pk}-opinion": "disagree"}
    )
    assert missing.status_code == 400
    assert b'data-testid="error-opinion_text"' in missing.content
    township.post(
        f"/orgs/agencies/consultations/{c.pk}/opinion/",
        {f"opinion-{c.pk}-opinion": "agree", f"opinion-{c.pk}-opinion_text": "同意。"},
    )
    assert b'data-testid="opinion-form"' not in township.get(url).content
    # The reporter of the host township sees, cannot act (403).
    reporter = world.login(Client(), "reporter")
    assert reporter.get(url).status_code == 200
    assert (
        reporter.post(
            f"/orgs/agencies/consultations/{c.pk}/decision/",
            {f"decision-{c.pk}-decision": "approved"},
        ).status_code
        == 403
    )
    leader.post(
        f"/orgs/agencies/consultations/{c.pk}/decision/", {f"decision-{c.pk}-decision": "approved"}
    )
    c.refresh_from_db()
    assert c.decision == "approved"
    twice = leader.post(
        f"/orgs/agencies/consultations/{c.pk}/decision/",
        {f"decision-{c.pk}-decision": "rejected", f"decision-{c.pk}-decision_text": "否决。"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "This consultation has already been decided." in twice.content.decode()
    c.refresh_from_db()
    assert c.decision == "approved"
    shown = Client(HTTP_ACCEPT_LANGUAGE="en")
    world.login(shown, "assessor")
    text = shown.get(url).content.decode()
    assert "张建国" in text
    assert "Approved" in text
    assert "同意。" in text


def test_outsiders_cannot_post_to_a_consultation(world, agency):
    c = propose(world, agency)
    for key in ("operator_b", "reporter_t2", "bianban"):
        client = world.login(Client(), key)
        assert (
            client.post(
                f"/orgs/agencies/consultations/{c.pk}/opinion/",
                {f"opinion-{c.pk}-opinion": "agree"},
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"/orgs/agencies/{agency.pk}/funds/", {"funds-managed_by_township": "on"}
            ).status_code
            == 404
        )
    c.refresh_from_db()
    assert not c.opinion


def test_the_funds_form_of_the_county_office(world, agency):
    client = world.login(Client(HTTP_ACCEPT_LANGUAGE="en"), "assessor")
    url = f"/orgs/agencies/{agency.pk}/"
    assert b'data-testid="funds-form"' in client.get(url).content
    client.post(
        f"{url}funds/", {"funds-managed_by_township": "on", "funds-note": "由王庄镇财政所代管"}
    )
    funds = AgencyFunds.objects.get(agency=agency)
    assert funds.managed_by_township
    assert funds.note == "由王庄镇财政所代管"
    page = world.login(Client(HTTP_ACCEPT_LANGUAGE="en"), "reporter").get(url).content.decode()
    assert 'data-managed="yes"' in page
    assert "由王庄镇财政所代管" in page
    assert 'data-testid="funds-form"' not in page
    bad = client.post(f"{url}funds/", {"funds-note": "注" * 501})
    assert bad.status_code == 400
    assert b'data-testid="error-note"' in bad.content
    # The tleader's forged post: 403.
    assert (
        world.login(Client(), "tleader").post(f"{url}funds/", {"funds-note": "x"}).status_code
        == 403
    )


def test_the_list_filters_by_township_and_department(world, agency, django_assert_max_num_queries):
    other = f.stationed_agency(world.orgs["dept"], world.t2, "应急管理所")
    agencies.agency_funds_set(actor=None, agency=agency, managed_by_township=True)
    propose(world, agency)
    client = world.login(Client(), "operator")
    with django_assert_max_num_queries(12):
        page = client.get("/orgs/agencies/")
    rows = page.content.decode()
    assert agency.name in rows
    assert other.name in rows
    by_township = client.get("/orgs/agencies/", {"township": world.t2.pk}).content.decode()
    assert other.name in by_township
    assert agency.name not in by_township
    by_department = client.get(
        "/orgs/agencies/", {"department": world.orgs["police"].pk}
    ).content.decode()
    assert agency.name in by_department
    assert other.name not in by_department
    listed = {a.pk: a for a in agencies.agency_list(actor=as_(world, "operator"))}
    assert listed[agency.pk].open_consultations == 1
    assert listed[other.pk].open_consultations == 0
    # The host township sees only its own agencies; the filters offer only theirs.
    townships, departments = agencies.agency_filters(actor=as_(world, "tleader"))
    assert townships == [world.t1]
    assert departments == [world.orgs["police"]]
    # Nonsense filters are ignored, not errors.
    assert client.get("/orgs/agencies/", {"township": "x", "department": "y"}).status_code == 200


# ---- the figures: the worked example of docs/scoring.md ------------------------------------------


@pytest.fixture
def example(world, lists, calendar, settings, tmp_path):  # noqa: F811
    from tests.assessment.example import build

    settings.MEDIA_ROOT = str(tmp_path / "media")
    return build(world, lists)


def _figures(html: str) -> dict[str, list[str]]:
    rows = {}
    for name, cells in re.findall(r'<tr data-figure="(\w+)"[^>]*>(.*?)</tr>', html, re.S):
        values = re.findall(r"<td>(?:<strong>)?(.*?)(?:</strong>)?</td>", cells, re.S)
        rows[name] = [re.sub(r"<[^>]+>", "", v).strip() for v in values]
    return rows


def test_the_figures_weigh_the_host_townships_evaluation_at_the_countys_share(world, example):
    """The 派出所 of the worked example in March 2025: composite 72.33, the host
    township's evaluation 92.5 at 3/5 → 84.43; February (previous): no data. A county
    weight of 0.7 makes it 0.3 × 72.333… + 0.7 × 92.5 = 86.45."""
    agency = world.orgs["agency"]
    client = world.login(Client(HTTP_ACCEPT_LANGUAGE="en"), "tleader")
    html = client.get(f"/orgs/agencies/{agency.pk}/", {"period": "2025-03"}).content.decode()
    rows = _figures(html)
    assert rows["received"] == ["2", "0"]
    assert rows["response_rate"] == ["50.0%", "no data"]
    assert rows["completion_rate"] == ["100.0%", "no data"]
    assert rows["satisfaction_rate"] == ["66.7%", "no data"]
    assert rows["overdue"] == ["0", "0"]
    assert rows["composite"] == ["72.33", "no data"]
    assert rows["host_satisfaction"] == ["100.0%", "no data"]
    assert rows["host_forms"] == ["85.00", "no data"]
    assert rows["township_evaluation"] == ["92.50", "no data"]
    assert rows["township_share"] == ["60.0%", "60.0%"]
    assert rows["score"] == ["84.43", "no data"]
    assert 'data-period="2025-02"' in html

    assessor = as_(world, "assessor")
    assessment_policy_set(
        actor=assessor, county=world.county, values={"township_share_agency": "0.7"}
    )
    rows = _figures(
        client.get(f"/orgs/agencies/{agency.pk}/", {"period": "2025-03"}).content.decode()
    )
    assert rows["township_share"][0] == "70.0%"
    assert rows["score"][0] == "86.45"
    # The quarter, and the one before it.
    rows = _figures(
        client.get(f"/orgs/agencies/{agency.pk}/", {"period": "2025-Q1"}).content.decode()
    )
    assert rows["received"] == ["2", "0"]


def test_a_bad_period_shows_its_error_and_no_figures(world, agency):
    client = world.login(Client(HTTP_ACCEPT_LANGUAGE="en"), "reporter")
    page = client.get(f"/orgs/agencies/{agency.pk}/", {"period": "2025-13"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="figures-error"' in html
    assert "is not a period" in html
    assert 'data-testid="figures-table"' not in html
    # Without a period: the current month and the one before.
    html = client.get(f"/orgs/agencies/{agency.pk}/").content.decode()
    now = timezone.localtime(timezone.now())
    assert f'data-period="{now:%Y-%m}"' in html
