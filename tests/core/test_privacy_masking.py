"""Personal data is masked wherever it is shown to someone who does not need it
(docs/privacy.md, "Who sees what"): one sweep over the pages, exports and API answers
that show a reporter's, a caller's, a stakeholder's or an applicant's contact, and the
calls made from public reports and hotline tickets."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.calls.models import Call
from xianghu.integrations.hotline import services as hotline_services
from xianghu.integrations.hotline.models import Ticket
from xianghu.participation import services as participation_services
from xianghu.participation.models import PublicReport
from xianghu.participation.models_coord import Stakeholder, StakeholderKind
from xianghu.participation.models_public import OrganisationApplication, PublicKind

# Full values that must never appear; each one's masked form that should.
REPORTER_PHONE, REPORTER_EMAIL = "13912345678", "reporter@example.cn"
TEXT_PHONE, TEXT_ID = "13698765432", "371221199001011234"
CALLER_PHONE, CALLER_NAME = "13812345678", "张三丰"
GRID_PHONE, APPLICANT_PHONE = "13700001111", "13500002222"
SECRETS = (REPORTER_PHONE, REPORTER_EMAIL, TEXT_PHONE, TEXT_ID, CALLER_PHONE, GRID_PHONE)


@pytest.fixture
def data(world: Any, lists: Any) -> dict[str, Any]:
    report = PublicReport.objects.create(
        county=world.county,
        township=world.t1,
        location=world.t1,
        token="mask-report",
        description=f"路口积水，联系我{TEXT_PHONE}，身份证{TEXT_ID}",
        phone=REPORTER_PHONE,
        email=REPORTER_EMAIL,
        source="web",
    )
    ticket = Ticket.objects.create(
        county=world.county,
        number="T-mask",
        content=f"兴隆街路灯不亮，回电{TEXT_PHONE}",
        caller_name=CALLER_NAME,
        caller_phone=CALLER_PHONE,
        township=world.t1,
        location=world.t1,
    )
    grid = Stakeholder.objects.create(
        county=world.county,
        township=world.t1,
        kind=StakeholderKind.GRID_WORKER,
        name="网格员",
        contact_name="李四",
        contact_phone=GRID_PHONE,
    )
    applicant = f.UserFactory(username="applicant", is_public=True)
    application = OrganisationApplication.objects.create(
        applicant=applicant,
        kind=PublicKind.VOLUNTEER_TEAM,
        name="兴隆街志愿队",
        county=world.county,
        township=world.t1,
        contact_phone=APPLICANT_PHONE,
    )
    return {"report": report, "ticket": ticket, "grid": grid, "application": application}


def _assert_masked(text: str, *, shown: tuple[str, ...] = ()) -> None:
    for secret in (*SECRETS, APPLICANT_PHONE):
        assert secret not in text, secret
    for masked in shown:
        assert masked in text, masked


def test_the_calls_made_from_public_reports_and_tickets_carry_no_personal_numbers(
    world: Any, data: dict[str, Any]
) -> None:
    call = participation_services.publicreport_accept(
        actor=as_(world, "tleader"), report=data["report"]
    )
    assert "路口积水" in call.description
    _assert_masked(f"{call.title}\n{call.description}", shown=("136****5432",))
    # The report keeps what the reporter wrote (for the township, and for an export).
    assert TEXT_PHONE in PublicReport.objects.get(pk=data["report"].pk).description
    hotline_call = hotline_services.ticket_to_call(
        actor=as_(world, "operator"), ticket=data["ticket"]
    )
    assert "兴隆街路灯不亮" in hotline_call.description
    _assert_masked(f"{hotline_call.title}\n{hotline_call.description}")
    assert data["ticket"].number in hotline_call.description


def test_pages_exports_and_the_api_show_contacts_masked(
    world: Any, data: dict[str, Any], client: Client
) -> None:
    report_call = participation_services.publicreport_accept(
        actor=as_(world, "tleader"), report=data["report"]
    )
    ticket_call = hotline_services.ticket_to_call(
        actor=as_(world, "operator"), ticket=data["ticket"]
    )
    ticket, grid = data["ticket"], data["grid"]
    asked = {
        "tleader": [
            ("/participation/triage/?status=accepted", ("139****5678",)),
            (f"/calls/{report_call.pk}/", ()),
            (f"/calls/{ticket_call.pk}/", ()),
            ("/participation/registry/", ("137****1111",)),
            ("/participation/organisations/pending/", ("135****2222",)),
        ],
        "operator": [
            ("/integrations/hotline/", ("138****5678", "张*丰")),
            (f"/integrations/hotline/{ticket.pk}/", ("138****5678", "张*丰")),
            ("/integrations/hotline/export.csv?all=1", ("138****5678",)),
            ("/api/v1/integrations/hotline/updates?all=true", ("138****5678",)),
            (f"/participation/registry/{grid.pk}/", ("137****1111",)),
        ],
    }
    for key, pages in asked.items():
        world.login(client, key)
        for url, shown in pages:
            response = client.get(url)
            assert response.status_code == 200, (key, url, response.status_code)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            _assert_masked(body.decode(), shown=shown)
    assert Call.objects.count() == 2
