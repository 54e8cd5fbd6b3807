"""Accountability by the list (依单追责 / 尽职免责): the evidence of calls and incidents
measured against the list in force, the proposal's rules, and recording the finding.

Everything runs on a fake clock in March 2024 (a plain working week): every step of a
call takes `at=`. The county's list is published on 2024-01-01 with a procedure whose
township step gives 24 hours to report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.assessment import accountability_services as services
from xianghu.assessment.accountability import (
    Outcome,
    evidence_for_call,
    evidence_for_incident,
    propose_finding,
)
from xianghu.assessment.models import AccountabilityCase, CaseStatus, Finding
from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog import services as catalog_services
from xianghu.catalog.models import ListVersion, ScopeLevel
from xianghu.catalog.specs import ItemSpec, PartySpec, StepSpec
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

CST = ZoneInfo("Asia/Shanghai")


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


# After everything in the scenarios: clocks that did not close count as missed.
LATER = t(2024, 6, 1, 9, 0)
# The default moments of the loop (Tuesday 12 March 2024 onwards).
CREATED = t(2024, 3, 12, 9, 0)
APPROVED = t(2024, 3, 12, 9, 30)
SIGNED = t(2024, 3, 12, 11, 0)
RESPONDED = t(2024, 3, 12, 15, 0)
COMPLETED = t(2024, 3, 15, 16, 0)
EVALUATED = t(2024, 3, 18, 9, 0)

COUNTY_STEPS = (
    StepSpec("乡镇巡查发现并报告", "township", "24h", "乡镇呼叫：问题移交县级平台"),
    StepSpec("平台受理并派单", "platform", "4h", "派单至主体责任部门"),
    StepSpec("主体责任部门签收响应", "primary", "24h", "部门联系乡镇或到场"),
    StepSpec("主体责任部门依法处置办结", "primary", "5wd", "办结反馈乡镇"),
    StepSpec("乡镇评价反馈", "township", "3wd", "评价后结案"),
)


def _specs(world: Any, *, report_limit: str = "24h") -> list[ItemSpec]:
    dept = world.orgs["dept"]
    enforcement = world.orgs["enforcement"]
    steps = (
        StepSpec(COUNTY_STEPS[0].name, "township", report_limit, COUNTY_STEPS[0].handoff),
        *COUNTY_STEPS[1:],
    )
    return [
        ItemSpec(
            code="AC-01",
            domain_code="D1",
            domain_name="安全生产与应急管理",
            name="工矿商贸企业安全生产监管",
            primary_level="county",
            primary_duties="执法检查、行政处罚",
            cooperating_duties="日常巡查、发现报告、配合检查",
            respond_limit="24h",
            complete_limit="5wd",
            primary=(PartySpec("应急管理局", dept.pk),),
            steps=steps,
        ),
        ItemSpec(
            code="AC-02",
            domain_code="D5",
            domain_name="城乡建设",
            name="违法建设查处",
            primary_level="county",
            primary_duties="巡查发现、认定、依法查处",
            cooperating_duties="配合执法、现场看护",
            respond_limit="24h",
            complete_limit="15wd",
            primary=(PartySpec("综合行政执法局", enforcement.pk),),
            steps=(
                StepSpec("执法部门巡查发现", "primary", "", "立案"),
                StepSpec("依法查处", "primary", "15wd", "结案"),
            ),
        ),
        ItemSpec(
            code="AC-03",
            domain_code="D2",
            domain_name="生态环境保护",
            name="秸秆禁烧",
            primary_level="township",
            primary_duties="网格巡查、劝阻、处置",
            cooperating_duties="执法查处、技术支持",
            respond_limit="24h",
            complete_limit="1wd",
            assisting=(PartySpec("应急管理局", dept.pk),),
            steps=(
                StepSpec("乡镇巡查发现并处置", "township", "1wd", ""),
                StepSpec("需要时呼叫协办部门", "township", "", "呼叫县级平台请求协助"),
                StepSpec("协办部门配合处置", "assisting", "24h", ""),
            ),
        ),
    ]


@dataclass
class AccList:
    catalogue: Any
    version: ListVersion


@pytest.fixture
def acc_list(world) -> AccList:
    """The county's list, in force from 2024-01-01."""
    world.orgs["enforcement"] = f.department(world.county, "综合行政执法局")
    catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=world.county, name="清河县属地管理事项清单"
    )
    version = catalog_services.version_create_draft(
        catalogue=catalogue, specs=_specs(world), title="清河县属地管理事项清单（第1版）"
    )
    catalog_services.version_publish(version=version, at=t(2024, 1, 1))
    return AccList(catalogue, version)


