"""Notices (通报) and rectification replies: who is named (driven through real calls with
explicit times), generating and issuing, replies by the right and the wrong organisation,
the decision flow to closure, who sees what, and the PDF and Excel exports."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from openpyxl import load_workbook

from tests.assessment.conftest import t
from tests.assessment.test_accountability_exports import pdf_text
from tests.calls.conftest import as_
from xianghu.assessment import notices as svc
from xianghu.assessment.models import (
    EntryStatus,
    Notice,
    NoticeCategory,
    NoticeEntry,
    RectificationReply,
    ReplyStatus,
)
from xianghu.assessment.notices_export import notice_pdf, notice_xlsx
from xianghu.assessment.periods import Period
from xianghu.core import access, pdf
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.notify import services as notify_services
from xianghu.notify.models import Notification

MARCH = Period.month(2025, 3)
#: When the notice is generated: every deadline of March has passed.
NOW = t(2025, 4, 15, 12, 0)


@pytest.fixture
def march(world, sent, step) -> dict[str, Any]:
    """March 2025 in 清河县:

    - A (应急管理局): dispatched Mon 03-03 09:00, never signed → no response;
    - B (应急管理局): signed 2.5 h after the 2-hour limit → late;
    - C (应急管理局): signed in time, responded an hour after the 24-hour limit → late;
    - F (应急管理局): on time;
    - D (公安局): on time, unsatisfied, redone, satisfied → satisfaction 50 %;
    - E (派出所): on time, satisfied → not named.
    """
    calls: dict[str, Any] = {}
    calls["A"] = sent(t(2025, 3, 3, 9, 0), title="危化品仓库未签收")
    b = calls["B"] = sent(t(2025, 3, 4, 9, 0), title="签收超时")
    step("handler", b, "sign", t(2025, 3, 4, 13, 30))
    step("handler", b, "respond", t(2025, 3, 4, 14, 0), mode="contact")
    c = calls["C"] = sent(t(2025, 3, 5, 9, 0), title="响应超时")
    step("handler", c, "sign", t(2025, 3, 5, 9, 30))
    step("handler", c, "respond", t(2025, 3, 6, 10, 0), mode="on_site")
    ok = calls["F"] = sent(t(2025, 3, 17, 9, 0), title="按时响应")
    step("handler", ok, "sign", t(2025, 3, 17, 9, 10))
    step("handler", ok, "respond", t(2025, 3, 17, 10, 0), mode="contact")
    d = calls["D"] = sent(t(2025, 3, 10, 9, 0), code=None, lead="police", title="不满意重办")
    step("police_leader", d, "sign", t(2025, 3, 10, 9, 10))
    step("police_leader", d, "respond", t(2025, 3, 10, 10, 0), mode="on_site")
    step("police_leader", d, "complete", t(2025, 3, 11, 10, 0), result="已处置。")
    step("reporter", d, "evaluate", t(2025, 3, 11, 15, 0), evaluation="unsatisfied", resolved="no")
    step("police_leader", d, "respond", t(2025, 3, 12, 9, 0), mode="on_site")
    step("police_leader", d, "complete", t(2025, 3, 12, 16, 0), result="复查到位。")
    step("reporter", d, "evaluate", t(2025, 3, 13, 9, 0), evaluation="satisfied", resolved="yes")
    e = calls["E"] = sent(t(2025, 3, 12, 9, 0), code="QH-01", lead="agency", title="派出所按时")
    step("agency_handler", e, "sign", t(2025, 3, 12, 9, 15))
    step("agency_handler", e, "respond", t(2025, 3, 12, 11, 0), mode="on_site")
    step("agency_handler", e, "complete", t(2025, 3, 13, 10, 0), result="已劝离。")
    step("reporter", e, "evaluate", t(2025, 3, 13, 15, 0), evaluation="satisfied", resolved="yes")
    for call in calls.values():
        call.refresh_from_db()
    return calls


def named(selection) -> list[tuple[str, str]]:
    return [(s.subject_name, s.category) for s in selection.entries]


def generate(world, key: str = "assessor", **kw: Any) -> Notice:
    return svc.notice_generate(
        actor=as_(world, key), county=world.county, period=kw.pop("period", MARCH), now=NOW, **kw
    )


# ---- who is named ----------------------------------------------------------------------------


def test_the_selection_names_no_late_and_poor_responders_with_their_calls(world, march):
    selection = svc.select_subjects(county=world.county, period=MARCH, now=NOW)
    dept, police = world.orgs["dept"].name, world.orgs["police"].name
    assert named(selection) == [
        (dept, NoticeCategory.NO_RESPONSE),
        (dept, NoticeCategory.LATE_RESPONSE),
        (police, NoticeCategory.POOR_RESPONSE),
    ]
    no_response, late, poor = selection.entries
    assert [(c.number, c.reasons) for c in no_response.calls] == [
        (march["A"].number, ("not_signed", "not_responded"))
    ]
    assert no_response.calls[0].due == t(2025, 3, 3, 11, 0)  # the signature was due
    assert [(c.number, c.reasons) for c in late.calls] == [
        (march["B"].number, ("late_sign",)),
        (march["C"].number, ("late_response",)),
    ]
    assert (late.calls[0].due, late.calls[0].done) == (t(2025, 3, 4, 11, 0), t(2025, 3, 4, 13, 30))
    assert [(c.number, c.reasons) for c in poor.calls] == [(march["D"].number, ("unsatisfied",))]
    # The figures agree with the metrics: no response + late = the response rate's failures.
    fig = late.figures
    assert fig is no_response.figures
    assert (fig["received"], fig["rated"], fig["no_response"], fig["late_response"]) == (4, 4, 1, 2)
    assert fig["response_failed"] == fig["no_response"] + fig["late_response"]
    assert fig["response_rate"] == "0.2500"
    assert poor.figures["satisfaction_rate"] == "0.5000"
    assert (poor.figures["evaluations"], poor.figures["unsatisfied"]) == (2, 1)
    assert selection.totals["received"] == 6


def test_a_deadline_not_yet_passed_names_nobody(world, sent):
    sent(t(2025, 3, 3, 9, 0))  # the signature is due at 11:00
    # At 10:00 it is pending, not "no response".
    selection = svc.select_subjects(county=world.county, period=MARCH, now=t(2025, 3, 3, 10, 0))
    assert selection.entries == ()
    # At 11:01 it is.
    selection = svc.select_subjects(county=world.county, period=MARCH, now=t(2025, 3, 3, 11, 1))
    assert named(selection) == [(world.orgs["dept"].name, NoticeCategory.NO_RESPONSE)]


def test_the_thresholds_decide(world, march):
    def categories(**criteria: Any) -> set[tuple[str, str]]:
        chosen = svc.criteria_of(criteria)
        return set(
            named(svc.select_subjects(county=world.county, period=MARCH, criteria=chosen, now=NOW))
        )

    dept, police = world.orgs["dept"].name, world.orgs["police"].name
    # Two late calls, fewer than 3: named only while the response rate (25 %) is below.
    assert (dept, "late_response") in categories(late_min=3)
    assert (dept, "late_response") not in categories(late_min=3, response_rate_below="25%")
    assert (dept, "late_response") in categories(late_min=3, response_rate_below="0.2501")
    # One dispatch without response: named from 1, not from 2.
    assert (dept, "no_response") not in categories(no_response_min=2)
    # 50 % satisfaction: below 80 %, not below 50 %; one unsatisfied evaluation.
    assert (police, "poor_response") not in categories(satisfaction_below="0.5")
    assert (police, "poor_response") in categories(satisfaction_below="0.5", unsatisfied_min=1)


def test_bad_criteria_are_refused_field_by_field():
    with pytest.raises(InvalidInput) as exc:
        svc.criteria_of(
            {"late_min": 0, "response_rate_below": "120%", "reply_days": "x", "colour": 1}
        )
    assert exc.value.code == "notice.criteria_invalid"
    assert {p["field"] for p in exc.value.detail} == {
        "late_min",
        "response_rate_below",
        "reply_days",
        "colour",
    }
    assert svc.criteria_of({"satisfaction_below": "85%"}).satisfaction_below == Decimal("0.8500")
    assert svc.criteria_of(None) == svc.DEFAULT_CRITERIA


# ---- generating and issuing --------------------------------------------------------------------


def test_generating_a_draft(world, march):
    notice = generate(world)
    assert (notice.status, notice.kind, notice.period_key) == ("draft", "monthly", "2025-03")
    assert (notice.starts_on.isoformat(), notice.ends_on.isoformat()) == (
        "2025-03-01",
        "2025-03-31",
    )
    assert notice.serial is None
    assert notice.issued_at is None
    assert notice.as_of == NOW
    assert notice.criteria["late_min"] == 2
    assert notice.criteria["response_rate_below"] == "0.8000"
    entries = list(notice.entries.order_by("position"))
    assert [(e.organisation_id, e.category) for e in entries] == [
        (world.orgs["dept"].pk, "no_response"),
        (world.orgs["dept"].pk, "late_response"),
        (world.orgs["police"].pk, "poor_response"),
    ]
    assert entries[0].calls[0]["number"] == march["A"].number
    assert entries[0].calls[0]["due"] == "2025-03-03T11:00:00+08:00"
    assert "6" in notice.summary
    assert "50.0%" in notice.summary  # 3 of 6 dispatches answered in time


def test_only_the_issuing_side_generates(world, march):
    for key in ("dleader", "tleader", "bianban", "operator_b"):
        with pytest.raises(PermissionDenied) as exc:
            generate(world, key)
        assert exc.value.code == "notice.not_allowed"
    assert not Notice.objects.exists()
    assert generate(world, "operator").status == "draft"


def test_one_notice_per_period_and_no_future_periods(world, march):
    first = generate(world)
    with pytest.raises(Conflict) as exc:
        generate(world, "operator")
    assert exc.value.code == "notice.exists"
    assert exc.value.detail == {"notice": first.pk, "status": "draft"}
    with pytest.raises(InvalidInput) as exc:
        generate(world, period=Period.month(2025, 5))  # NOW is in April
    assert exc.value.code == "assessment.period_future"
    assert Notice.objects.count() == 1


def test_issuing_numbers_the_notice_starts_the_deadlines_and_tells_the_named(
    world, march, django_capture_on_commit_callbacks
):
    notice = generate(world)
    with django_capture_on_commit_callbacks(execute=True):
        svc.notice_issue(actor=as_(world, "assessor"), notice=notice, at=NOW)
    notice.refresh_from_db()
    assert (notice.status, notice.year, notice.serial) == ("issued", 2025, 1)
    assert notice.issuer_org_id == world.orgs["office"].pk
    number = svc.notice_number(notice)
    assert world.county.name in number
    assert "2025" in number
    assert re.search(r"\D1\D*$", number), number
    # 10 working days from Tue 04-15 12:00: day 0 is 04-15; the 10th working day after
    # is Mon 04-28, Sunday 04-27 being a working day (调休 before the May holiday), at
    # the end of office hours.
    dues = set(notice.entries.values_list("reply_due", flat=True))
    assert dues == {t(2025, 4, 28, 17, 30)}
    assert set(notice.entries.values_list("status", flat=True)) == {"awaiting"}
    told = set(
        Notification.objects.filter(kind="notice.issued").values_list("user__username", flat=True)
    )
    assert told == {"handler", "dleader", "police_leader"}
    # A second notice of the year gets the next serial.
    other = generate(world, period=Period.month(2025, 2))
    NoticeEntry.objects.create(
        notice=other,
        organisation=world.orgs["dept"],
        subject_name=world.orgs["dept"].name,
        subject_kind="department",
        category="late_response",
    )
    svc.notice_issue(actor=as_(world, "operator"), notice=other, at=NOW + timedelta(hours=1))
    other.refresh_from_db()
    assert other.serial == 2


def test_an_empty_or_issued_notice_cannot_be_issued(world, march):
    empty = generate(world, period=Period.month(2025, 1))
    assert not empty.entries.exists()
    with pytest.raises(InvalidInput) as exc:
        svc.notice_issue(actor=as_(world, "assessor"), notice=empty, at=NOW)
    assert exc.value.code == "notice.empty"
    notice = generate(world)
    svc.notice_issue(actor=as_(world, "assessor"), notice=notice, at=NOW)
    for action in (
        lambda: svc.notice_issue(actor=as_(world, "assessor"), notice=notice, at=NOW),
        lambda: svc.notice_update(
            actor=as_(world, "assessor"), notice=notice, title="x", summary=""
        ),
        lambda: svc.notice_discard(actor=as_(world, "assessor"), notice=notice),
    ):
        with pytest.raises(Conflict) as exc:
            action()
        assert exc.value.code == "notice.not_draft"
    with pytest.raises(NotFound):  # a draft is not shown outside the issuing side
        svc.notice_issue(actor=as_(world, "dleader"), notice=empty, at=NOW)


def test_a_draft_is_edited_and_discarded(world, march):
    notice = generate(world)
    with pytest.raises(InvalidInput) as exc:
        svc.notice_update(actor=as_(world, "assessor"), notice=notice, title="  ", summary="")
    assert exc.value.code == "notice.invalid"
    svc.notice_update(
        actor=as_(world, "assessor"),
        notice=notice,
        title="关于三月份响应情况的通报",
        summary="正文",
    )
    notice.refresh_from_db()
    assert (notice.title, notice.summary) == ("关于三月份响应情况的通报", "正文")
    svc.notice_discard(actor=as_(world, "operator"), notice=notice)
    assert not Notice.objects.exists()
    assert not NoticeEntry.objects.exists()


# ---- replies -----------------------------------------------------------------------------------


@pytest.fixture
def issued(world, march) -> Notice:
    notice = generate(world)
    return svc.notice_issue(actor=as_(world, "assessor"), notice=notice, at=NOW)


def entry_of(notice: Notice, org, category: str) -> NoticeEntry:
    return notice.entries.get(organisation=org, category=category)


REPLY = {"text": "值班人员未及时查看派单，已查明原因。", "measures": "建立双人值守和超时提醒制度。"}


def test_a_reply_by_the_wrong_organisation_is_refused_and_nothing_is_stored(world, issued):
    entry = entry_of(issued, world.orgs["dept"], "no_response")
    for key in ("tleader", "police_leader", "handler", "assessor", "bianban"):
        with pytest.raises(PermissionDenied) as exc:
            svc.reply_submit(actor=as_(world, key), entry=entry, at=NOW, **REPLY)
        assert exc.value.code == "notice.not_your_entry", key
        assert world.orgs["dept"].name in str(exc.value.message)
    # Another county does not even see it; the public neither.
    for key in ("operator_b", "citizen", "volunteer"):
        with pytest.raises(NotFound):
            svc.reply_submit(actor=as_(world, key), entry=entry, at=NOW, **REPLY)
    assert not RectificationReply.objects.exists()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.AWAITING


def test_a_draft_cannot_be_answered(world, march):
    notice = generate(world)
    entry = entry_of(notice, world.orgs["dept"], "no_response")
    with pytest.raises(NotFound):
        svc.reply_submit(actor=as_(world, "dleader"), entry=entry, at=NOW, **REPLY)
    assert not RectificationReply.objects.exists()


def test_an_empty_reply_is_refused_field_by_field(world, issued):
    entry = entry_of(issued, world.orgs["dept"], "no_response")
    with pytest.raises(InvalidInput) as exc:
        svc.reply_submit(actor=as_(world, "dleader"), entry=entry, text=" ", measures="", at=NOW)
    assert exc.value.code == "notice.invalid"
    assert {p["field"] for p in exc.value.detail} == {"text", "measures"}
    with pytest.raises(InvalidInput):
        svc.reply_submit(
            actor=as_(world, "dleader"), entry=entry, text="x" * 4001, measures="y", at=NOW
        )
    assert not RectificationReply.objects.exists()


def test_the_reply_is_tracked_to_closure(world, issued, django_capture_on_commit_callbacks):
    entry = entry_of(issued, world.orgs["dept"], "no_response")
    dleader, assessor = as_(world, "dleader"), as_(world, "assessor")
    with django_capture_on_commit_callbacks(execute=True):
        first = svc.reply_submit(actor=dleader, entry=entry, at=t(2025, 4, 20, 10, 0), **REPLY)
    entry.refresh_from_db()
    assert (entry.status, first.status, first.late) == ("replied", "submitted", False)
    assert first.organisation_id == world.orgs["dept"].pk
    assert Notification.objects.filter(kind="notice.replied", user=world.users["assessor"]).exists()
    with pytest.raises(Conflict) as exc:
        svc.reply_submit(actor=dleader, entry=entry, at=t(2025, 4, 20, 11, 0), **REPLY)
    assert exc.value.code == "notice.reply_pending"
    # The named organisation does not decide on its own reply.
    with pytest.raises(PermissionDenied) as exc:
        svc.reply_decide(actor=dleader, entry=entry, decision="accept")
    assert exc.value.code == "notice.not_allowed"
    with pytest.raises(InvalidInput) as exc:
        svc.reply_decide(actor=assessor, entry=entry, decision="return", reason=" ")
    assert exc.value.code == "notice.reason_required"
    with pytest.raises(InvalidInput) as exc:
        svc.reply_decide(actor=assessor, entry=entry, decision="maybe")
    assert exc.value.code == "notice.decision_invalid"
    # Returned: a new deadline of 5 working days (Sunday 04-27 is a working day).
    with django_capture_on_commit_callbacks(execute=True):
        svc.reply_decide(
            actor=assessor,
            entry=entry,
            decision="return",
            reason="未说明超时提醒由谁负责。",
            at=t(2025, 4, 21, 9, 0),
        )
    entry.refresh_from_db()
    first.refresh_from_db()
    assert (entry.status, first.status) == ("returned", "returned")
    assert entry.reply_due == t(2025, 4, 27, 17, 30)
    assert Notification.objects.filter(
        kind="notice.reply_returned", user=world.users["dleader"]
    ).exists()
    # Replied again, late this time; accepted: closed.
    second = svc.reply_submit(actor=dleader, entry=entry, at=t(2025, 4, 29, 9, 0), **REPLY)
    assert second.late is True
    svc.reply_decide(
        actor=as_(world, "operator"), entry=entry, decision="accept", at=t(2025, 4, 29, 10, 0)
    )
    entry.refresh_from_db()
    second.refresh_from_db()
    assert (entry.status, entry.closed_at) == ("closed", t(2025, 4, 29, 10, 0))
    assert second.status == ReplyStatus.ACCEPTED
    assert second.decided_by_id == world.users["operator"].pk
    with pytest.raises(Conflict) as exc:
        svc.reply_submit(actor=dleader, entry=entry, at=t(2025, 4, 29, 11, 0), **REPLY)
    assert exc.value.code == "notice.entry_closed"
    with pytest.raises(Conflict) as exc:
        svc.reply_decide(actor=assessor, entry=entry, decision="accept")
    assert exc.value.code == "notice.no_reply"
    assert list(RectificationReply.objects.values_list("status", flat=True)) == [
        "returned",
        "accepted",
    ]


def test_the_department_answers_for_its_stationed_agency(world, march, sent):
    sent(t(2025, 3, 20, 9, 0), code="QH-01", lead="agency", title="派出所未签收")
    notice = svc.notice_issue(actor=as_(world, "assessor"), notice=generate(world), at=NOW)
    entry = entry_of(notice, world.orgs["agency"], "no_response")
    with pytest.raises(PermissionDenied) as exc:  # staff of the agency, not a leader
        svc.reply_submit(actor=as_(world, "agency_handler"), entry=entry, at=NOW, **REPLY)
    assert exc.value.code == "notice.not_your_entry"
    reply = svc.reply_submit(actor=as_(world, "police_leader"), entry=entry, at=NOW, **REPLY)
    assert reply.organisation_id == world.orgs["police"].pk
    assert svc.entries_to_answer(actor=as_(world, "police_leader")).filter(pk=entry.pk).exists()


def test_overdue_replies_are_visible(world, issued):
    entry = entry_of(issued, world.orgs["dept"], "no_response")
    assert svc.overdue_entries(notice=issued, now=t(2025, 4, 28, 17, 0)) == []
    late = svc.overdue_entries(notice=issued, now=t(2025, 4, 28, 18, 0))
    assert {e.pk for e in late} == set(issued.entries.values_list("pk", flat=True))
    svc.reply_submit(actor=as_(world, "dleader"), entry=entry, at=t(2025, 4, 30, 9, 0), **REPLY)
    late = svc.overdue_entries(notice=issued, now=t(2025, 4, 30, 10, 0))
    assert entry.pk not in {e.pk for e in late}  # replied: waiting for the decision


# ---- who sees what -----------------------------------------------------------------------------


def test_who_sees_notices_and_replies(world, march):
    draft = generate(world, period=Period.month(2025, 2))
    notice = svc.notice_issue(actor=as_(world, "assessor"), notice=generate(world), at=NOW)
    entry = entry_of(notice, world.orgs["dept"], "no_response")
    svc.reply_submit(actor=as_(world, "dleader"), entry=entry, at=NOW, **REPLY)

    def seen(key: str) -> set[int]:
        return set(svc.notice_list(actor=as_(world, key)).values_list("pk", flat=True))

    assert seen("assessor") == seen("operator") == {draft.pk, notice.pk}
    for key in ("bianban", "tleader", "handler", "agency_handler", "police_leader"):
        assert seen(key) == {notice.pk}, key
    for key in ("operator_b", "citizen", "volunteer", "nomember", "village_reporter"):
        assert seen(key) == set(), key
    replies = RectificationReply.objects.all()
    for key, count in (
        ("assessor", 1),
        ("dleader", 1),
        ("handler", 1),
        ("tleader", 0),
        ("police_leader", 0),
    ):
        assert access.visible(as_(world, key), replies).count() == count, key


# ---- the exports -------------------------------------------------------------------------------


def test_the_pdf_holds_the_notice(world, issued):
    data = notice_pdf(issued)
    assert data.startswith(b"%PDF-")
    text = re.sub(r"\s+", "", pdf_text(data))
    for expected in (
        issued.title,
        svc.notice_number(issued),
        world.orgs["dept"].name,
        world.orgs["police"].name,
        NoticeEntry.objects.filter(notice=issued).first().calls[0]["number"],
        "2025-04-2817:30",  # the reply deadline
    ):
        assert re.sub(r"\s+", "", expected) in text, expected
    assert world.orgs["agency"].name not in text
    if pdf.font_is_embedded():
        assert b"/FontFile2" in data
        assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYi", data)


def test_the_workbook_has_the_entries_calls_and_replies(world, issued, march):
    entry = entry_of(issued, world.orgs["dept"], "no_response")
    svc.reply_submit(actor=as_(world, "dleader"), entry=entry, at=NOW, **REPLY)
    book = load_workbook(
        io.BytesIO(notice_xlsx(issued, replies=True, actor=as_(world, "assessor")))
    )
    assert len(book.sheetnames) == 4
    summary, entries, calls, replies = (book[n] for n in book.sheetnames)
    assert issued.title in summary["A1"].value
    rows = list(entries.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3], r[4], r[5]) for r in rows] == [
        (world.orgs["dept"].name, 4, 1, 2),
        (world.orgs["dept"].name, 4, 1, 2),
        (world.orgs["police"].name, 1, 0, 0),
    ]
    call_rows = list(calls.iter_rows(min_row=2, values_only=True))
    assert [r[3] for r in call_rows] == [
        march["A"].number,
        march["B"].number,
        march["C"].number,
        march["D"].number,
    ]
    reply_rows = list(replies.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[5]) for r in reply_rows] == [(world.orgs["dept"].name, REPLY["text"])]
    # Someone who may not read the replies gets the sheet without them.
    book = load_workbook(io.BytesIO(notice_xlsx(issued, replies=True, actor=as_(world, "tleader"))))
    assert list(book[book.sheetnames[3]].iter_rows(min_row=2, values_only=True)) == []


# ---- the pages ---------------------------------------------------------------------------------


def login(world, key: str) -> Client:
    return world.login(Client(), key)


def test_the_generate_form_refuses_bad_periods_on_their_fields(world, march):
    client = login(world, "assessor")
    assert client.get("/assessment/notices/new/").status_code == 200
    base = {
        "county": world.county.pk,
        "no_response_min": 1,
        "late_min": 2,
        "response_rate_below": 80,
        "satisfaction_below": 80,
        "unsatisfied_min": 2,
        "reply_days": 10,
    }
    cases = [
        ({"period": ""}, "period"),
        ({"period": "2025-13"}, "period"),
        ({"period": "2999-01"}, "period"),
        ({"start": "2025-03-10", "end": "2025-03-01"}, "end"),
        ({"start": "2999-03-01", "end": "2999-03-02"}, "start"),
        ({"start": "2025-03-01"}, "end"),
    ]
    for data, field in cases:
        r = client.post("/assessment/notices/new/", {**base, **data})
        assert r.status_code == 400, data
        assert f'data-testid="error-{field}"' in r.content.decode(), data
    r = client.post("/assessment/notices/new/", {**base, "period": "2025-03", "late_min": 0})
    assert r.status_code == 400
    assert 'data-testid="error-late_min"' in r.content.decode()
    assert not Notice.objects.exists()
    r = client.post(
        "/assessment/notices/new/", {**base, "start": "2025-03-01", "end": "2025-03-31"}
    )
    assert r.status_code == 302
    notice = Notice.objects.get()
    assert (notice.kind, notice.period_key) == ("ad_hoc", "2025-03-01..2025-03-31")
    assert r["Location"] == f"/assessment/notices/{notice.pk}/"
    # The same period again leads to the existing notice.
    r = client.post(
        "/assessment/notices/new/", {**base, "start": "2025-03-01", "end": "2025-03-31"}
    )
    assert r.status_code == 302
    assert r["Location"] == f"/assessment/notices/{notice.pk}/"
    assert login(world, "dleader").get("/assessment/notices/new/").status_code == 403


def test_the_pages_of_an_issued_notice(world, issued, march):
    entry = entry_of(issued, world.orgs["dept"], "no_response")
    client = login(world, "assessor")
    html = client.get(f"/assessment/notices/{issued.pk}/").content.decode()
    assert 'data-status="issued"' in html
    assert march["A"].number in html
    assert f"/calls/{march['A'].pk}/" in html
    assert html.count('data-testid="entry-row"') == 3
    html = client.get(f"/assessment/notices/{issued.pk}/print/").content.decode()
    assert svc.notice_number(issued) in html
    assert 'data-testid="print-signature"' in html
    r = client.get(f"/assessment/notices/{issued.pk}/pdf/")
    assert r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert r["Content-Disposition"].startswith('attachment; filename="notice-371221-2025-03-2025-1')
    r = client.get(f"/assessment/notices/{issued.pk}/xlsx/")
    assert r.status_code == 200
    load_workbook(io.BytesIO(r.content))
    # The department leader sees the entry and replies; the township leader may not.
    leader = login(world, "dleader")
    html = leader.get(f"/assessment/notices/entries/{entry.pk}/").content.decode()
    assert 'data-testid="reply-form"' in html
    r = leader.post(f"/assessment/notices/entries/{entry.pk}/reply/", {"text": "", "measures": ""})
    assert r.status_code == 400
    assert 'data-testid="error-text"' in r.content.decode()
    r = login(world, "tleader").post(f"/assessment/notices/entries/{entry.pk}/reply/", REPLY)
    assert r.status_code == 403
    assert world.orgs["dept"].name in r.content.decode()  # whose entry it is
    assert not RectificationReply.objects.exists()
    r = leader.post(f"/assessment/notices/entries/{entry.pk}/reply/", REPLY)
    assert r.status_code == 302
    html = client.get(f"/assessment/notices/entries/{entry.pk}/").content.decode()
    assert 'data-testid="decide-form"' in html
    assert REPLY["measures"] in html
    r = client.post(f"/assessment/notices/entries/{entry.pk}/decide/", {"decision": "return"})
    assert r.status_code == 400
    assert 'data-testid="error-reason"' in r.content.decode()
    r = client.post(f"/assessment/notices/entries/{entry.pk}/decide/", {"decision": "accept"})
    assert r.status_code == 302
    entry.refresh_from_db()
    assert entry.status == "closed"
    # Other counties: 404; the list shows the leader's entries to answer.
    assert login(world, "operator_b").get(f"/assessment/notices/{issued.pk}/").status_code == 404
    html = leader.get("/assessment/notices/").content.decode()
    assert 'data-testid="to-answer-entry"' in html  # the late-response entry is still open


def test_the_workbench_links_to_the_notices(world, issued):
    html = login(world, "assessor").get("/").content.decode()
    assert "/assessment/notices/" in html
    html = login(world, "dleader").get("/").content.decode()
    assert "/assessment/notices/?tab=mine" in html
    html = login(world, "tleader").get("/").content.decode()
    assert "/assessment/notices/?tab=mine" not in html


def test_the_demo_issues_last_months_notice_once(world, march):
    from datetime import date

    from xianghu.demo.notice import build_demo_notice

    notice = build_demo_notice(county=world.county, today=date(2025, 4, 10))
    assert notice is not None
    assert notice.status == "issued"
    assert notice.period_key == "2025-03"
    assert notice.entries.exists()
    assert build_demo_notice(county=world.county, today=date(2025, 4, 10)) is None
    assert Notice.objects.count() == 1


# ---- notifications commit with the change (notify_services.notify_with_change) ----------------


def test_a_notice_tells_the_named_in_its_own_transaction(
    world, march, django_capture_on_commit_callbacks
):
    notice = generate(world)
    with django_capture_on_commit_callbacks(execute=False) as hooks:
        svc.notice_issue(actor=as_(world, "assessor"), notice=notice, at=NOW)
    # Written before any commit, and no hook left to do it.
    assert Notification.objects.filter(kind="notice.issued").count() == 3
    assert hooks == []


def test_a_failed_notification_is_logged_and_the_change_stays(world, march, monkeypatch, caplog):
    def broken(**kwargs):
        Notification.objects.create(user=world.users["handler"], title="half", kind="x")
        raise IntegrityError("the inbox is broken")

    monkeypatch.setattr(notify_services, "notify", broken)
    notice = generate(world)
    with transaction.atomic():
        svc.notice_issue(actor=as_(world, "assessor"), notice=notice, at=t(2025, 4, 15, 12))
        notice.refresh_from_db()
        assert notice.status == "issued"  # and the transaction is usable
    notice.refresh_from_db()
    assert (notice.status, notice.serial) == ("issued", 1)
    assert not Notification.objects.exists()  # undone to the savepoint, half and all
    assert any("notice" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
