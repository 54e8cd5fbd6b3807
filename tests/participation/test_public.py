"""Public accounts and public reporting on the website: registration with a one-time
code and consent, organisations verified by the township, the report form (place,
photos, contact), tracking, merge and decline as the reporter sees them, "me too", the
rating after the call closes, the reporter's updates, and the rate limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from tests.calls.conftest import as_
from tests.calls.test_attachments import png
from xianghu.accounts.models import User
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.notify.models import Notification
from xianghu.participation import public_accounts, public_reports, services
from xianghu.participation.models import Moderation, PublicReport, ReportStatus
from xianghu.participation.models_public import (
    ApplicationStatus,
    Consent,
    OrganisationApplication,
    PublicProfile,
    ReportPhoto,
    ReportSupport,
    ReportUpdate,
    VerificationCode,
)
from xianghu.regions.models import Membership, Region
from xianghu.regions.roles import Role


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()
    yield
    cache.clear()


def _code_from_mail() -> str:
    import re

    match = re.search(r"(\d{6})", mail.outbox[-1].subject)
    assert match, mail.outbox[-1].subject
    return match.group(1)


def report_post(client, world, meta=None, **kw):
    data = {
        "county": world.county.code,
        "description": "王庄镇1村村口路灯坏了一个月，晚上很黑。",
        "location": str(world.t1.pk),
        "address": "村口",
        "urgency": "normal",
        "idempotency_key": kw.pop("idempotency_key", f"k-{timezone.now().timestamp()}"),
    }
    data.update(kw)
    return client.post("/participation/report/", data, **(meta or {}))


def close_call(world, call, result="已更换路灯，恢复照明"):
    """Drive a public report's draft call to closed through the workflow."""
    from xianghu.calls.services import call_transition

    steps = [
        ("reporter", "submit", {}),
        ("tleader", "approve", {}),
        ("operator", "accept", {}),
        ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
        ("handler", "sign", {}),
        ("handler", "respond", {"mode": "on_site"}),
        ("handler", "complete", {"result": result}),
        ("reporter", "evaluate", {"evaluation": "satisfied", "resolved": "yes"}),
    ]
    for key, action, data in steps:
        call_transition(actor=as_(world, key), call=call, action=action, data=data)
    call.refresh_from_db()
    assert call.state == State.CLOSED
    return call


# ---- registration ---------------------------------------------------------------------------


