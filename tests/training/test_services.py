"""The sandbox: what a practice is built of, who may reach its identities, the guide's
progress from the event log, reset and purge."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.training.conftest import as_role, play_loop
from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.errors import NotFound, PermissionDenied
from xianghu.core.sandbox import SANDBOX_PATH
from xianghu.regions.models import Membership, Organisation
from xianghu.regions.roles import Role
from xianghu.training import selectors, services
from xianghu.training.models import PracticeIdentity, PracticeRole, Sandbox
from xianghu.training.steps import STEPS

pytestmark = pytest.mark.django_db


def test_a_sandbox_is_a_practice_county_outside_every_real_tree(world, trainee):
    sandbox = services.sandbox_start(trainee=trainee)
    county = sandbox.county
    assert county.path.startswith(SANDBOX_PATH)
    assert not county.path.startswith(world.county.path.split("/")[0])
    assert county.level == "county"
    # A published list of a handful of items naming the sandbox's own departments.
    version = catalog_selectors.county_version_in_force(county=county)
    assert version is not None
    items = list(version.items.order_by("code"))
    assert [i.code for i in items] == ["QH-L01", "QH-L02"]
    for item in items:
        for party in item.parties.all():
            assert Organisation.objects.get(pk=party.organisation_id).county_id == county.pk
    # One identity per role of the loop, owned by this sandbox only, unable to log in.
    identities = {i.role: i for i in sandbox.identities.select_related("user")}
    assert set(identities) == set(PracticeRole.values)
    expected = {
        PracticeRole.TOWNSHIP_STAFF: Role.TOWNSHIP_REPORTER,
        PracticeRole.TOWNSHIP_LEADER: Role.TOWNSHIP_LEADER,
        PracticeRole.PLATFORM_OPERATOR: Role.PLATFORM_OPERATOR,
        PracticeRole.DEPARTMENT_HANDLER: Role.DEPARTMENT_HANDLER,
    }
    for role, identity in identities.items():
        memberships = list(Membership.objects.filter(user=identity.user))
        assert [m.role for m in memberships] == [expected[role]]
        assert memberships[0].organisation.county_id == county.pk
        assert not identity.user.has_usable_password()
    # Sample calls ready to be made: drafts by the practice township, on the list.
    calls = list(Call.objects.filter(county=county).order_by("pk"))
    assert len(calls) == 3
    assert {c.state for c in calls} == {"draft"}
    assert {c.caller.name for c in calls} == {"练习镇人民政府"}
    assert all(c.item and c.item.version_id == version.pk for c in calls)
    # Starting again reuses it.
    assert services.sandbox_start(trainee=trainee).pk == sandbox.pk
    assert Sandbox.objects.count() == 1


def test_two_trainees_get_two_counties(world):
    a = services.sandbox_start(trainee=world.users["reporter"])
    b = services.sandbox_start(trainee=world.users["operator"])
    assert a.county_id != b.county_id
    assert a.county.code != b.county.code


def test_switch_reaches_only_the_trainees_own_identities(world, trainee, caplog):
    sandbox = services.sandbox_start(trainee=trainee)
    mine = services.identity_for_switch(trainee_id=trainee.pk, role="platform_operator")
    assert mine.sandbox_id == sandbox.pk
    other = world.users["operator"]
    with caplog.at_level(logging.INFO, logger="xianghu.security"):
        # Someone without a sandbox reaches nobody, and never the trainee's identities.
        with pytest.raises(NotFound):
            services.identity_for_switch(trainee_id=other.pk, role="platform_operator")
        # Not a practice role: a real role name opens nothing either.
        with pytest.raises(NotFound):
            services.identity_for_switch(trainee_id=trainee.pk, role=Role.SYSTEM_ADMIN)
    refused = [r for r in caplog.records if r.getMessage() == "training switch refused"]
    assert len(refused) == 2
    theirs = services.sandbox_start(trainee=other)
    got = services.identity_for_switch(trainee_id=other.pk, role="platform_operator")
    assert got.sandbox_id == theirs.pk != sandbox.pk


def test_a_practice_identity_cannot_start_a_practice(trainee):
    sandbox = services.sandbox_start(trainee=trainee)
    identity = sandbox.identities.first()
    with pytest.raises(PermissionDenied):
        services.sandbox_start(trainee=identity.user)


def test_a_session_cannot_claim_someone_elses_practice(world, trainee):
    sandbox = services.sandbox_start(trainee=trainee)
    user = sandbox.identities.get(role="township_staff").user
    assert services.trainee_resolve(user=user, session_trainee_id=trainee.pk) == trainee.pk
    with pytest.raises(PermissionDenied):
        services.trainee_resolve(user=user, session_trainee_id=world.users["operator"].pk)
    with pytest.raises(PermissionDenied):
        services.trainee_resolve(user=user, session_trainee_id=None)


def test_progress_is_folded_from_the_calls_events(trainee):
    sandbox = services.sandbox_start(trainee=trainee)
    progress = selectors.practice_progress(sandbox=sandbox)
    assert progress.current is not None
    assert progress.current.step["key"] == "submit"
    first = progress.current.call
    call_services.call_transition(
        actor=as_role(sandbox, "township_staff"), call=first, action="submit", data={}
    )
    call_services.call_transition(
        actor=as_role(sandbox, "township_leader"),
        call=first,
        action="send_back",
        data={"reason": "补充地点"},
    )
    assert selectors.practice_progress(sandbox=sandbox).current.step["key"] == "submit"
    first.refresh_from_db()
    play_loop(sandbox, first)
    progress = selectors.practice_progress(sandbox=sandbox)
    assert progress.finished_count == 1
    assert progress.current.call.pk != first.pk
    assert progress.current.step["key"] == "submit"


def test_step_index_follows_redo():
    events = [(s["action"], {}) for s in STEPS[:-1]]
    assert selectors.step_index(events) == len(STEPS) - 1
    unsatisfied = [*events, ("evaluate", {"evaluation": "unsatisfied"})]
    assert STEPS[selectors.step_index(unsatisfied)]["key"] == "respond"
    assert selectors.step_index([("sign", {})]) == 0  # out of order: nothing done


def test_reset_retires_the_old_practice(trainee):
    old = services.sandbox_start(trainee=trainee)
    old_users = list(old.identities.values_list("user_id", flat=True))
    new = services.sandbox_reset(trainee=trainee)
    old.refresh_from_db()
    assert old.retired_at is not None
    assert new.pk != old.pk
    assert new.county_id != old.county_id
    assert services.live_sandbox(trainee_id=trainee.pk).pk == new.pk
    assert not Membership.objects.filter(user_id__in=old_users, is_active=True).exists()
    assert not Organisation.objects.filter(county=old.county, is_active=True).exists()
    identity = services.identity_for_switch(trainee_id=trainee.pk, role="township_leader")
    assert identity.sandbox_id == new.pk
    with pytest.raises(PermissionDenied):
        services.trainee_resolve(user=old.identities.first().user, session_trainee_id=trainee.pk)


def test_purge_retires_old_sandboxes(world):
    old = services.sandbox_start(trainee=world.users["reporter"])
    Sandbox.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    fresh = services.sandbox_start(trainee=world.users["operator"])
    call_command("training_purge", "--older-than", "30")
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.retired_at is not None
    assert fresh.retired_at is None
    assert not PracticeIdentity.objects.filter(sandbox=old, user__is_active=True).exists()