def item(world, code: str):
    """The item of the list in force now (what a new call names)."""
    version = catalog_selectors.county_version_in_force(county=world.county)
    return catalog_selectors.item_get(version=version, code=code)


def step(world, key, call, action, when, **data):
    actor = as_(world, key) if key else None
    return call_services.call_transition(actor=actor, call=call, action=action, data=data, at=when)


def up_call(world, *, code: str | None = "AC-01", created=CREATED, **kw) -> Call:
    call, _ = call_services.call_create(
        actor=as_(world, "reporter"),
        caller=world.orgs["t1"],
        draft=CallDraft(
            title=kw.pop("title", "某厂房内堆放大量易燃物品"),
            description="王庄镇1村某厂房内堆放大量易燃物品，联系人13812345678。",
            location=world.t1,
            item=item(world, code) if code else None,
        ),
        at=created,
    )
    return call


def loop(
    world,
    call,
    *,
    approve=APPROVED,
    sign=SIGNED,
    respond=RESPONDED,
    complete=COMPLETED,
    evaluate=EVALUATED,
    lead: str = "dept",
) -> Call:
    """Drive a township's call through the loop; a step given as None stops there."""
    step(world, "reporter", call, "submit", t(2024, 3, 12, 9, 10))
    if approve is None:
        return call
    step(world, "tleader", call, "approve", approve)
    step(world, "operator", call, "accept", approve)
    step(world, "operator", call, "dispatch", approve, lead=world.orgs[lead].pk)
    handler = {"dept": "handler", "police": "police_leader"}[lead]
    for action, when, data in (
        ("sign", sign, {}),
        ("respond", respond, {"mode": "on_site"}),
        ("complete", complete, {"result": "已责令企业清理易燃物品，现场复查合格。"}),
    ):
        if when is None:
            return call
        step(world, handler, call, action, when, **data)
    if evaluate is not None:
        step(world, "reporter", call, "evaluate", evaluate, evaluation="satisfied", resolved="yes")
    call.refresh_from_db()
    return call


def check(evidence, code: str):
    found = [c for c in evidence.checks if c.code == code]
    assert found, f"no check {code}: {[c.code for c in evidence.checks]}"
    return found[0]


def codes(proposal) -> list[str]:
    return [r.code for r in proposal.reasons]


# ---- the rules ------------------------------------------------------------------------------


def test_everyone_on_time_is_diligent_and_exempt(world, acc_list):
    call = loop(world, up_call(world))
    evidence = evidence_for_call(call=call, as_of=LATER)
    assert evidence.list_info is not None
    assert evidence.list_info.version_id == acc_list.version.pk
    assert evidence.list_info.item_code == "AC-01"
    assert [s.order for s in evidence.list_info.steps] == [1, 2, 3, 4, 5]
    assert evidence.township.id == world.orgs["t1"].pk
    assert evidence.township_duty == "cooperating"
    assert {c.code: c.outcome for c in evidence.checks} == {
        "township.report": Outcome.ON_TIME,
        "platform.dispatch": Outcome.ON_TIME,
        "lead.sign": Outcome.ON_TIME,
        "lead.respond": Outcome.ON_TIME,
        "lead.complete": Outcome.ON_TIME,
        "township.evaluate": Outcome.DONE,
    }
    # The deadlines come from the log: 2 working hours to sign from 09:30 is 11:30 …
    assert check(evidence, "lead.sign").due == t(2024, 3, 12, 11, 30)
    # … and the township's 24 hours to report from the draft at 09:00.
    assert check(evidence, "township.report").due == t(2024, 3, 13, 9, 0)
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.DILIGENT_EXEMPT
    assert proposal.reasons[0].code == "finding.diligent_exempt"
    assert "township.cooperating_only" in codes(proposal)
    diligent = [r for r in proposal.reasons if r.verdict == "diligent"]
    assert {r.code for r in diligent} == {
        "township.report.on_time",
        "lead.sign.on_time",
        "lead.respond.on_time",
        "lead.complete.on_time",
    }
    # Each reason cites the list item, the step and the event.
    sign = next(r for r in diligent if r.code == "lead.sign.on_time")
    assert (sign.item, sign.step, sign.call) == ("AC-01", 3, call.number)
    assert call.events.get(seq=sign.event).action == "sign"
    assert "主体责任部门签收响应" in sign.basis
    # The phone number in the description never reaches the record.
    assert "13812345678" not in str(evidence.as_dict())


