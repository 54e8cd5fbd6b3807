"""The roll-up: kept in step with every event, always equal to a rebuild from the log, and
the fold's rules on hand-made logs."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.assessment.conftest import t
from tests.calls.conftest import as_
from tests.calls.test_attachments import png_bytes
from xianghu.assessment import rollup
from xianghu.assessment.facts import CallInfo, EventInfo, OrgInfo, facts_from_events
from xianghu.assessment.models import DispatchFact, EventFact, SubmissionFact
from xianghu.calls import services
from xianghu.calls.attachments import attachment_save
from xianghu.calls.models import CallEvent
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import TRANSITIONS, allowed_actions
from xianghu.core.errors import DomainError


def snapshot() -> tuple[list, list, list]:
    """Every row of the roll-up, without its id, in a stable order."""

    def rows(model: Any) -> list:
        return sorted(
            (
                tuple(sorted((k, v) for k, v in r.items() if k != "id"))
                for r in model.objects.values()
            ),
            key=repr,
        )

    return rows(DispatchFact), rows(EventFact), rows(SubmissionFact)


# ---- random walks: the live roll-up equals a rebuild

ALL_ACTIONS = [tr.action for tr in TRANSITIONS]
CALLER = {"submit", "withdraw", "evaluate", "note"}
LEADER = {"approve", "send_back"}
LEAD = {"sign", "request_return", "respond", "request_extension", "complete"}
SYSTEM = {"auto_close", "yellow_card", "red_card"}
LEAD_ACTORS = {"dept": "handler", "police": "police_leader", "agency": "agency_handler"}
ORGS = list(LEAD_ACTORS)
ENDINGS = {"withdraw", "merge", "send_back", "reject"}
GAPS = [timedelta(minutes=5), timedelta(hours=2), timedelta(days=1), timedelta(days=3)]


def actor_key(action: str, lead: str | None) -> str | None:
    if action in CALLER:
        return "reporter"
    if action in LEADER:
        return "tleader"
    if action in LEAD:
        return LEAD_ACTORS.get(lead or "dept", "handler")
    if action in SYSTEM:
        return None
    return "operator"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=1000),  # which action
            st.integers(min_value=0, max_value=9).map(lambda n: n == 0),  # any action at all
            st.sampled_from(ORGS),  # the lead of a dispatch or ruling
            st.lists(st.sampled_from(ORGS), max_size=2),  # assisting
            st.sampled_from(["satisfied", "basically", "unsatisfied"]),
            st.booleans(),  # approve an extension; attach a photo
            st.sampled_from(GAPS),
        ),
        min_size=5,
        max_size=40,
    )
)
def test_the_live_roll_up_always_equals_a_rebuild(world, lists, calendar, tmp_path, steps):
    from django.conf import settings as django_settings

    django_settings.MEDIA_ROOT = str(tmp_path / "media")
    with transaction.atomic():
        reporter = as_(world, "reporter")
        draft = CallDraft(
            title="道路塌陷", description="王庄镇1村村口道路塌陷。", location=world.t1
        )
        call, _ = services.call_create(actor=reporter, caller=world.orgs["t1"], draft=draft)
        other, _ = services.call_create(
            actor=reporter,
            caller=world.orgs["t1"],
            draft=CallDraft(title="另一件", description="另一件事。", location=world.t1),
        )
        when = t(2025, 3, 3, 9, 0)
        for action in ("submit", "approve"):
            services.call_transition(
                actor=as_(world, actor_key(action, None)), call=other, action=action, at=when
            )
        lead: str | None = None
        for pick, any_action, new_lead, assisting, evaluation, flag, gap in steps:
            options = ALL_ACTIONS if any_action else allowed_actions(call.state)
            if not options:
                break
            if pick % 8:  # mostly keep the call alive, so that walks reach the handling
                options = [a for a in options if a not in ENDINGS] or options
            action = options[pick % len(options)]
            when += gap
            key = actor_key(action, lead)
            data: dict[str, Any] = {
                "reason": "理由",
                "mode": "on_site",
                "text": "进展",
                "days": 2,
                "approve": flag,
                "result": "办结",
                "evaluation": evaluation,
                "resolved": "yes",
                "into": other.pk,
            }
            if action in ("dispatch", "rule"):
                data["lead"] = world.orgs[new_lead].pk
                data["assisting"] = [world.orgs[o].pk for o in assisting if o != new_lead]
            if action in ("yellow_card", "red_card") and lead is not None:
                data.update(clock="complete", organisation=world.orgs[lead].pk)
            try:
                with transaction.atomic():
                    event = services.call_transition(
                        actor=None if key is None else as_(world, key),
                        call=call,
                        action=action,
                        data=data,
                        at=when,
                    )
                    if flag and action in ("respond", "complete"):
                        photo = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
                        attachment_save(actor=as_(world, key), call=call, upload=photo, event=event)
            except DomainError:
                call.refresh_from_db()
                continue
            if action in ("dispatch", "rule"):
                lead = new_lead
                # A ruling that keeps the lead restarts its clocks on the same episode.
                assert DispatchFact.objects.filter(
                    call=call, subject=world.orgs[new_lead], role="lead", started_at=when
                ).exists()
        live = snapshot()
        report = rollup.rebuild(batch_size=1)
        assert report.calls == 2
        assert snapshot() == live
        transaction.set_rollback(True)


def test_a_refused_action_leaves_the_roll_up_as_it_was(world, sent, step):
    call = sent(t(2025, 3, 3, 9, 0))
    before = snapshot()
    with pytest.raises(DomainError):
        step("handler", call, "complete", t(2025, 3, 3, 10, 0), result="x")  # not signed
    assert snapshot() == before


def test_the_command_rebuilds_and_names_unknown_counties(world, sent, step):
    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "sign", t(2025, 3, 3, 9, 30))
    live = snapshot()
    DispatchFact.objects.all().delete()
    SubmissionFact.objects.all().delete()
    out = io.StringIO()
    call_command("assessment_rebuild", "--county", world.county.code, stdout=out)
    assert snapshot() == live
    assert "1 calls" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("assessment_rebuild", "--county", "999999")
    with pytest.raises(CommandError):
        call_command("assessment_rebuild", "--batch", "0")


def test_a_photo_saved_after_its_event_refreshes_the_evidence(
    world, sent, step, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "sign", t(2025, 3, 3, 9, 30))
    with transaction.atomic():
        event = step("handler", call, "respond", t(2025, 3, 3, 10, 0), mode="on_site")
        assert DispatchFact.objects.get(call=call).evidence is False
        photo = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
        attachment_save(actor=as_(world, "handler"), call=call, upload=photo, event=event)
    assert DispatchFact.objects.get(call=call).evidence is True


def test_ignored_actions_do_not_refresh(world, sent, step, django_assert_max_num_queries):
    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "sign", t(2025, 3, 3, 9, 30))
    step("handler", call, "respond", t(2025, 3, 3, 10, 0), mode="on_site")
    DispatchFact.objects.update(extension_days=99)  # a marker the fold would overwrite
    step("handler", call, "note", t(2025, 3, 3, 11, 0), text="进展")
    assert DispatchFact.objects.get(call=call).extension_days == 99
    step("operator", call, "remind", t(2025, 3, 3, 12, 0))
    assert DispatchFact.objects.get(call=call).extension_days == 99
    step("handler", call, "complete", t(2025, 3, 4, 10, 0), result="办结")
    assert DispatchFact.objects.get(call=call).extension_days == 0


# ---- the fold on hand-made logs

CALL = CallInfo(
    id=1,
    county_id=10,
    direction="up",
    caller_id=100,
    caller_kind="township",
    caller_township_id=1000,
    item_id=None,
    domain_id=None,
    urgency="normal",
)
ORG = {
    200: OrgInfo(200, "department", None, None),
    201: OrgInfo(201, "department", None, None),
    300: OrgInfo(300, "stationed_agency", 1000, 201),
}


def log(*entries: tuple[str, int, dict]) -> list[EventInfo]:
    start = t(2025, 3, 3, 9, 0)
    return [
        EventInfo(seq=i + 1, action=a, at=start + timedelta(minutes=m), data=d)
        for i, (a, m, d) in enumerate(entries)
    ]


def clocks(minutes: int) -> dict[str, str]:
    base = t(2025, 3, 3, 9, 0) + timedelta(minutes=minutes)
    return {
        "sign_due": (base + timedelta(hours=2)).isoformat(),
        "respond_due": (base + timedelta(hours=24)).isoformat(),
        "complete_due": (base + timedelta(days=7)).isoformat(),
    }


def test_a_ruling_for_another_lead_ends_the_old_episode_as_reassigned():
    facts = facts_from_events(
        CALL,
        log(
            ("approve", 0, {}),
            ("accept", 1, {}),
            ("dispatch", 2, {"lead": 200, "assisting": [201], **clocks(2)}),
            ("request_return", 10, {"reason": "x"}),
            ("refuse_return", 20, {"reason": "x"}),
            ("rule", 30, {"lead": 300, "assisting": [], **clocks(30)}),
            ("sign", 40, {}),
            ("red_card", 50, {"clock": "sign", "organisation": 200}),  # not the lead now
            ("yellow_card", 60, {"clock": "respond", "organisation": 300}),
        ),
        organisations=ORG,
    )
    old, assisting, new = facts.episodes
    assert (old.subject_id, old.excluded, old.exclusion, old.returns_refused) == (
        200,
        True,
        "reassigned",
        1,
    )
    assert (assisting.role, assisting.ended_at is not None, assisting.excluded) == (
        "assisting",
        True,
        False,
    )
    assert (new.subject_id, new.subject_kind, new.host_township_id, new.subject_parent_id) == (
        300,
        "stationed_agency",
        1000,
        201,
    )
    assert new.sign_seconds == 10 * 60
    assert [(e.kind, e.subject_id, e.from_host) for e in facts.events] == [
        ("yellow_card", 300, True)
    ]
    assert facts.submission is not None
    assert facts.submission.outcome == "valid"


def test_a_ruling_for_the_same_lead_continues_with_fresh_clocks():
    facts = facts_from_events(
        CALL,
        log(
            ("approve", 0, {}),
            ("accept", 1, {}),
            ("dispatch", 2, {"lead": 200, **clocks(2)}),
            ("sign", 3, {}),
            ("request_return", 10, {"reason": "x"}),
            ("refuse_return", 20, {"reason": "x"}),
            ("rule", 30, {"lead": 200, **clocks(30)}),
        ),
        organisations=ORG,
    )
    (episode,) = facts.episodes
    assert episode.received_at == t(2025, 3, 3, 9, 2)
    assert episode.started_at == t(2025, 3, 3, 9, 30)
    assert episode.signed_at is None  # signed before the return: must sign again
    assert (episode.return_requests, episode.returns_refused, episode.return_pending) == (
        1,
        1,
        False,
    )


def test_a_pending_return_extensions_and_redo_rounds():
    facts = facts_from_events(
        CALL,
        log(
            ("approve", 0, {}),
            ("accept", 1, {}),
            ("dispatch", 2, {"lead": 200, **clocks(2)}),
            ("sign", 3, {}),
            ("respond", 4, {"mode": "contact"}),
            (
                "decide_extension",
                5,
                {"approve": True, "days": 2, "complete_due": "2025-03-20T17:30:00+08:00"},
            ),
            ("decide_extension", 6, {"approve": False}),
            ("complete", 7, {}),
            ("evaluate", 8, {"evaluation": "unsatisfied"}),
            ("respond", 9, {"mode": "contact"}),
            (
                "decide_extension",
                10,
                {"approve": "true", "days": 1, "complete_due": "2025-04-20T17:30:00+08:00"},
            ),
            ("complete", 11, {}),
            ("auto_close", 12, {"evaluation": "satisfied", "default_evaluation": True}),
        ),
        organisations=ORG,
    )
    (episode,) = facts.episodes
    # The first round's deadline moved by the first extension only.
    assert episode.complete_due.isoformat() == "2025-03-20T17:30:00+08:00"
    assert episode.completed_at == t(2025, 3, 3, 9, 7)
    assert (episode.extension_count, episode.extension_days, episode.redo_count) == (2, 3, 1)
    assert [(e.evaluation, e.default_evaluation) for e in facts.events] == [
        ("unsatisfied", False),
        ("satisfied", True),
    ]
    pending = facts_from_events(
        CALL,
        log(
            ("approve", 0, {}),
            ("accept", 1, {}),
            ("dispatch", 2, {"lead": 200, **clocks(2)}),
            ("request_return", 3, {"reason": "x"}),
        ),
        organisations=ORG,
    )
    assert pending.episodes[0].return_pending is True


def test_merges_withdrawals_and_unknown_organisations():
    merged = facts_from_events(
        CALL,
        log(
            ("approve", 0, {}),
            ("accept", 1, {}),
            ("dispatch", 2, {"lead": 200, **clocks(2)}),
            ("red_card", 3, {"clock": "sign", "organisation": 200}),
            ("merge", 4, {"into": 9}),
        ),
        organisations=ORG,
    )
    assert merged.episodes[0].exclusion == "merged"
    assert merged.events[0].excluded is True
    assert merged.submission is not None
    assert merged.submission.outcome == "excluded"
    rejected = facts_from_events(
        CALL,
        log(("approve", 0, {}), ("reject", 1, {"reason": "x"}), ("withdraw", 2, {})),
        organisations=ORG,
    )
    assert rejected.episodes == []
    assert rejected.submission is not None
    assert rejected.submission.outcome == "invalid"
    assert facts_from_events(CALL, log(("submit", 0, {})), organisations=ORG).submission is None
    unknown = facts_from_events(
        CALL,
        log(
            ("approve", 0, {}),
            ("accept", 1, {}),
            ("dispatch", 2, {"lead": 999, **clocks(2)}),
            ("sign", 3, {}),
        ),
        organisations=ORG,
    )
    assert unknown.episodes == []
    # Malformed data is read as missing, never as a crash.
    odd = facts_from_events(
        CALL,
        log(
            ("dispatch", 0, {"lead": "200", "assisting": "x", "sign_due": "soon"}), ("sign", 1, {})
        ),
        organisations=ORG,
    )
    assert (odd.episodes[0].subject_id, odd.episodes[0].sign_due) == (200, None)
    # The order of the events is their sequence, whatever the order given.
    events = log(("approve", 0, {}), ("accept", 1, {}), ("dispatch", 2, {"lead": 200, **clocks(2)}))
    assert facts_from_events(CALL, reversed(events), organisations=ORG) == facts_from_events(
        CALL, events, organisations=ORG
    )


def test_every_event_action_is_known_to_the_fold():
    """A new workflow action must be decided on: folded, or listed as ignored."""
    from xianghu.assessment.facts import IGNORED_ACTIONS

    folded = {
        "approve",
        "accept",
        "reject",
        "dispatch",
        "rule",
        "sign",
        "respond",
        "complete",
        "decide_extension",
        "request_return",
        "refuse_return",
        "agree_return",
        "evaluate",
        "auto_close",
        "yellow_card",
        "red_card",
        "supervise",
        "merge",
        "withdraw",
    }
    assert {tr.action for tr in TRANSITIONS} | {"create"} == folded | IGNORED_ACTIONS
    assert not folded & IGNORED_ACTIONS
    assert CallEvent  # the log the fold reads


def test_the_refresh_costs_the_same_for_a_short_and_a_long_log(world, sent, step):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "sign", t(2025, 3, 3, 9, 30))
    step(None, call, "yellow_card", t(2025, 3, 3, 9, 40), clock="respond")

    def cost() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rollup.refresh_calls([call.pk])
        return len(ctx.captured_queries)

    short = cost()
    for n in range(10):
        step(None, call, "yellow_card", t(2025, 3, 3, 10, n), clock="respond")
    assert cost() == short
    # The call, its photos, its events, the organisations; three deletes, three inserts.
    assert short <= 10
