"""Personal data (PIPL, docs/privacy.md): the registry, the purge of expired values, the
export of one person's data, and the masking of what the purge leaves."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone, translation

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.calls import services as call_services
from xianghu.calls.models import Call, CallEvent
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import State
from xianghu.core.management.commands.worker import resolve_periodic
from xianghu.core.masking import ANONYMISED, mask_email, mask_name, mask_phone
from xianghu.core.privacy import tasks as privacy_tasks
from xianghu.core.privacy.registry import Subject, kinds, retention_days
from xianghu.core.privacy.services import (
    personal_data_due,
    personal_data_export,
    personal_data_purge,
)
from xianghu.integrations.hotline.models import Ticket
from xianghu.participation.models import PublicReport, ReportStatus
from xianghu.participation.models_coord import Stakeholder, StakeholderKind
from xianghu.participation.models_public import (
    ApplicationStatus,
    CodeChannel,
    OrganisationApplication,
    PublicKind,
    VerificationCode,
)

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = timedelta(days=400)  # past the default retention of 365 days
RECENTLY = timedelta(days=10)


def _call(world: Any, lists: Any, n: int, *, state: str, ended: timedelta | None = None) -> Call:
    call, _created = call_services.call_create(
        actor=as_(world, "reporter"),
        caller=world.orgs["t1"],
        draft=CallDraft(
            title=f"路灯不亮 {n}", description="王庄镇兴隆街路灯不亮。", location=world.t1
        ),
    )
    changed = timezone.now() - (ended or timedelta(0))
    Call.objects.filter(pk=call.pk).update(state=state, state_changed_at=changed)
    call.refresh_from_db()
    return call


def _report(world: Any, token: str, **kw: Any) -> PublicReport:
    values: dict[str, Any] = {
        "county": world.county,
        "township": world.t1,
        "token": token,
        "description": f"路边堆放易燃物 {token}",
        "phone": "13800001111",
        "email": "someone@example.com",
    }
    values.update(kw)
    return PublicReport.objects.create(**values)


def _ticket(world: Any, number: str, **kw: Any) -> Ticket:
    values: dict[str, Any] = {
        "county": world.county,
        "number": number,
        "content": "王庄镇兴隆街路灯不亮",
        "caller_name": "张三丰",
        "caller_phone": "13812345678",
        "received_at": timezone.now() - RECENTLY,
    }
    values.update(kw)
    return Ticket.objects.create(**values)


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The commands' messages are read in English here (the UI default is zh-hans)."""
    with translation.override("en"):
        yield