def test_department_signing_late_is_a_primary_failure(world, acc_list):
    call = loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))
    evidence = evidence_for_call(call=call, as_of=LATER)
    sign = check(evidence, "lead.sign")
    assert sign.outcome == Outcome.LATE
    assert sign.organisation.id == world.orgs["dept"].pk
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.PRIMARY_FAILURE
    assert proposal.party.id == world.orgs["dept"].pk
    failed = [r for r in proposal.reasons if r.verdict == "against_primary"]
    assert [r.code for r in failed] == ["lead.sign.late"]
    assert failed[0].step == 3
    assert call.events.get(seq=failed[0].event).action == "sign"
    assert "应急管理局" in proposal.reasons[0].text


def test_department_never_signing_is_a_primary_failure(world, acc_list):
    call = loop(world, up_call(world), sign=None)
    evidence = evidence_for_call(call=call, as_of=t(2024, 3, 13, 9, 0))
    assert check(evidence, "lead.sign").outcome == Outcome.MISSING
    # The later clocks of a dispatch never signed are not listed.
    assert not [c for c in evidence.checks if c.code in ("lead.respond", "lead.complete")]
    assert propose_finding(evidence).finding == Finding.PRIMARY_FAILURE
    # Before the deadline the clock is still running: not enough to decide.
    early = evidence_for_call(call=call, as_of=t(2024, 3, 12, 10, 0))
    assert check(early, "lead.sign").outcome == Outcome.PENDING
    proposal = propose_finding(early)
    assert proposal.finding == Finding.INSUFFICIENT_EVIDENCE


def test_an_approved_extension_moves_the_completion_deadline(world, acc_list):
    call = loop(world, up_call(world), complete=None, evaluate=None)
    step(world, "handler", call, "request_extension", t(2024, 3, 18, 9, 0), days=2, reason="需检测")
    step(
        world,
        "operator",
        call,
        "decide_extension",
        t(2024, 3, 18, 10, 0),
        approve=True,
        reason="同意",
    )
    # Due 2024-03-19 17:30, extended by two working days to 03-21 17:30.
    step(world, "handler", call, "complete", t(2024, 3, 21, 16, 0), result="已办结")
    evidence = evidence_for_call(call=call, as_of=LATER)
    complete = check(evidence, "lead.complete")
    assert complete.due == t(2024, 3, 21, 17, 30)
    assert complete.outcome == Outcome.ON_TIME
    assert "2" in complete.basis
    assert propose_finding(evidence).finding == Finding.DILIGENT_EXEMPT


def test_a_redo_gets_its_own_clocks(world, acc_list):
    call = loop(world, up_call(world), evaluate=None)
    step(
        world,
        "reporter",
        call,
        "evaluate",
        t(2024, 3, 18, 9, 0),
        evaluation="unsatisfied",
        resolved="no",
    )
    evidence = evidence_for_call(call=call, as_of=LATER)
    # The re-handling never responded: its fresh clock is missed.
    respond = [c for c in evidence.checks if c.code == "lead.respond"]
    assert [c.outcome for c in respond] == [Outcome.ON_TIME, Outcome.MISSING]
    assert propose_finding(evidence).finding == Finding.PRIMARY_FAILURE
    assert len(evidence.notes) == 1  # the reopening
    assert call.number in evidence.notes[0]


def test_township_reporting_late_is_a_cooperation_failure(world, acc_list):
    # Recorded at 09:00 on the 12th, sent to the platform at 09:30 on the 14th: the
    # procedure's first step gives the township 24 hours.
    approve = t(2024, 3, 14, 9, 30)
    call = loop(
        world,
        up_call(world),
        approve=approve,
        sign=t(2024, 3, 14, 10, 0),
        respond=t(2024, 3, 14, 15, 0),
        complete=t(2024, 3, 18, 16, 0),
        evaluate=t(2024, 3, 19, 9, 0),
    )
    evidence = evidence_for_call(call=call, as_of=LATER)
    report = check(evidence, "township.report")
    assert report.outcome == Outcome.LATE
    assert report.due == t(2024, 3, 13, 9, 0)
    assert report.step_order == 1
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.COOPERATION_FAILURE
    assert proposal.party.id == world.orgs["t1"].pk
    failed = [r for r in proposal.reasons if r.verdict == "against_cooperating"]
    assert [r.code for r in failed] == ["township.report.late"]
    assert failed[0].item == "AC-01"
    assert failed[0].step == 1
    assert call.events.get(seq=failed[0].event).action == "approve"


