"""The security audit log (issue #10 item 4; docs/security.md "Security audit log"):
every kind of event is recorded by doing the real thing, the log is append-only in the
model and in the database, the retention purge deletes only old rows, and auditors read
their own county only."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from tests import factories as f
from tests.calls.test_attachments import png
from tests.participation.test_public import report_post
from xianghu.core.audit import AUDITOR_ROLES, AuditMiddleware, audit_record
from xianghu.core.audit_db import MINIMUM_RETENTION_DAYS
from xianghu.core.models import AuditEvent, AuditKind, AuditLogImmutable, AuditOutcome
from xianghu.participation.models import PublicReport
from xianghu.regions.roles import ROLE_ORG_KINDS, OrgKind, Role

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()


@pytest.fixture
def auditor(world):
    """A security auditor of the world's county (at the 两办)."""
    user = f.UserFactory(username="auditor")
    f.MembershipFactory(user=user, organisation=world.orgs["office"], role=Role.SECURITY_AUDITOR)
    world.users["auditor"] = user
    return user


def events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=kind).order_by("id"))


def test_auditor_roles_are_roles():
    assert set(AUDITOR_ROLES) <= set(Role.values)
    assert Role.SECURITY_AUDITOR in AUDITOR_ROLES
    assert ROLE_ORG_KINDS[Role.SECURITY_AUDITOR] == {OrgKind.COUNTY_OFFICE, OrgKind.PLATFORM_CENTRE}


# ---- each kind, by doing the real thing --------------------------------------------------------