@pytest.fixture
def held(world: Any, lists: Any) -> dict[str, Any]:
    """Personal data of every purgeable kind, some expired and some not."""
    now = timezone.now()
    old_closed = _call(world, lists, 1, state=State.CLOSED, ended=LONG_AGO)
    new_closed = _call(world, lists, 2, state=State.CLOSED, ended=RECENTLY)
    old_open = _call(world, lists, 3, state=State.IN_PROGRESS, ended=LONG_AGO)
    old_closed_2 = _call(world, lists, 4, state=State.CANCELLED, ended=LONG_AGO)
    old_open_2 = _call(world, lists, 5, state=State.IN_PROGRESS, ended=LONG_AGO)
    r: dict[str, Any] = {"calls": [old_closed, new_closed, old_open, old_closed_2, old_open_2]}
    accepted = ReportStatus.ACCEPTED
    r["report_expired"] = _report(world, "r-exp", status=accepted, call=old_closed)
    r["report_recent"] = _report(world, "r-new", status=accepted, call=new_closed)
    r["report_open_call"] = _report(world, "r-open", status=accepted, call=old_open)
    r["report_new"] = _report(world, "r-triage")
    PublicReport.objects.filter(pk=r["report_new"].pk).update(created_at=now - LONG_AGO)
    r["report_rejected"] = _report(
        world, "r-rej", status=ReportStatus.REJECTED, decided_at=now - LONG_AGO, email=""
    )
    # Merged long ago into a report whose call is still open: its reporter is still told.
    r["report_merged_open"] = _report(
        world,
        "r-m-open",
        status=ReportStatus.MERGED,
        decided_at=now - LONG_AGO,
        merged_into=r["report_open_call"],
    )
    r["report_merged_done"] = _report(
        world,
        "r-m-done",
        status=ReportStatus.MERGED,
        decided_at=now - LONG_AGO,
        merged_into=r["report_expired"],
    )
    r["ticket_expired"] = _ticket(world, "T-exp", call=old_closed_2, disposition="call")
    r["ticket_open_call"] = _ticket(world, "T-open", call=old_open_2, disposition="call")
    r["ticket_unhandled_old"] = _ticket(world, "T-old", received_at=now - LONG_AGO)
    r["ticket_recent"] = _ticket(world, "T-new")
    r["code_old"] = VerificationCode.objects.create(
        channel=CodeChannel.SMS,
        address="13800001111",
        purpose="report",
        code_hash="x" * 64,
        expires_at=now,
    )
    VerificationCode.objects.filter(pk=r["code_old"].pk).update(created_at=now - LONG_AGO)
    r["code_new"] = VerificationCode.objects.create(
        channel=CodeChannel.EMAIL,
        address="someone@example.com",
        purpose="report",
        code_hash="y" * 64,
        expires_at=now,
    )
    r["grid_inactive"] = Stakeholder.objects.create(
        county=world.county,
        kind=StakeholderKind.GRID_WORKER,
        name="网格员甲",
        contact_name="李四",
        contact_phone="13900002222",
        is_active=False,
    )
    r["grid_active"] = Stakeholder.objects.create(
        county=world.county,
        kind=StakeholderKind.GRID_WORKER,
        name="网格员乙",
        contact_name="王五",
        contact_phone="13900003333",
    )
    Stakeholder.objects.update(updated_at=now - LONG_AGO)
    applicant = f.UserFactory(username="applicant", is_public=True)
    r["application_refused"] = OrganisationApplication.objects.create(
        applicant=applicant,
        kind=PublicKind.VOLUNTEER_TEAM,
        name="兴隆街志愿队",
        county=world.county,
        contact_phone="13700004444",
        status=ApplicationStatus.REJECTED,
        decided_at=now - LONG_AGO,
    )
    r["application_pending"] = OrganisationApplication.objects.create(
        applicant=applicant,
        kind=PublicKind.VOLUNTEER_TEAM,
        name="柳林志愿队",
        county=world.county,
        contact_phone="13700005555",
    )
    return r


EXPIRED = (
    "report_expired",
    "report_rejected",
    "report_merged_done",
    "ticket_expired",
    "ticket_unhandled_old",
    "code_old",
    "grid_inactive",
    "application_refused",
)
KEPT = (
    "report_recent",
    "report_open_call",
    "report_new",
    "report_merged_open",
    "ticket_open_call",
    "ticket_recent",
    "code_new",
    "grid_active",
    "application_pending",
)
PERSONAL = {
    PublicReport: ("phone", "email"),
    Ticket: ("caller_name", "caller_phone"),
    VerificationCode: ("address",),
    Stakeholder: ("contact_name", "contact_phone"),
    OrganisationApplication: ("contact_phone",),
}


def _values(obj: Any) -> dict[str, Any]:
    fresh = type(obj).objects.get(pk=obj.pk)
    return {name: getattr(fresh, name) for name in PERSONAL[type(obj)]}


def _snapshot(held: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: _values(held[key]) for key in (*EXPIRED, *KEPT)}


def test_every_kind_is_registered_documented_and_configured() -> None:
    keys = {kind.key for kind in kinds()}
    assert {
        "accounts.user",
        "participation.report_contact",
        "participation.verification_address",
        "participation.stakeholder_contact",
        "participation.application_contact",
        "integrations.hotline_caller",
    } <= keys
    doc = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    for kind in kinds():
        assert f"`{kind.key}`" in doc, kind.key
        if kind.retention_setting:
            # Every retention is a setting of its own, documented with its kind.
            assert hasattr(settings, kind.retention_setting), kind.retention_setting
            assert kind.retention_setting in doc
            assert retention_days(kind) == kind.default_days


def test_the_dry_run_counts_per_kind_and_changes_nothing(held: dict[str, Any]) -> None:
    before = _snapshot(held)
    out = StringIO()
    call_command("privacy_purge", "--dry-run", stdout=out)
    assert _snapshot(held) == before
    text = out.getvalue()
    assert "participation.report_contact: 3 " in text
    assert "integrations.hotline_caller: 2 " in text
    assert "participation.verification_address: 1 " in text
    assert "participation.stakeholder_contact: 1 " in text
    assert "participation.application_contact: 1 " in text
    assert "accounts.user: " in text  # kept: listed without a count