def test_the_version_in_force_at_the_time_decides(world, acc_list):
    # Version 2 (from June) gives the township 72 hours; the March call is judged by
    # version 1's 24 hours.
    v2 = catalog_services.version_create_draft(
        catalogue=acc_list.catalogue, specs=_specs(world, report_limit="72h"), title="第2版"
    )
    catalog_services.version_publish(version=v2, at=t(2024, 6, 1))
    call = loop(
        world,
        up_call(world),  # names the item of version 2, the one in force now
        approve=t(2024, 3, 14, 9, 30),
        sign=t(2024, 3, 14, 10, 0),
        respond=t(2024, 3, 14, 15, 0),
        complete=t(2024, 3, 18, 16, 0),
    )
    assert call.item.version_id == v2.pk
    evidence = evidence_for_call(call=call, as_of=LATER)
    assert evidence.list_info.version_id == acc_list.version.pk
    assert check(evidence, "township.report").outcome == Outcome.LATE
    assert check(evidence, "township.report").limit == "24小时"


def test_a_refused_return_is_noted_and_the_clocks_stand(world, acc_list):
    call = up_call(world)
    loop(world, call, sign=None)
    step(world, "handler", call, "request_return", t(2024, 3, 12, 10, 0), reason="不属本部门职责")
    step(world, "operator", call, "refuse_return", t(2024, 3, 12, 10, 30), reason="清单明确")
    step(world, "operator", call, "rule", t(2024, 3, 12, 11, 0), reason="由应急局办理")
    evidence = evidence_for_call(call=call, as_of=t(2024, 3, 12, 12, 0))
    signs = [c for c in evidence.checks if c.code == "lead.sign"]
    # The return request answered the first dispatch in time; the ruling's dispatch
    # has its own clock, still running.
    assert [c.outcome for c in signs] == [Outcome.ON_TIME, Outcome.PENDING]
    assert any("不属本部门职责" in n for n in evidence.notes)


def test_an_agreed_return_releases_the_department(world, acc_list):
    call = up_call(world)
    loop(world, call, sign=None)
    step(world, "handler", call, "request_return", t(2024, 3, 12, 10, 0), reason="不属本部门职责")
    step(world, "operator", call, "agree_return", t(2024, 3, 12, 16, 0), reason="同意退回")
    evidence = evidence_for_call(call=call, as_of=LATER)
    released = check(evidence, "lead.released")
    assert released.outcome == Outcome.RELEASED
    assert not released.decisive
    assert not [c for c in evidence.checks if c.code == "lead.sign"]


# ---- the township and the list's limits --------------------------------------------------


def incident(
    world,
    *,
    code: str | None,
    by: str = "县综合行政执法局卫片执法检查",
    by_org=None,
    discovered=CREATED,
    calls=(),
    department=None,
    key="assessor",
):
    return services.incident_create(
        actor=as_(world, key),
        township=world.orgs["t1"],
        title="王庄镇1村新增违法建设",
        description="巡查发现王庄镇1村村东新建彩钢房约200平方米。",
        discovered_at=discovered,
        discovered_by=by,
        discovered_by_org=by_org,
        item_code=code,
        department=department,
        calls=list(calls),
    )


def test_a_township_that_never_reported_fails_its_cooperating_duty(world, acc_list):
    found = incident(world, code="AC-01")
    evidence = evidence_for_incident(incident=found, as_of=LATER)
    report = check(evidence, "township.report")
    assert report.outcome == Outcome.MISSING
    assert report.role == "cooperating"
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.COOPERATION_FAILURE
    assert proposal.party.id == world.orgs["t1"].pk
    # The primary department's own supervision is not in the log: said, not guessed.
    assert "primary.not_in_log" in codes(proposal)


