"""A sandbox loop leaves every real figure where it was: the assessment roll-up and
rankings, oversight's rows, the open pages, public reporting and Open311 — computed
before and after a whole practice loop (issue #11 item 4, "bad input")."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.training.conftest import play_loop
from tests.training.figures import real_figures, real_loop
from xianghu.assessment.models import DispatchFact
from xianghu.calls.models import Call
from xianghu.core import access
from xianghu.integrations.open311.core import jurisdictions
from xianghu.oversight.access import home_regions
from xianghu.participation.open.selectors import open_counties
from xianghu.participation.public_reports import served_counties
from xianghu.regions.models import Organisation
from xianghu.regions.selectors import actor_for_user
from xianghu.training import services
from xianghu.training.models import Sandbox

pytestmark = pytest.mark.django_db


def test_a_whole_practice_loop_leaves_the_real_figures_unchanged(world, lists):
    real_loop(world, lists)
    before = real_figures(world)
    assert before["facts"][0] > 0
    assert before["scores"]
    assert before["open311"][0] == 200

    trainee = world.users["operator"]
    sandbox = services.sandbox_start(trainee=trainee)
    calls = list(Call.objects.filter(county=sandbox.county).order_by("pk"))
    for call in calls[:2]:
        assert play_loop(sandbox, call).state == "closed"
    # The sandbox's own figures moved: the loop was real.
    assert DispatchFact.objects.filter(county=sandbox.county).count() == 2

    after = real_figures(world)
    assert after == before
    # A second trainee and a reset change nothing either.
    services.sandbox_start(trainee=world.users["handler"])
    services.sandbox_reset(trainee=trainee)
    assert real_figures(world) == before
    assert Sandbox.objects.count() == 3


def test_sandbox_regions_stay_off_every_public_list(world, lists):
    sandbox = services.sandbox_start(trainee=world.users["operator"])
    code = sandbox.county.code
    assert code not in [c.code for c in open_counties()]
    assert code not in [c.code for c in served_counties()]
    assert code not in [c.code for c in jurisdictions()]
    assert "990000" not in [
        r.code for r in home_regions(actor=actor_for_user(user=world.users["admin"]))
    ]
    citizen = actor_for_user(user=world.users["citizen"])
    assert not access.visible(citizen, Organisation.objects.filter(county=sandbox.county)).exists()
    # Open311 refuses the practice county as a jurisdiction.
    r = Client().get("/open311/v2/services.json", {"jurisdiction_id": code})
    assert r.status_code == 404 or r.status_code == 400
    # The open pages do not serve it when asked by code.
    r = Client().get("/open/duties/", {"county": code, "format": "json"})
    assert code not in r.content.decode()