def test_the_purge_anonymises_only_expired_values_and_keeps_the_records(
    held: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    before = _snapshot(held)
    events = CallEvent.objects.count()
    calls = list(Call.objects.order_by("pk").values("pk", "state", "description"))
    with caplog.at_level(logging.INFO, logger="xianghu.security"):
        report = personal_data_purge(batch_size=2)  # several batches
    assert report.purged == len(EXPIRED)
    after = _snapshot(held)
    for key in KEPT:
        assert after[key] == before[key], key
    for key in EXPIRED:
        for name, value in after[key].items():
            # What was held became the marker; what was empty stays empty.
            assert value == (ANONYMISED if before[key][name] else ""), (key, name)
    assert after["report_rejected"]["email"] == ""
    # The records stay whole: the reports, tickets and calls, and the call's events.
    expired = PublicReport.objects.get(pk=held["report_expired"].pk)
    assert expired.description == "路边堆放易燃物 r-exp"
    assert expired.status == ReportStatus.ACCEPTED
    assert expired.call_id == held["calls"][0].pk
    assert Ticket.objects.get(pk=held["ticket_expired"].pk).content == "王庄镇兴隆街路灯不亮"
    assert CallEvent.objects.count() == events
    assert list(Call.objects.order_by("pk").values("pk", "state", "description")) == calls
    logged = [r for r in caplog.records if r.getMessage() == "personal data purged"]
    assert len(logged) == 1
    assert logged[0].rows == len(EXPIRED)  # type: ignore[attr-defined]


def test_the_purge_is_idempotent(held: dict[str, Any]) -> None:
    first = personal_data_purge()
    once = _snapshot(held)
    second = personal_data_purge()
    assert first.purged == len(EXPIRED)
    assert second.purged == 0
    assert second.due == 0
    assert _snapshot(held) == once


def test_retention_is_configured_per_kind(held: dict[str, Any]) -> None:
    # A shorter retention of reporters' contact reaches the report closed 10 days ago; a
    # retention of 0 keeps the hotline callers.
    with override_settings(XH_RETENTION_REPORT_CONTACT_DAYS=5, XH_RETENTION_HOTLINE_CALLER_DAYS=0):
        report = personal_data_purge(only=None)
    counts = {c.key: c for c in report.counts}
    assert counts["participation.report_contact"].purged == 4
    assert counts["integrations.hotline_caller"].days is None
    assert counts["integrations.hotline_caller"].purged == 0
    assert _values(held["report_recent"]) == {"phone": ANONYMISED, "email": ANONYMISED}
    assert _values(held["ticket_unhandled_old"])["caller_phone"] == "13812345678"
    # The report still waiting for triage is never purged, however old.
    assert _values(held["report_new"])["phone"] == "13800001111"


def test_the_command_purges_one_kind_and_refuses_an_unknown_one(held: dict[str, Any]) -> None:
    out = StringIO()
    call_command("privacy_purge", "--kind", "integrations.hotline_caller", stdout=out)
    assert "integrations.hotline_caller: 2 " in out.getvalue()
    assert _values(held["ticket_expired"])["caller_phone"] == ANONYMISED
    assert _values(held["report_expired"])["phone"] == "13800001111"
    with pytest.raises(CommandError):
        call_command("privacy_purge", "--kind", "nothing.here", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("privacy_purge", "--batch-size", "0", stdout=StringIO())


def test_the_worker_purges_daily(held: dict[str, Any]) -> None:
    periodic = {p.path: p for p in resolve_periodic(settings.XH_PERIODIC_TASKS)}
    purge = periodic["xianghu.core.privacy.tasks.privacy_purge"]
    assert purge.task is privacy_tasks.privacy_purge
    assert purge.every == timedelta(days=1)
    result = privacy_tasks.privacy_purge.enqueue()
    assert result.return_value["kinds"]["participation.report_contact"]["purged"] == 3
    assert not personal_data_due(
        kind=next(k for k in kinds() if k.key == "integrations.hotline_caller")
    ).exists()


def test_masking_shows_the_marker_as_it_is() -> None:
    assert mask_phone(ANONYMISED) == ANONYMISED
    assert mask_email(ANONYMISED) == ANONYMISED
    assert mask_name(ANONYMISED) == ANONYMISED
    # and masks real values as before
    assert mask_phone("13812345678") == "138****5678"


# ---- export -----------------------------------------------------------------------------------


@pytest.fixture
def person(world: Any, lists: Any) -> dict[str, Any]:
    """One resident known by a phone, an e-mail and an account, across the apps."""
    user = f.UserFactory(
        username="resident", is_public=True, phone="13655556666", email="Resident@Example.cn"
    )
    return {
        "user": user,
        # with the account, no contact of its own: found through the account
        "by_account": _report(world, "p-acc", reporter=user, phone="", email=""),
        # anonymous, with the phone
        "by_phone": _report(world, "p-phone", phone="13655556666", email=""),
        "ticket": _ticket(world, "T-person", caller_phone="13655556666", caller_name="赵六"),
        "code": VerificationCode.objects.create(
            channel=CodeChannel.EMAIL,
            address="resident@example.cn",
            purpose="report",
            code_hash="z" * 64,
            expires_at=timezone.now(),
        ),
        "someone_else": _report(world, "p-other", phone="13999999999", email="x@example.cn"),
    }


def _ids(export: dict[str, Any], key: str) -> set[Any]:
    return {row["id"] for row in export["kinds"][key]["rows"]}


def test_the_export_finds_the_person_across_the_apps(
    person: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="xianghu.security"):
        export = personal_data_export(
            subject=Subject.of(phones=["13655556666"]), reason="本人申请 2026-11-27"
        )
    user = person["user"]
    assert _ids(export, "accounts.user") == {user.pk}
    assert export["kinds"]["accounts.user"]["rows"][0]["email"] == "Resident@Example.cn"
    assert _ids(export, "participation.report_contact") == {
        person["by_account"].pk,
        person["by_phone"].pk,
    }
    assert _ids(export, "integrations.hotline_caller") == {person["ticket"].pk}
    ticket_row = export["kinds"]["integrations.hotline_caller"]["rows"][0]
    assert ticket_row["caller_name"] == "赵六"
    assert ticket_row["county"] == person["ticket"].county_id
    # The account's e-mail (any case) found the one-time code sent to it.
    assert _ids(export, "participation.verification_address") == {person["code"].pk}
    assert export["subject"]["user_ids"] == [user.pk]
    json.dumps(export)  # plain JSON
    logged = [r for r in caplog.records if r.getMessage() == "personal data exported"]
    assert len(logged) == 1
    record: Any = logged[0]
    assert record.reason == "本人申请 2026-11-27"
    assert record.rows == 5
    # The log holds the identifiers masked only.
    assert "13655556666" not in json.dumps(record.subject)
    assert record.subject["phones"] == ["136****6666"]


def test_an_anonymised_value_identifies_nobody(held: dict[str, Any]) -> None:
    personal_data_purge()
    assert not Subject.of(phones=[ANONYMISED], emails=[ANONYMISED])
    with pytest.raises(ValueError, match="needs a phone"):
        personal_data_export(subject=Subject.of(phones=[ANONYMISED]), reason="x")


def test_the_export_command_writes_json_and_excel(person: dict[str, Any], tmp_path: Path) -> None:
    out, xlsx = tmp_path / "export.json", tmp_path / "export.xlsx"
    err = StringIO()
    call_command(
        "privacy_export",
        "--user",
        "resident",
        "--reason",
        "本人来函",
        "--output",
        str(out),
        "--xlsx",
        str(xlsx),
        stderr=err,
    )
    export = json.loads(out.read_text())
    # The user's account gave their phone, which found the anonymous report and the ticket.
    assert _ids(export, "participation.report_contact") == {
        person["by_account"].pk,
        person["by_phone"].pk,
    }
    assert _ids(export, "integrations.hotline_caller") == {person["ticket"].pk}
    assert person["someone_else"].pk not in _ids(export, "participation.report_contact")
    from openpyxl import load_workbook

    book = load_workbook(xlsx)
    assert book.sheetnames[0] == "summary"
    assert "integrations.hotline_caller" in book.sheetnames
    with pytest.raises(CommandError):  # who asked must be said
        call_command("privacy_export", "--phone", "13655556666", "--reason", " ")
    with pytest.raises(CommandError):
        call_command("privacy_export", "--reason", "本人来函")
    with pytest.raises(CommandError):
        call_command("privacy_export", "--user", "nobody-here", "--reason", "本人来函")