def test_the_township_is_not_accountable_beyond_its_cooperating_duties(world, acc_list):
    # AC-02 is a county duty whose cooperating duties have no patrol or reporting: an
    # illegal building the inspection found is not the township's failure.
    found = incident(world, code="AC-02")
    evidence = evidence_for_incident(incident=found, as_of=LATER)
    assert evidence.township_duty == "cooperating"
    assert evidence.report_duty is False
    report = check(evidence, "township.report")
    assert report.outcome == Outcome.EXEMPT
    assert not report.decisive
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.DILIGENT_EXEMPT
    assert proposal.finding != Finding.COOPERATION_FAILURE
    assert {"township.cooperating_only", "township.no_report_duty", "primary.not_in_log"} <= set(
        codes(proposal)
    )
    assert world.orgs["enforcement"].pk in {d.id for d in evidence.departments}


def test_on_a_township_item_the_township_is_primary(world, acc_list):
    found = incident(world, code="AC-03")
    evidence = evidence_for_incident(incident=found, as_of=LATER)
    assert evidence.township_duty == "primary"
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.PRIMARY_FAILURE
    assert proposal.party.id == world.orgs["t1"].pk
    assert "township.primary" in codes(proposal)


def test_a_township_that_reported_in_time_is_not_blamed_for_the_department(world, acc_list):
    call = loop(world, up_call(world), complete=t(2024, 3, 25, 16, 0), evaluate=None)
    found = incident(world, code="AC-01", calls=[call], discovered=t(2024, 3, 20, 9, 0))
    evidence = evidence_for_incident(incident=found, as_of=LATER)
    report = check(evidence, "township.report")
    assert report.outcome == Outcome.ON_TIME  # reported before the inspection found it
    assert check(evidence, "lead.complete").outcome == Outcome.LATE
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.PRIMARY_FAILURE
    assert proposal.party.id == world.orgs["dept"].pk
    assert not [r for r in proposal.reasons if r.verdict == "against_cooperating"]
    assert [e.action for e in evidence.timeline][:2] == ["create", "submit"]
    assert "discovered" in [e.action for e in evidence.timeline]


def test_township_discovering_itself_is_measured_from_discovery(world, acc_list):
    call = up_call(world, created=t(2024, 3, 13, 10, 0))
    loop(world, call, approve=t(2024, 3, 13, 10, 30), sign=None)
    found = incident(
        world,
        code="AC-01",
        by="",
        by_org=world.orgs["t1"],
        discovered=t(2024, 3, 12, 9, 0),
        calls=[call],
    )
    assert found.discovered_by == world.orgs["t1"].name
    evidence = evidence_for_incident(incident=found, as_of=t(2024, 3, 13, 11, 0))
    # Found at 09:00 on the 12th, reported 10:30 on the 13th: past the 24 hours.
    assert check(evidence, "township.report").outcome == Outcome.LATE


# ---- off the list -----------------------------------------------------------------------------


def _admission(world, *, starts_on: date, ends_on: date):
    admission = catalog_services.admission_file(
        actor=as_(world, "handler"),
        department=world.orgs["dept"],
        title="森林防火宣传入户",
        content="每月入户宣传一次并留存照片",
        basis="县政府专题会议纪要",
        townships=[world.orgs["t1"]],
        starts_on=starts_on,
        ends_on=ends_on,
    )
    return catalog_services.admission_decide(
        actor=as_(world, "bianban"), admission=admission, approve=True, opinion="同意"
    )


def test_an_out_of_list_task_without_admission_exempts_the_township(world, acc_list):
    found = incident(world, code=None, department=world.orgs["dept"])
    evidence = evidence_for_incident(incident=found, as_of=LATER)
    assert evidence.out_of_list
    assert evidence.township_duty == "not_admitted"
    assert check(evidence, "township.report").outcome == Outcome.EXEMPT
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.DILIGENT_EXEMPT
    assert proposal.party.id == world.orgs["t1"].pk
    exempt = next(r for r in proposal.reasons if r.code == "township.out_of_list_not_admitted")
    assert exempt.verdict == "exempt"
    assert "2024-03-12" in exempt.text


