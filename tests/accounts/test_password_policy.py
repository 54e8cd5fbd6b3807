"""Password rotation (XH_PASSWORD_MAX_AGE_DAYS): the date is set on every password change,
an expired password sends the user to the change page; the history rule
(XH_PASSWORD_HISTORY)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from tests.factories import PASSWORD
from xianghu.accounts.models import PasswordHistory, User
from xianghu.accounts.services import user_create

CHANGE = "/accounts/password/"
NEW = "Qinghe@Town2026"


def _change(client, old: str, new: str):
    return client.post(CHANGE, {"old_password": old, "new_password1": new, "new_password2": new})


def _age(user: User, days: int) -> None:
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - timedelta(days=days)
    )


def test_every_way_of_setting_a_password_dates_it(world, client, monkeypatch):
    before = timezone.now()
    # user_create (the user-management service, the demo)
    made = user_create(username="newstaff", password="Qinghe@Staff2026", name="新同事")
    assert made.password_changed_at >= before
    # the change page
    user = world.users["reporter"]
    _age(user, 30)
    world.login(client, "reporter")
    assert _change(client, PASSWORD, NEW).status_code == 302
    user.refresh_from_db()
    assert user.password_changed_at >= before
    # the admin's "set password" form
    _age(user, 30)
    form = AdminPasswordChangeForm(
        user, {"password1": "Other@Pass2026", "password2": "Other@Pass2026"}
    )
    assert form.is_valid(), form.errors
    form.save()
    user.refresh_from_db()
    assert user.password_changed_at >= before
    # createsuperuser
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Root@Pass20261")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.org")
    assert User.objects.get(username="root").password_changed_at >= before


def test_expired_password_sends_to_the_change_page(world, client, settings, caplog):
    settings.XH_PASSWORD_MAX_AGE_DAYS = 90
    user = world.users["reporter"]
    _age(user, 91)
    world.login(client, "reporter")
    for path in ("/", "/calls/", "/accounts/me/"):
        r = client.get(path)
        assert (r.status_code, r["Location"]) == (302, CHANGE), path
    r = client.get("/api/v1/me")
    assert r.status_code == 403
    assert r.json()["code"] == "auth.password_expired"
    # The change page, static files and logging out stay reachable.
    r = client.get(CHANGE)
    assert r.status_code == 200
    assert "90" in " ".join(str(m) for m in r.context["messages"])
    assert client.get("/static/css/app.css").status_code in (200, 404)
    assert _change(client, PASSWORD, NEW).status_code == 302
    assert client.get("/").status_code == 200


def test_password_within_its_age_and_public_accounts_are_not_sent(world, client, settings):
    settings.XH_PASSWORD_MAX_AGE_DAYS = 90
    _age(world.users["reporter"], 89)
    world.login(client, "reporter")
    assert client.get("/").status_code == 200
    _age(world.users["citizen"], 400)
    other = world.login(client.__class__(), "citizen")
    assert other.get("/accounts/me/").status_code == 200


def test_no_expiry_when_the_policy_is_off(world, client, settings):
    settings.XH_PASSWORD_MAX_AGE_DAYS = 0
    _age(world.users["reporter"], 4000)
    world.login(client, "reporter")
    assert client.get("/").status_code == 200


def test_a_new_password_may_not_repeat_the_last_ones(world, client, settings):
    settings.XH_PASSWORD_HISTORY = 2
    user = world.users["reporter"]
    world.login(client, "reporter")
    # The current password is refused, on the page with the validator's code.
    r = _change(client, PASSWORD, PASSWORD)
    assert r.status_code == 200
    assert "password_reused" in {
        e.code for e in r.context["form"].errors.as_data()["new_password2"]
    }

    assert _change(client, PASSWORD, NEW).status_code == 302
    user.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        validate_password(PASSWORD, user)  # one change ago
    assert exc.value.error_list[0].code == "password_reused"

    assert _change(client, NEW, "Third@Pass2026").status_code == 302
    assert _change(client, "Third@Pass2026", "Fourth@Pass2026").status_code == 302
    user.refresh_from_db()
    # Only the last two are kept and checked: the first is allowed again.
    assert PasswordHistory.objects.filter(user=user).count() == 2
    validate_password(PASSWORD, user)
    with pytest.raises(ValidationError):
        validate_password("Third@Pass2026", user)


def test_history_rule_off(world, settings):
    settings.XH_PASSWORD_HISTORY = 0
    validate_password(PASSWORD, world.users["reporter"])
