"""Deliberation (议事协商): a township's consultation from draft to closed, who may do
what, bad input, and the public outcome (masked)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.calls import services as call_services
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.core.masking import contains_personal_data
from xianghu.participation.deliberation import selectors, services
from xianghu.participation.models_open import ConsultationSource, ConsultationState
from xianghu.regions.models import Region

PHONE = "13912345678"


@pytest.fixture
def resident(world):
    user = f.UserFactory(username="resident", is_public=True, phone="13700001111", name="李建国")
    world.users["resident"] = user
    return user


@pytest.fixture
def consultation(world, lists):
    item = catalog_selectors.item_get(version=lists.version, code="D1-01")
    village = Region.objects.get(parent=world.t1)
    return services.consultation_create(
        actor=as_(world, "reporter"),
        township=world.t1,
        topic="1村反复堆放易燃物",
        agenda=f"1. 情况通报（举报人电话{PHONE}）\n2. 各方意见",
        place=village,
        item=item,
        source=ConsultationSource.HOTSPOT,
    )


def test_the_whole_consultation(world, lists, consultation, resident, client, new_call):
    reporter, leader = as_(world, "reporter"), as_(world, "tleader")
    assert consultation.state == ConsultationState.DRAFT
    assert consultation.organiser == world.orgs["t1"]
    with pytest.raises(InvalidInput) as empty:
        services.consultation_open(actor=reporter, consultation=consultation)
    assert empty.value.code == "consultation.no_participants"

    services.participant_add(
        actor=reporter, consultation=consultation, organisation=world.orgs["enterprise"]
    )
    services.participant_add(
        actor=reporter, consultation=consultation, organisation=world.orgs["v1"]
    )
    person = services.participant_add(
        actor=reporter, consultation=consultation, name="李建国", phone="137 0000 1111"
    )
    assert person.user == resident
    with pytest.raises(Conflict):
        services.participant_add(
            actor=reporter, consultation=consultation, organisation=world.orgs["enterprise"]
        )
    with pytest.raises(InvalidInput) as wrong:  # a county department does not take part
        services.participant_add(
            actor=reporter, consultation=consultation, organisation=world.orgs["dept"]
        )
    assert wrong.value.code == "consultation.bad_participant"
    with pytest.raises(InvalidInput) as unknown:
        services.participant_add(
            actor=reporter, consultation=consultation, name="王五", phone="13600000000"
        )
    assert unknown.value.detail[0]["field"] == "phone"

    # Participants see it only once it is open.
    with pytest.raises(NotFound):
        selectors.consultation_get(actor=as_(world, "volunteer"), pk=consultation.pk)
    services.consultation_open(actor=reporter, consultation=consultation)
    consultation.refresh_from_db()
    assert consultation.state == ConsultationState.OPEN

    # The enterprise's public user, the resident, the village committee comment.
    volunteer = as_(world, "volunteer")
    assert selectors.consultation_get(actor=volunteer, pk=consultation.pk)
    services.comment_add(
        actor=volunteer, consultation=consultation, text="企业愿意出资建设专用存放点"
    )
    services.comment_add(actor=as_(world, "resident"), consultation=consultation, text="支持")
    services.comment_add(
        actor=as_(world, "village_reporter"), consultation=consultation, text="村里提供场地"
    )
    with pytest.raises(PermissionDenied):
        services.comment_add(actor=as_(world, "reporter_t2"), consultation=consultation, text="x")
    with pytest.raises(InvalidInput):
        services.comment_add(actor=volunteer, consultation=consultation, text="   ")
    assert consultation.comments.count() == 3

    # Only a leader decides; a reporter adds the follow-up task (a new draft call).
    with pytest.raises(PermissionDenied):
        services.consultation_decide(actor=reporter, consultation=consultation, decision="x")
    with pytest.raises(InvalidInput):
        services.consultation_decide(actor=leader, consultation=consultation, decision=" ")
    services.consultation_decide(
        actor=leader, consultation=consultation, decision=f"设集中存放点，联系人{PHONE}"
    )
    task = services.task_add(actor=reporter, consultation=consultation, title="建设集中存放点")
    assert task.call.caller == world.orgs["t1"]
    assert task.call.state == State.DRAFT
    assert task.call.item.code == "D1-01"
    assert "1村反复堆放易燃物" in task.call.description
    # ... or links a call the township already made, not another's.
    mine = new_call(title="已有的呼叫")
    linked = services.task_add(
        actor=reporter, consultation=consultation, title="已有呼叫", call_number=mine.number
    )
    assert linked.call == mine
    theirs, _new = call_services.call_create(
        actor=as_(world, "reporter_t2"),
        caller=world.orgs["t2"],
        draft=CallDraft(title="柳林镇的呼叫", description="柳林镇", location=world.t2),
    )
    with pytest.raises(InvalidInput):
        services.task_add(
            actor=reporter, consultation=consultation, title="x", call_number=theirs.number
        )
    with pytest.raises(InvalidInput) as missing:
        services.task_add(actor=reporter, consultation=consultation, title="x", call_number="nope")
    assert missing.value.code == "consultation.unknown_call"
    with pytest.raises(Conflict):
        services.task_add(
            actor=reporter, consultation=consultation, title="again", call_number=task.call.number
        )
    with pytest.raises(PermissionDenied):
        services.consultation_close(actor=reporter, consultation=consultation)
    services.consultation_close(actor=leader, consultation=consultation)
    consultation.refresh_from_db()
    assert consultation.state == ConsultationState.CLOSED
    with pytest.raises(Conflict):
        services.comment_add(actor=volunteer, consultation=consultation, text="late")

    # The public outcome: masked, residents' names masked, comments not shown.
    page = client.get(f"/open/consultations/{consultation.pk}/").content.decode()
    assert "设集中存放点" in page
    assert PHONE not in page
    assert "李*国" in page
    assert "李建国" not in page
    assert world.orgs["enterprise"].name in page
    assert "企业愿意出资" not in page
    assert task.call.number in page
    assert not contains_personal_data(page)
    doc = client.get(f"/open/consultations/{consultation.pk}/?format=json").json()["object"]
    assert doc["participants"].count("李*国") == 1
    assert doc["tasks"][0]["call"] == task.call.number
    listed = client.get("/open/consultations/?format=json").json()
    assert [row["id"] for row in listed["results"]] == [consultation.pk]


def test_drafts_and_open_consultations_are_not_public(world, lists, consultation, client):
    assert client.get("/open/consultations/?format=json").json()["count"] == 0
    assert client.get(f"/open/consultations/{consultation.pk}/").status_code == 404


def test_who_sees_and_who_prepares(world, lists, consultation):
    assert selectors.consultation_get(actor=as_(world, "tleader"), pk=consultation.pk)
    assert selectors.consultation_get(actor=as_(world, "operator"), pk=consultation.pk)
    for key in ("reporter_t2", "handler", "operator_b", "citizen"):
        with pytest.raises(NotFound):
            selectors.consultation_get(actor=as_(world, key), pk=consultation.pk)
    with pytest.raises(PermissionDenied):
        services.consultation_create(
            actor=as_(world, "reporter_t2"), township=world.t1, topic="x", agenda="y"
        )
    with pytest.raises(PermissionDenied):
        services.participant_add(
            actor=as_(world, "operator"),
            consultation=consultation,
            organisation=world.orgs["enterprise"],
        )


def test_bad_input_is_refused_field_by_field(world, lists):
    village_of_t2 = f.village(world.t2, 7)
    with pytest.raises(InvalidInput) as problem:
        services.consultation_create(
            actor=as_(world, "reporter"),
            township=world.t1,
            topic="",
            agenda="x" * 4001,
            place=village_of_t2,
        )
    fields = {p["field"] for p in problem.value.detail}
    assert fields == {"topic", "agenda", "place"}


def test_the_form_is_prefilled_from_a_hotspot(world, lists, client):
    village = Region.objects.get(parent=world.t1)
    world.login(client, "tleader")
    r = client.get(
        f"/participation/consultations/new/?township={world.t1.code}&item=D1-01&region={village.code}"
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="from-hotspot"' in html
    assert r.context["item"].code == "D1-01"
    assert r.context["place"] == village
    assert "D1-01" in html
    # Posting keeps the hotspot as the source; a refused post keeps what was typed.
    bad = client.post(
        "/participation/consultations/new/",
        {
            "township": world.t1.code,
            "topic": "",
            "agenda": "议程内容",
            "item": "D1-01",
            "region": village.code,
            "source": "hotspot",
        },
    )
    assert bad.status_code == 400
    assert "议程内容" in bad.content.decode()
    ok = client.post(
        "/participation/consultations/new/",
        {
            "township": world.t1.code,
            "topic": "议题",
            "agenda": "议程内容",
            "item": "D1-01",
            "region": village.code,
            "source": "hotspot",
        },
    )
    assert ok.status_code == 302
    # A department's staff cannot open one.
    world.login(client, "handler")
    assert client.get("/participation/consultations/new/").status_code == 403


def test_the_pages_step_by_step(world, lists, consultation, client, django_assert_max_num_queries):
    world.login(client, "reporter")
    url = f"/participation/consultations/{consultation.pk}/"
    act = url + "act/"
    assert client.post(act, {"action": "open"}).status_code == 400  # no participants
    r = client.post(act, {"action": "add_participant", "name": "", "phone": ""})
    assert r.status_code == 400
    r = client.post(
        act, {"action": "add_participant", "organisation": str(world.orgs["enterprise"].pk)}
    )
    assert r.status_code == 302
    assert client.post(act, {"action": "open"}).status_code == 302
    with django_assert_max_num_queries(20):
        page = client.get(url)
    assert 'data-testid="comment-form"' in page.content.decode()
    r = client.post(act, {"action": "comment", "text": "x" * 2001})
    assert r.status_code == 400
    assert "x" * 2001 in r.content.decode()  # kept
    world.login(client, "tleader")
    assert client.post(act, {"action": "decide", "decision": "决定"}).status_code == 302
    r = client.post(act, {"action": "add_task", "title": "跟进"})
    assert r.status_code == 302
    assert client.post(act, {"action": "close"}).status_code == 302
    with django_assert_max_num_queries(12):
        assert client.get("/participation/consultations/").status_code == 200
    world.login(client, "tleader")
    assert PHONE in client.get(url).content.decode()  # the township reads it as written
    world.login(client, "volunteer")
    page = client.get(url).content.decode()
    assert PHONE not in page
    assert "139****5678" in page
    assert client.post(act, {"action": "close"}).status_code in (403, 409)


def test_the_overview_hotspot_links_to_a_new_consultation(world, lists, client, new_call, act):
    for i in range(3):
        call = new_call(title=f"易燃物第{i}次")
        act("reporter", call, "submit")
    world.login(client, "tleader")
    html = client.get("/overview/").content.decode()
    assert 'data-testid="hotspot-consult"' in html
    assert f"township={world.t1.code}" in html
    assert "item=D1-01" in html
    world.login(client, "operator")  # the county's overview: no link
    assert 'data-testid="hotspot-consult"' not in client.get("/overview/").content.decode()