def down_call(world, *, created=CREATED) -> Call:
    call, _ = call_services.call_create(
        actor=as_(world, "handler"),
        caller=world.orgs["dept"],
        draft=CallDraft(
            title="森林防火宣传入户",
            description="请王庄镇按准入事项开展入户宣传。",
            location=world.t1,
            callee=world.orgs["t1"],
        ),
        at=created,
    )
    step(world, "handler", call, "submit", created)
    step(world, "dleader", call, "approve", created)
    step(world, "operator", call, "accept", created)
    step(world, "operator", call, "dispatch", t(2024, 3, 12, 9, 30), lead=world.orgs["t1"].pk)
    step(world, "reporter", call, "sign", t(2024, 3, 12, 15, 0))  # due 11:30: late
    return call


def test_a_township_late_on_an_admitted_task_fails_its_cooperation(world, acc_list):
    _admission(world, starts_on=date(2024, 1, 1), ends_on=date(2099, 12, 31))
    call = down_call(world)
    evidence = evidence_for_call(call=call, as_of=LATER)
    assert evidence.township_duty == "admitted"
    assert evidence.admission["title"] == "森林防火宣传入户"
    sign = check(evidence, "lead.sign")
    assert (sign.organisation.id, sign.outcome) == (world.orgs["t1"].pk, Outcome.LATE)
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.COOPERATION_FAILURE
    assert proposal.party.id == world.orgs["t1"].pk


def test_a_township_late_on_a_task_admitted_only_later_is_exempt(world, acc_list):
    # The admission covers today (so the guard let the call be made) but not the day of
    # the call in March 2024: on that day the task was off the list without admission.
    _admission(world, starts_on=date(2025, 1, 1), ends_on=date(2099, 12, 31))
    call = down_call(world)
    evidence = evidence_for_call(call=call, as_of=LATER)
    assert evidence.township_duty == "not_admitted"
    sign = check(evidence, "lead.sign")
    assert sign.outcome == Outcome.EXEMPT
    assert not sign.decisive
    proposal = propose_finding(evidence)
    assert proposal.finding == Finding.DILIGENT_EXEMPT
    assert "township.out_of_list_not_admitted" in codes(proposal)


# ---- cases: open, refresh, decide -------------------------------------------------------------


def test_a_case_stores_the_evidence_and_the_proposal(world, acc_list):
    call = loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))
    case = services.case_open(actor=as_(world, "assessor"), call=call)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert case.county_id == world.county.pk
    assert case.proposed_finding == Finding.PRIMARY_FAILURE
    assert case.proposed_reasons[0]["code"] == "finding.primary_failure"
    assert case.evidence["list_info"]["item_code"] == "AC-01"
    assert case.evidence["subject"] == "call"
    assert set(case.parties.values_list("pk", flat=True)) == {
        world.orgs["t1"].pk,
        world.orgs["dept"].pk,
    }
    # One open case per call.
    with pytest.raises(Conflict) as exc:
        services.case_open(actor=as_(world, "operator"), call=call)
    assert exc.value.code == "accountability.case_open"
    assert exc.value.detail == {"case": case.pk}


def test_recording_the_finding_once(world, acc_list):
    call = loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))
    case = services.case_open(actor=as_(world, "assessor"), call=call)
    with pytest.raises(InvalidInput) as exc:
        services.case_decide(
            actor=as_(world, "assessor"), case=case, finding="primary_failure", reasons="  "
        )
    assert exc.value.code == "accountability.reasons_required"
    with pytest.raises(InvalidInput) as exc:
        services.case_decide(
            actor=as_(world, "assessor"), case=case, finding="guilty", reasons="理由"
        )
    assert exc.value.code == "accountability.invalid"
    decided = services.case_decide(
        actor=as_(world, "assessor"),
        case=case,
        finding=Finding.DILIGENT_EXEMPT,
        reasons="签收超时系系统停电所致，有供电公司证明，认定尽职免责。",
    )
    assert decided.status == CaseStatus.DECIDED
    assert decided.decided_by == world.users["assessor"]
    assert decided.overrides_proposal
    assert decided.proposed_finding == Finding.PRIMARY_FAILURE  # the proposal is kept
    with pytest.raises(Conflict) as exc:
        services.case_decide(
            actor=as_(world, "assessor"),
            case=case,
            finding=Finding.PRIMARY_FAILURE,
            reasons="再次认定",
        )
    assert exc.value.code == "accountability.already_decided"
    with pytest.raises(Conflict):
        services.case_refresh(actor=as_(world, "assessor"), case=case)
    case.refresh_from_db()
    assert case.final_finding == Finding.DILIGENT_EXEMPT
    # Decided, a new case may be opened (new evidence).
    again = services.case_open(actor=as_(world, "assessor"), call=call)
    assert again.pk != case.pk


