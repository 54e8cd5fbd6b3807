"""The training pages: who may practise, switching only to one's own practice
identities, the guide on the pages while playing, and the way back."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from xianghu.calls.models import Call
from xianghu.training.context_processors import SESSION_KEY
from xianghu.training.models import PracticeIdentity, Sandbox

pytestmark = pytest.mark.django_db


def _client(world, key: str) -> Client:
    return world.login(Client(), key)


def _user_id(client: Client) -> int:
    return int(client.session["_auth_user_id"])


def test_anonymous_and_non_staff_are_refused(world):
    r = Client().get("/training/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]
    for key in ("citizen", "volunteer", "nomember"):
        c = _client(world, key)
        assert c.get("/training/").status_code == 403, key
        assert c.post("/training/start/").status_code == 403, key
    assert not Sandbox.objects.exists()


def test_a_trainee_starts_switches_plays_and_returns(world, caplog):
    trainee = world.users["reporter"]
    c = _client(world, "reporter")
    r = c.get("/training/")
    assert r.status_code == 200
    assert b'data-testid="training-start"' in r.content
    assert c.post("/training/start/").status_code == 302
    sandbox = Sandbox.objects.get(trainee=trainee)
    r = c.get("/training/")
    assert b'data-testid="training-sandbox"' in r.content
    assert "training_guide" not in r.context  # the trainee's own account: no panel
    with caplog.at_level(logging.INFO, logger="xianghu.security"):
        r = c.post("/training/switch/", {"role": "township_staff"})
    staff = PracticeIdentity.objects.get(sandbox=sandbox, role="township_staff")
    assert _user_id(c) == staff.user_id
    assert c.session[SESSION_KEY] == {"trainee": trainee.pk}
    first = Call.objects.filter(county=sandbox.county).order_by("pk").first()
    assert r.status_code == 302
    assert r["Location"] == f"/calls/{first.pk}/"
    assert any(rec.getMessage() == "training identity switch" for rec in caplog.records)
    # The guide sits on the call page: this role's step, with what to click.
    page = c.get(r["Location"])
    assert page.status_code == 200
    guide = page.context["training_guide"]
    assert guide["step"]["key"] == "submit"
    assert guide["my_turn"]
    assert b'data-testid="training-guide"' in page.content
    assert b'data-step="submit"' in page.content
    # Switching on from a practice identity stays inside the trainee's sandbox.
    c.post("/training/switch/", {"role": "platform_operator"})
    operator = PracticeIdentity.objects.get(sandbox=sandbox, role="platform_operator")
    assert _user_id(c) == operator.user_id
    page = c.get("/training/")
    assert page.context["training_guide"]["my_turn"] is False
    assert b'data-testid="switch-township_staff"' in page.content
    # And back to the real account.
    r = c.post("/training/return/")
    assert r.status_code == 302
    assert _user_id(c) == trainee.pk
    assert "training_guide" not in c.get("/training/").context


def test_another_user_cannot_enter_someone_elses_sandbox(world):
    c = _client(world, "reporter")
    c.post("/training/start/")
    other = _client(world, "operator")
    for role in ("township_staff", "platform_operator", "system_admin", ""):
        r = other.post("/training/switch/", {"role": role})
        assert r.status_code == 404, role
        assert _user_id(other) == world.users["operator"].pk
    # With a sandbox of their own, they reach their own identities only.
    other.post("/training/start/")
    other.post("/training/switch/", {"role": "township_staff"})
    identity = PracticeIdentity.objects.get(user_id=_user_id(other))
    assert identity.sandbox.trainee_id == world.users["operator"].pk


def test_a_practice_identity_cannot_log_in(world):
    c = _client(world, "reporter")
    c.post("/training/start/")
    identity = PracticeIdentity.objects.first()
    r = Client().post(
        "/accounts/login/", {"username": identity.user.username, "password": "Xianghu@2026"}
    )
    assert r.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in Client().session


def test_a_tampered_session_is_refused(world):
    c = _client(world, "reporter")
    c.post("/training/start/")
    identity = PracticeIdentity.objects.get(role="township_staff")
    # A session logged in as the practice identity but claiming another trainee.
    forged = Client()
    forged.force_login(identity.user)
    session = forged.session
    session[SESSION_KEY] = {"trainee": world.users["operator"].pk}
    session.save()
    assert forged.get("/training/").status_code == 403
    assert forged.post("/training/return/").status_code == 403
    assert "training_guide" not in forged.get("/calls/").context
    # Without a marker at all: refused too, and no way back to anyone's account.
    bare = Client()
    bare.force_login(identity.user)
    assert bare.post("/training/return/").status_code == 403
    assert _user_id(bare) == identity.user_id


def test_reset_from_a_practice_identity_returns_to_the_trainee(world):
    trainee = world.users["reporter"]
    c = _client(world, "reporter")
    c.post("/training/start/")
    old = Sandbox.objects.get(trainee=trainee)
    c.post("/training/switch/", {"role": "department_handler"})
    r = c.post("/training/reset/")
    assert r.status_code == 302
    assert _user_id(c) == trainee.pk
    new = Sandbox.objects.get(trainee=trainee, retired_at__isnull=True)
    assert new.pk != old.pk
    # The old identities are gone for good.
    old_user = old.identities.get(role="department_handler").user
    old_user.refresh_from_db()
    assert not old_user.is_active