def test_a_resident_registers_with_an_e_mail_code(world, lists, client):
    page = client.get("/participation/register/")
    assert page.status_code == 200
    r = client.post(
        "/participation/register/",
        {
            "kind": "resident",
            "contact": "Zhang@Example.com",
            "name": "张三",
            "password": "Qinghe@2026!",
            "password2": "Qinghe@2026!",
            "consent": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert r["Location"] == "/participation/register/verify/"
    assert not User.objects.filter(username="zhang@example.com").exists()  # not before the code
    code = _code_from_mail()
    row = VerificationCode.objects.get()
    assert code not in row.code_hash
    assert len(row.code_hash) == 64
    page = client.get("/participation/register/verify/").content.decode()
    assert "z***@example.com" in page
    wrong = "000000" if code != "000000" else "111111"
    r = client.post("/participation/register/verify/", {"code": wrong})
    assert r.status_code == 400
    assert "4" in r.content.decode()  # tries left
    r = client.post("/participation/register/verify/", {"code": code})
    assert r.status_code == 302
    user = User.objects.get(username="zhang@example.com")
    assert user.is_public
    assert user.email == "zhang@example.com"
    assert user.check_password("Qinghe@2026!")
    profile = PublicProfile.objects.get(user=user)
    assert profile.kind == "resident"
    assert profile.email_verified_at is not None
    consent = Consent.objects.get(user=user)
    assert consent.version == public_accounts.PRIVACY_VERSION
    assert client.get("/participation/mine/").status_code == 200  # logged in
    # the same contact cannot register twice
    client.logout()
    r = client.post(
        "/participation/register/",
        {
            "kind": "resident",
            "contact": "zhang@example.com",
            "password": "Qinghe@2026!",
            "password2": "Qinghe@2026!",
            "consent": "on",
        },
    )
    assert r.status_code == 400
    assert "已注册" in r.content.decode() or "already registered" in r.content.decode()


def test_registration_needs_consent_and_a_valid_contact(world, lists, client):
    r = client.post(
        "/participation/register/",
        {
            "kind": "resident",
            "contact": "12345",
            "password": "Qinghe@2026!",
            "password2": "Qinghe@2026!",
        },
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert 'data-testid="error-consent"' in html
    assert "Zhang" not in html
    assert not VerificationCode.objects.exists()
    r = client.post(
        "/participation/register/",
        {
            "kind": "resident",
            "contact": "12345",
            "password": "Qinghe@2026!",
            "password2": "Qinghe@2026!",
            "consent": "on",
        },
    )
    assert r.status_code == 400
    assert 'data-testid="error-contact"' in r.content.decode()


def test_codes_expire_and_allow_few_attempts(world, db):
    public_accounts.code_send(address="a@example.com", channel="email", purpose="t")
    code = _code_from_mail()
    for _ in range(public_accounts.CODE_ATTEMPTS):
        with pytest.raises(public_accounts.InvalidInput):
            public_accounts.code_verify(address="a@example.com", purpose="t", code="x")
    with pytest.raises(public_accounts.InvalidInput) as error:
        public_accounts.code_verify(address="a@example.com", purpose="t", code=code)
    assert error.value.code == "public.code_exhausted"
    public_accounts.code_send(address="a@example.com", channel="email", purpose="t")
    code = _code_from_mail()
    VerificationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(public_accounts.InvalidInput) as error:
        public_accounts.code_verify(address="a@example.com", purpose="t", code=code)
    assert error.value.code == "public.code_expired"
    public_accounts.code_send(address="a@example.com", channel="email", purpose="t")
    code = _code_from_mail()
    public_accounts.code_verify(address="a@example.com", purpose="t", code=code)
    with pytest.raises(public_accounts.InvalidInput):  # once only
        public_accounts.code_verify(address="a@example.com", purpose="t", code=code)


def test_a_code_that_cannot_be_sent_is_said_so(world, db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    settings.DEBUG = False
    with pytest.raises(public_accounts.InvalidInput) as error:
        public_accounts.code_send(address="a@example.com", channel="email", purpose="t")
    assert error.value.code == "public.code_not_sent"
    assert not VerificationCode.objects.exists()


def test_an_organisation_is_verified_by_its_township(
    world, lists, client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(public_accounts.secrets, "randbelow", lambda n: 246810)
    sent = []
    monkeypatch.setattr(public_accounts, "message_send", lambda **kw: sent.append(kw) or True)
    r = client.post(
        "/participation/register/",
        {
            "kind": "volunteer_team",
            "contact": "13900001234",
            "password": "Qinghe@2026!",
            "password2": "Qinghe@2026!",
            "org_name": "王庄镇蓝天救援队",
            "org_township": str(world.t1.pk),
            "org_description": "水上救援、应急转运，队员30人",
            "consent": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    # the SMS gateway is stubbed: the code went to the phone
    assert sent[0]["channel"] == "sms"
    assert sent[0]["address"] == "13900001234"
    assert "246810" in sent[0]["title"]
    code = "246810"
    assert client.post("/participation/register/verify/", {"code": code}).status_code == 302
    app = OrganisationApplication.objects.get()
    assert app.status == ApplicationStatus.PENDING
    assert app.township == world.t1
    assert app.contact_phone == "13900001234"
    mine = client.get("/participation/mine/").content.decode()
    assert "王庄镇蓝天救援队" in mine

    # another township's staff does not see it
    world.login(client, "reporter_t2")
    assert (
        "王庄镇蓝天救援队"
        not in client.get("/participation/organisations/pending/").content.decode()
    )
    assert client.post(f"/participation/organisations/pending/{app.pk}/approve/").status_code == 404
    # its township verifies it
    world.login(client, "tleader")
    page = client.get("/participation/organisations/pending/").content.decode()
    assert "王庄镇蓝天救援队" in page
    assert "139****1234" in page
    assert "13900001234" not in page
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/participation/organisations/pending/{app.pk}/approve/")
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.status == ApplicationStatus.APPROVED
    org = app.organisation
    assert org is not None
    assert org.kind == "volunteer_team"
    assert org.county == world.county
    assert Membership.objects.filter(
        user=app.applicant, organisation=org, role=Role.PUBLIC_USER
    ).exists()
    assert Notification.objects.filter(user=app.applicant, kind="public").exists()
    # decided: no second decision
    assert client.post(f"/participation/organisations/pending/{app.pk}/approve/").status_code == 404


# ---- the report form ------------------------------------------------------------------------


def test_an_anonymous_report_with_a_photo_and_a_contact(world, lists, client):
    r = report_post(
        client,
        world,
        contact="13800001111",
        consent="on",
        photos=[png()],
        description="路灯坏了，联系我13800001111，身份证370101199001011234",
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    report = PublicReport.objects.get()
    assert r["Location"] == f"/participation/track/{report.token}/"
    assert report.township == world.t1
    assert report.reporter is None
    assert report.phone == "13800001111"
    assert report.source == "web"
    assert report.moderation == Moderation.PENDING
    assert "13800001111" not in report.public_text
    assert Consent.objects.filter(report=report, purpose="report").exists()
    photo = ReportPhoto.objects.get()
    assert photo.content_type == "image/png"
    assert photo.moderation == Moderation.PENDING
    assert Path(photo.file.path).exists()
    html = client.get(r["Location"]).content.decode()
    assert report.token in html
    assert "13800001111" not in html
    assert "370101199001011234" not in html
    assert 'data-testid="photos-waiting"' in html
    assert client.get(f"/participation/photos/{photo.pk}/").status_code == 404  # not reviewed
    # the township's triage shows it masked
    world.login(client, "tleader")
    triage = client.get("/participation/triage/").content.decode()
    assert "138****1111" in triage
    assert "13800001111" not in triage
    assert client.get(f"/participation/photos/{photo.pk}/").status_code == 200


def test_a_contact_needs_consent(world, lists, client):
    r = report_post(client, world, contact="13800001111")
    assert r.status_code == 400
    assert 'data-testid="error-consent"' in r.content.decode()
    assert "王庄镇1村村口路灯坏了一个月" in r.content.decode()  # nothing lost
    assert not PublicReport.objects.exists()


def test_a_place_outside_every_township_is_refused_clearly(world, lists, client):
    other = Region.objects.get(pk=world.orgs["tb"].region_id)  # a township of another county
    r = report_post(client, world, location=str(other.pk))
    assert r.status_code == 400  # not even a choice of the county's form
    r = report_post(client, world, location="", address="火星基地", latitude="", longitude="")
    assert r.status_code == 400
    html = r.content.decode()
    assert 'data-testid="error-location"' in html
    assert world.county.name in html
    assert "火星基地" in html  # what was typed is still there
    assert not PublicReport.objects.exists()
    # not sure of the township, but the address names it
    r = report_post(client, world, location="", address="柳林镇集市东口")
    assert r.status_code == 302
    assert PublicReport.objects.get().township == world.t2


@pytest.mark.parametrize(
    ("upload", "code_text"),
    [
        (
            SimpleUploadedFile("a.png", b"MZ\x90\x00 not a picture", content_type="image/png"),
            "error-photos",
        ),
        (SimpleUploadedFile("a.txt", b"hello", content_type="text/plain"), "error-photos"),
    ],
)
def test_a_photo_that_is_not_an_image_is_refused(world, lists, client, upload, code_text):
    r = report_post(client, world, photos=[upload])
    assert r.status_code == 400
    assert f'data-testid="{code_text}"' in r.content.decode()
    assert not PublicReport.objects.exists()
    assert not ReportPhoto.objects.exists()


def test_a_photo_too_large_is_refused(world, lists, client, settings):
    settings.XH_ATTACHMENT_MAX_BYTES = 10
    r = report_post(client, world, photos=[png()])
    assert r.status_code == 400
    assert 'data-testid="error-photos"' in r.content.decode()
    assert not PublicReport.objects.exists()


def test_a_retry_makes_one_report(world, lists, client):
    report_post(client, world, idempotency_key="same")
    r = report_post(client, world, idempotency_key="same")
    assert r.status_code == 302
    assert PublicReport.objects.count() == 1


def test_an_account_report_is_its_own(world, lists, client):
    world.login(client, "citizen")
    page = client.get("/participation/report/").content.decode()
    assert 'name="contact"' not in page  # the account's contact is used
    assert report_post(client, world).status_code == 302
    report = PublicReport.objects.get()
    assert report.reporter == world.users["citizen"]
    assert "/participation/track/" in client.get("/participation/mine/").content.decode()


# ---- triage as the reporter sees it ---------------------------------------------------------


def _report(world, client, **kw):
    report_post(client, world, **kw)
    return PublicReport.objects.order_by("-id").first()


def test_accept_close_and_rate(world, lists, client, django_capture_on_commit_callbacks):
    world.login(client, "citizen")
    report = _report(world, client)
    with django_capture_on_commit_callbacks(execute=True):
        call = services.publicreport_accept(actor=as_(world, "tleader"), report=report)
    note = Notification.objects.get(user=world.users["citizen"])
    assert note.url == f"/participation/track/{report.token}/"
    html = client.get(note.url).content.decode()
    assert 'data-testid="rating-card"' not in html  # not closed yet
    r = client.post(f"/participation/track/{report.token}/rate/", {"rating": "5"})
    assert r.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        close_call(world, call, result="已更换路灯。联系人电话13912345678")
    assert Notification.objects.filter(user=world.users["citizen"]).count() == 2
    html = client.get(note.url).content.decode()
    assert 'data-testid="track-outcome"' in html
    assert "已更换路灯" in html
    assert "13912345678" not in html
    assert 'data-testid="rating-card"' in html
    kinds = list(report.updates.values_list("kind", flat=True))
    assert kinds[0] == "received"
    assert "accepted" in kinds
    assert kinds[-1] == "closed"
    # somebody else with the link cannot rate an account's report
    other = client.__class__()
    assert (
        other.post(f"/participation/track/{report.token}/rate/", {"rating": "1"}).status_code == 403
    )
    world.login(other, "volunteer")
    assert (
        other.post(f"/participation/track/{report.token}/rate/", {"rating": "1"}).status_code == 403
    )
    r = client.post(f"/participation/track/{report.token}/rate/", {"rating": "7"})
    assert r.status_code == 400
    r = client.post(
        f"/participation/track/{report.token}/rate/", {"rating": "4", "comment": "修得挺快"}
    )
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.rating == 4
    assert report.rating_comment == "修得挺快"
    r = client.post(f"/participation/track/{report.token}/rate/", {"rating": "1"})
    assert r.status_code == 400  # once
    report.refresh_from_db()
    assert report.rating == 4


def test_decline_and_merge_are_shown_to_the_reporter(
    world, lists, client, django_capture_on_commit_callbacks
):
    first = _report(world, client, contact="reporter@example.com", consent="on")
    second = _report(world, client, contact="13800002222", consent="on")
    third = _report(world, client, contact="third@example.com", consent="on")
    mail.outbox.clear()
    world.login(client, "tleader")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/participation/triage/{second.pk}/merge/", {"into": str(first.pk)})
    assert r.status_code == 302
    second.refresh_from_db()
    assert second.status == ReportStatus.MERGED
    assert second.merged_into == first
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/participation/triage/{third.pk}/reject/", {"reason": "不属于本镇管辖，请拨打12345"}
        )
    assert [m.to for m in mail.outbox] == [["third@example.com"]]  # SMS: no gateway in tests
    assert f"/participation/track/{third.token}/" in mail.outbox[0].body
    anon = client.__class__()
    html = anon.get(f"/participation/track/{third.token}/").content.decode()
    assert 'data-testid="track-reason"' in html
    assert "不属于本镇管辖" in html
    html = anon.get(f"/participation/track/{second.token}/").content.decode()
    assert 'data-testid="track-merged"' in html
    # the merged report follows the first one's case
    with django_capture_on_commit_callbacks(execute=True):
        call = services.publicreport_accept(actor=as_(world, "tleader"), report=first)
        close_call(world, call)
    html = anon.get(f"/participation/track/{second.token}/").content.decode()
    assert 'data-testid="track-outcome"' in html
    assert ReportUpdate.objects.filter(report=second, kind="closed").exists()
    assert 'data-testid="rating-card"' in html  # anonymous: the link is the key
    # merging is for the township's own new reports
    world.login(client, "reporter_t2")
    assert (
        client.post(f"/participation/triage/{first.pk}/merge/", {"into": str(third.pk)}).status_code
        == 404
    )


def test_track_lookup(world, lists, client):
    report = _report(world, client)
    r = client.get("/participation/track/", {"number": report.token.upper()})
    assert r.status_code == 302
    r = client.get("/participation/track/", {"number": "deadbeef"})
    assert r.status_code == 404
    assert 'data-testid="error-number"' in r.content.decode()
    assert client.get("/participation/track/nonexistent/").status_code == 404


# ---- me too ---------------------------------------------------------------------------------


def test_me_too_once_per_device_and_account(world, lists, client):
    report = _report(world, client)
    assert client.post(f"/participation/reports/{report.pk}/support/").status_code == 404
    public_reports.report_moderate(actor=as_(world, "tleader"), report=report, decision="approve")
    visitor = client.__class__()
    for _ in range(2):
        assert visitor.post(f"/participation/reports/{report.pk}/support/").status_code == 302
    report.refresh_from_db()
    assert report.support_count == 1
    world.login(client, "citizen")
    client.post(f"/participation/reports/{report.pk}/support/")
    client.post(f"/participation/reports/{report.pk}/support/")
    report.refresh_from_db()
    assert report.support_count == 2 == ReportSupport.objects.count()
    html = visitor.get("/participation/reports/").content.decode()
    assert 'data-testid="support-count">2<' in html


# ---- rate limits ----------------------------------------------------------------------------


def test_a_flood_of_reports_is_refused_with_429(world, lists, client, settings):
    settings.XH_PUBLIC_RATE_LIMITS = {"report": (2, 3600)}
    assert report_post(client, world).status_code == 302
    assert report_post(client, world).status_code == 302
    r = report_post(client, world)
    assert r.status_code == 429
    assert int(r["Retry-After"]) > 0
    assert 'data-testid="too-many"' in r.content.decode()
    r = client.post("/participation/report/", {"description": "x"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert PublicReport.objects.count() == 2
    # another address is not affected
    assert report_post(client, world, meta={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302


def test_a_flood_per_account_is_refused_from_any_address(world, lists, client, settings):
    settings.XH_PUBLIC_RATE_LIMITS = {"report": (1, 3600)}
    world.login(client, "citizen")
    assert report_post(client, world, meta={"REMOTE_ADDR": "10.0.0.1"}).status_code == 302
    assert report_post(client, world, meta={"REMOTE_ADDR": "10.0.0.2"}).status_code == 429


def test_registration_and_codes_are_rate_limited(world, lists, client, settings):
    settings.XH_PUBLIC_RATE_LIMITS = {"code": (1, 3600)}
    data = {
        "kind": "resident",
        "password": "Qinghe@2026!",
        "password2": "Qinghe@2026!",
        "consent": "on",
    }
    assert (
        client.post("/participation/register/", {**data, "contact": "a@example.com"}).status_code
        == 302
    )
    r = client.post("/participation/register/", {**data, "contact": "b@example.com"})
    assert r.status_code == 429
    assert len(mail.outbox) == 1


def test_the_chinese_429_page(world, lists, client, settings):
    settings.XH_PUBLIC_RATE_LIMITS = {"support": (0, 3600)}
    r = client.post("/participation/reports/1/support/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 429
    assert "error-message" in r.content.decode()


def test_call_count_is_unchanged_by_public_pages(world, lists, client):
    _report(world, client)
    assert Call.objects.count() == 0


DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(TASKS=DB_TASKS)
def test_a_visitor_is_messaged_by_a_task_that_commits_with_the_timeline_entry(
    world, lists, client, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    report = _report(world, client, contact="visitor@example.com", consent="on")
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False) as hooks, transaction.atomic():
        public_reports.update_add(
            report=report, kind=ReportUpdate.Kind.CLOSED, key="test:closed", text="已办结"
        )
    [task] = DBTaskResult.objects.filter(task_path="xianghu.participation.tasks.reporter_message")
    assert task.status == "READY"
    update = report.updates.get(key="test:closed")
    assert task.args_kwargs["args"] == [update.pk]
    assert hooks == []


def test_the_task_sends_the_message(world, lists, client):
    from xianghu.participation.tasks import reporter_message

    report = _report(world, client, contact="visitor@example.com", consent="on")
    update = public_reports.update_add(
        report=report, kind=ReportUpdate.Kind.CLOSED, key="test:closed", text="已办结", notify=False
    )
    assert update is not None
    mail.outbox.clear()
    reporter_message.call(update.pk)
    assert [m.to for m in mail.outbox] == [["visitor@example.com"]]
    assert f"/participation/track/{report.token}/" in mail.outbox[0].body