def test_only_the_county_roles_open_and_decide(world, acc_list):
    call = loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))
    # The handler sees the call, the township leader too, but neither opens a case.
    for key in ("handler", "tleader"):
        with pytest.raises(PermissionDenied) as exc:
            services.case_open(actor=as_(world, key), call=call)
        assert exc.value.code == "accountability.not_allowed"
    # Another county's operator does not even see the call.
    with pytest.raises(NotFound):
        services.case_open(actor=as_(world, "operator_b"), call=call)
    case = services.case_open(actor=as_(world, "operator"), call=call)
    # The parties read it, and only read it.
    for key in ("tleader", "reporter", "handler", "dleader"):
        assert services.case_get(actor=as_(world, key), pk=case.pk) == case
        with pytest.raises(PermissionDenied) as exc:
            services.case_decide(
                actor=as_(world, key), case=case, finding=Finding.DILIGENT_EXEMPT, reasons="理由"
            )
        assert exc.value.code == "accountability.not_allowed"
    # Others do not see it.
    for key in ("reporter_t2", "police_leader", "operator_b", "bianban", "volunteer"):
        with pytest.raises(NotFound):
            services.case_get(actor=as_(world, key), pk=case.pk)
        with pytest.raises(NotFound):
            services.case_decide(
                actor=as_(world, key), case=case, finding=Finding.DILIGENT_EXEMPT, reasons="理由"
            )
        assert not services.case_list(actor=as_(world, key)).exists()
    assert list(services.case_list(actor=as_(world, "tleader"))) == [case]
    # The county's system administrator decides.
    decided = services.case_decide(
        actor=as_(world, "admin"), case=case, finding=Finding.PRIMARY_FAILURE, reasons="签收超时。"
    )
    assert decided.status == CaseStatus.DECIDED


def test_refreshing_an_open_case_reads_the_log_again(world, acc_list):
    call = loop(world, up_call(world), sign=None)
    case = services.case_open(actor=as_(world, "assessor"), call=call, at=t(2024, 3, 12, 10, 0))
    assert case.proposed_finding == Finding.INSUFFICIENT_EVIDENCE
    step(world, "handler", call, "sign", t(2024, 3, 12, 14, 0))
    refreshed = services.case_refresh(
        actor=as_(world, "assessor"), case=case, at=t(2024, 3, 12, 14, 5)
    )
    assert refreshed.proposed_finding == Finding.PRIMARY_FAILURE
    with pytest.raises(PermissionDenied):
        services.case_refresh(actor=as_(world, "tleader"), case=case)


def test_incident_input_is_checked(world, acc_list):
    with pytest.raises(InvalidInput) as exc:
        services.incident_create(
            actor=as_(world, "assessor"),
            township=world.orgs["dept"],
            title="",
            description="",
            discovered_at=t(2099, 1, 1),
            discovered_by="",
            item_code="NO-SUCH",
            department=world.orgs["t2"],
        )
    assert exc.value.code == "accountability.invalid"
    fields = {p["field"] for p in exc.value.detail}
    assert fields == {
        "township",
        "title",
        "description",
        "discovered_at",
        "discovered_by",
        "department",
        "item",
    }
    with pytest.raises(InvalidInput) as exc:
        incident(world, code="NO-SUCH")
    assert [p["field"] for p in exc.value.detail] == ["item"]
    with pytest.raises(InvalidInput) as exc:
        incident(world, code="AC-01", discovered=t(2023, 6, 1))  # before the first list
    assert [p["field"] for p in exc.value.detail] == ["item"]
    with pytest.raises(PermissionDenied):
        incident(world, code="AC-01", key="tleader")
    assert AccountabilityCase.objects.count() == 0


def test_an_incident_case(world, acc_list):
    found = incident(world, code="AC-01")
    case = services.case_open(actor=as_(world, "assessor"), incident=found)
    assert case.proposed_finding == Finding.COOPERATION_FAILURE
    assert case.evidence["incident"]["discovered_by"] == "县综合行政执法局卫片执法检查"
    assert services.case_get(actor=as_(world, "tleader"), pk=case.pk) == case
    with pytest.raises(InvalidInput):
        services.case_open(actor=as_(world, "assessor"))