def test_login_failed_login_and_logout(world, client):
    r = client.post(LOGIN, {"username": "reporter", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 200
    [failed] = events(AuditKind.LOGIN_FAILED)
    assert failed.username == "reporter"
    assert failed.outcome == AuditOutcome.FAILURE
    assert failed.ip == "10.1.2.3"
    assert failed.path == LOGIN
    assert failed.method == "POST"
    assert failed.county_id == world.county.pk
    assert failed.user is None
    assert len(failed.request_id) >= 8

    client.post(LOGIN, {"username": "nobody-here", "password": "x"})
    assert events(AuditKind.LOGIN_FAILED)[-1].county_id is None  # an unknown name: no county

    r = client.post(LOGIN, {"username": "reporter", "password": f.PASSWORD})
    assert r.status_code == 302
    [login] = events(AuditKind.LOGIN)
    assert login.user == world.users["reporter"]
    assert login.outcome == AuditOutcome.SUCCESS
    assert login.county_id == world.county.pk

    client.post("/accounts/logout/")
    [logout] = events(AuditKind.LOGOUT)
    assert logout.user == world.users["reporter"]
    assert logout.username == "reporter"


def test_lockout(world, client):
    with override_settings(AXES_FAILURE_LIMIT=2):
        for _ in range(3):
            client.post(LOGIN, {"username": "tleader", "password": "wrong"})
    # Axes says so at the lockout and at every refused attempt while it lasts.
    locked = events(AuditKind.LOCKOUT)[0]
    assert {e.username for e in events(AuditKind.LOCKOUT)} == {"tleader"}
    assert locked.username == "tleader"
    assert locked.outcome == AuditOutcome.DENIED
    assert locked.county_id == world.county.pk


def test_page_and_api_refusals(world, client):
    world.login(client, "reporter")
    assert client.get("/audit/").status_code == 403
    [denied] = events(AuditKind.PERMISSION_DENIED)
    assert denied.user == world.users["reporter"]
    assert denied.path == "/audit/"
    assert denied.outcome == AuditOutcome.DENIED
    assert denied.detail["status"] == 403
    assert denied.county_id == world.county.pk

    # The API: a forbidden write by a signed-in user, and an unknown API key.
    r = client.post("/api/v1/calls/", {}, content_type="application/json")
    assert r.status_code in (403, 422)
    r = Client(HTTP_X_API_KEY="xh_nope_nope").get("/api/v1/calls/")
    assert r.status_code == 401
    [key] = events(AuditKind.API_KEY)
    assert key.outcome == AuditOutcome.DENIED
    assert key.message == "auth.api_key_invalid"
    assert key.user is None
    assert key.path == "/api/v1/calls/"


def test_denial_survives_the_rollback_of_its_transaction(world, rf: RequestFactory):
    request = rf.get("/somewhere/")
    request.user = world.users["handler"]

    def view(req):
        try:
            with transaction.atomic():
                audit_record(kind=AuditKind.PERMISSION_DENIED, outcome=AuditOutcome.DENIED)
                audit_record(kind=AuditKind.UNMASK, survive_rollback=False)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        return HttpResponse(status=403)

    AuditMiddleware(view)(request)
    [denied] = events(AuditKind.PERMISSION_DENIED)
    assert denied.username == "handler"
    assert denied.path == "/somewhere/"
    # An event about a change shares the change's fate.
    assert events(AuditKind.UNMASK) == []


def test_a_failing_audit_never_breaks_the_request(world, client, monkeypatch, caplog):
    def boom(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent, "save", boom)
    world.login(client, "reporter")
    with caplog.at_level(logging.ERROR, logger="xianghu.security"):
        assert client.get("/audit/").status_code == 403
        assert Client().post(LOGIN, {"username": "x", "password": "y"}).status_code == 200
    assert any("could not be written" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    assert not AuditEvent.objects.exists()


def test_export_is_recorded(world, client):
    world.login(client, "operator")
    r = client.get("/integrations/hotline/export.csv")
    assert r.status_code == 200
    b"".join(r.streaming_content) if r.streaming else r.content
    [export] = events(AuditKind.EXPORT)
    assert export.user == world.users["operator"]
    assert export.message == "hotline-status.csv"
    assert export.detail["content_type"].startswith("text/csv")
    assert export.county_id == world.county.pk
    # An anonymous visitor's download (open data) is not an audit event.
    Client().get("/integrations/hotline/export.csv")
    assert len(events(AuditKind.EXPORT)) == 1


def test_unmasking_is_recorded(world, lists, client):
    r = report_post(client, world, contact="13800003333", consent="on", photos=[png()])
    assert r.status_code == 302
    report = PublicReport.objects.get()
    world.login(client, "tleader")
    r = client.post(
        f"/participation/triage/{report.pk}/unmask/", {"field": "phone", "reason": "回电核实地点"}
    )
    assert r.status_code == 200
    [unmask] = events(AuditKind.UNMASK)
    assert unmask.user == world.users["tleader"]
    assert unmask.object_type == "participation.publicreport"
    assert unmask.object_id == str(report.pk)
    assert unmask.county_id == world.county.pk
    assert unmask.detail == {"field": "phone", "reason": "回电核实地点"}


def test_admin_change_is_recorded_and_the_admin_is_read_only(world, client):
    root = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    r = client.post(
        "/admin/core/holiday/add/",
        {"date": "2031-01-07", "kind": "holiday", "name": "测试", "source": "notice"},
    )
    assert r.status_code == 302
    [change] = events(AuditKind.ADMIN_CHANGE)
    assert change.user == root
    assert change.object_type == "core.holiday"
    assert change.detail["action"] == "addition"
    assert change.path == "/admin/core/holiday/add/"

    assert client.get("/admin/core/auditevent/").status_code == 200
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    r = client.post(f"/admin/core/auditevent/{change.pk}/delete/", {"post": "yes"})
    assert r.status_code == 403
    assert AuditEvent.objects.filter(pk=change.pk).exists()
    # A county's system administrator reads the county's events at /audit/, not every
    # county's in the admin.
    world.login(client, "admin")
    assert client.get("/admin/core/auditevent/").status_code == 403


# ---- append-only -------------------------------------------------------------------------------


def test_the_model_refuses_change_and_deletion(db):
    event = audit_record(kind=AuditKind.OTHER, message="x")
    assert event is not None
    assert event.pk
    event.message = "changed"
    with pytest.raises(AuditLogImmutable):
        event.save()
    with pytest.raises(AuditLogImmutable):
        event.delete()
    with pytest.raises(AuditLogImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(message="changed")
    with pytest.raises(AuditLogImmutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().message == "x"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditevent SET message = 'changed'",
        "UPDATE core_auditevent SET user_id = NULL, message = 'changed'",
        pytest.param(
            "DELETE FROM core_auditevent",
            marks=pytest.mark.skipif(
                "connection.vendor != 'postgresql'", reason="SQLite: the model refuses deletes"
            ),
        ),
    ],
)
def test_the_database_refuses_change_and_deletion(world, sql):
    audit_record(kind=AuditKind.OTHER, user=world.users["admin"], message="x")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    event = AuditEvent.objects.get()
    assert event.message == "x"
    assert event.user == world.users["admin"]


def test_deleting_a_user_keeps_the_events_with_the_name(world):
    user = world.users["nomember"]
    audit_record(kind=AuditKind.LOGIN, user=user)
    user.delete()
    event = AuditEvent.objects.get()
    assert event.user is None
    assert event.username == "nomember"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgres_purge_flag_never_reaches_recent_rows(db):
    audit_record(kind=AuditKind.OTHER, message="recent")
    AuditEvent.objects.create(kind=AuditKind.OTHER, at=timezone.now() - timedelta(days=400))
    # Without the flag, not even old rows go.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE message = ''")
    assert AuditEvent.objects.count() == 2
    # With it (SET LOCAL lasts until the end of the test's transaction), old rows only.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL xianghu.audit_purge = 'on'")
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute("DELETE FROM core_auditevent")
        assert AuditEvent.objects.count() == 2
        cursor.execute("DELETE FROM core_auditevent WHERE message = ''")
    assert list(AuditEvent.objects.values_list("message", flat=True)) == ["recent"]


def test_purge_deletes_only_rows_older_than_the_retention(db, settings):
    now = timezone.now()
    for days in (400, 200, 150, 0):
        AuditEvent.objects.create(kind=AuditKind.OTHER, message=f"{days}", at=now - timedelta(days))
    settings.XH_AUDIT_RETENTION_DAYS = 300
    out = io.StringIO()
    call_command("audit_purge", "--dry-run", stdout=out)
    assert out.getvalue().startswith("1 ")
    assert AuditEvent.objects.count() == 4
    call_command("audit_purge", stdout=io.StringIO())
    assert sorted(
        AuditEvent.objects.exclude(message="audit_purge").values_list("message", flat=True)
    ) == [
        "0",
        "150",
        "200",
    ]
    call_command("audit_purge", "--days", "180", stdout=io.StringIO())
    left = set(AuditEvent.objects.exclude(message="audit_purge").values_list("message", flat=True))
    assert left == {"0", "150"}
    # The purge itself is on the record.
    purges = AuditEvent.objects.filter(message="audit_purge").order_by("id")
    assert [p.detail["deleted"] for p in purges] == [1, 1]
    with pytest.raises(CommandError):
        call_command("audit_purge", "--days", str(MINIMUM_RETENTION_DAYS - 1))
    settings.XH_AUDIT_RETENTION_DAYS = 30
    with pytest.raises(CommandError):
        call_command("audit_purge")


# ---- the auditors' page ------------------------------------------------------------------------


def _seed(world) -> None:
    a, b = world.county.pk, world.other_county.pk
    audit_record(kind=AuditKind.LOGIN, username="a-login", county_id=a)
    audit_record(kind=AuditKind.LOGIN_FAILED, username="a-fail", county_id=a, outcome="failure")
    audit_record(kind=AuditKind.LOGIN, username="b-login", county_id=b)
    audit_record(kind=AuditKind.LOGIN_FAILED, username="unknown-name", outcome="failure")


def _names(response) -> set[str]:
    return {e.username for e in response.context["page"]}


def test_auditor_sees_own_county_only(world, auditor, client):
    _seed(world)
    world.login(client, "auditor")
    r = client.get("/audit/")
    assert r.status_code == 200
    # Their own login (force_login fires the signal) is an event of their county too.
    assert _names(r) == {"a-login", "a-fail", "auditor"}
    # The system administrator of the county too.
    world.login(client, "admin")
    assert _names(client.get("/audit/")) >= {"a-login", "a-fail"}
    assert "b-login" not in _names(client.get("/audit/"))
    # An auditor outside every county (province level) reads the whole log.
    province = f.OrganisationFactory(
        name="省委办公厅", kind=OrgKind.COUNTY_OFFICE, region=f.province(), county=None
    )
    world.users["p_auditor"] = f.UserFactory(username="p_auditor")
    f.MembershipFactory(
        user=world.users["p_auditor"], organisation=province, role=Role.SECURITY_AUDITOR
    )
    world.login(client, "p_auditor")
    assert _names(client.get("/audit/")) >= {"a-login", "a-fail", "b-login", "unknown-name"}
    # So does a superuser.
    client.force_login(f.UserFactory(username="root", is_superuser=True, is_staff=True))
    assert _names(client.get("/audit/")) >= {"a-login", "a-fail", "b-login", "unknown-name"}


@pytest.mark.parametrize("key", ["reporter", "operator", "assessor", "operator_b", "citizen"])
def test_everyone_else_is_refused(world, client, key):
    world.login(client, key)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/?format=csv").status_code == 403


def test_anonymous_is_sent_to_login(db, client):
    r = client.get("/audit/")
    assert r.status_code == 302
    assert r["Location"].startswith(LOGIN)


def test_filters(world, auditor, client):
    _seed(world)
    old = AuditEvent.objects.create(
        kind=AuditKind.LOGIN,
        username="a-old",
        county_id=world.county.pk,
        at=timezone.now() - timedelta(days=10),
    )
    world.login(client, "auditor")
    assert _names(client.get("/audit/", {"kind": "login_failed"})) == {"a-fail"}
    assert _names(client.get("/audit/", {"outcome": "success"})) == {"a-login", "a-old", "auditor"}
    assert _names(client.get("/audit/", {"user": "OLD"})) == {"a-old"}
    day = timezone.localtime(old.at).date()
    assert _names(client.get("/audit/", {"since": day, "until": day})) == {"a-old"}
    assert "a-old" not in _names(client.get("/audit/", {"since": day + timedelta(days=1)}))
    # A reversed range says what is wrong.
    r = client.get("/audit/", {"since": day, "until": day - timedelta(days=1)})
    assert r.status_code == 200
    assert r.context["form"].errors["until"]


def test_csv_export_is_filtered_and_itself_audited(world, auditor, client):
    _seed(world)
    AuditEvent.objects.create(
        kind=AuditKind.LOGIN_FAILED, username="=HYPERLINK(1)", county_id=world.county.pk
    )
    world.login(client, "auditor")
    r = client.get("/audit/", {"kind": "login_failed", "format": "csv"})
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0][:4] == ["time", "kind", "outcome", "username"]
    assert sorted(row[3] for row in rows[1:]) == ["'=HYPERLINK(1)", "a-fail"]
    [export] = events(AuditKind.EXPORT)
    assert export.user == auditor
    assert export.path == "/audit/"
    assert export.county_id == world.county.pk


def test_the_page_is_paginated_with_few_queries(
    world, auditor, client, django_assert_max_num_queries
):
    for i in range(120):
        AuditEvent.objects.create(
            kind=AuditKind.LOGIN, username=f"u{i:03d}", county_id=world.county.pk
        )
    world.login(client, "auditor")
    # Session, user, memberships and the page's chrome, then one count and one page of
    # events: the number does not grow with the log.
    with django_assert_max_num_queries(12):
        r = client.get("/audit/", {"page": 2})
    assert r.status_code == 200
    page = r.context["page"]
    assert page.number == 2
    assert len(page) == 50
    assert page.paginator.count == 121  # and the auditor's own login


def test_the_workbench_links_the_log_for_auditors_and_admins(world, auditor, client):
    for key in ("auditor", "admin"):
        world.login(client, key)
        r = client.get("/")
        assert r.status_code == 200
        assert 'href="/audit/"' in r.content.decode()
    world.login(client, "operator")
    assert 'href="/audit/"' not in client.get("/").content.decode()
