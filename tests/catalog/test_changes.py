"""Change control (清单动态管理) and admissions (准入): filing, deciding, refusing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from xianghu.catalog import selectors, services
from xianghu.catalog.models import ChangeKind, DecisionStatus, VersionStatus
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.regions.selectors import actor_for_user


def as_(world, key):
    return actor_for_user(user=world.users[key])


def file_modify(world, lists, **kw):
    return services.change_request_file(
        actor=as_(world, "handler"),
        organisation=world.orgs["dept"],
        version=lists.version,
        kind=ChangeKind.MODIFY,
        item_code="D1-01",
        proposal=kw.pop("proposal", {"complete_limit": "3wd"}),
        reason=kw.pop("reason", "企业隐患整改周期缩短"),
        legal_basis="《安全生产法》第六十五条",
        **kw,
    )


def test_approval_publishes_a_new_version_with_the_change(lists, world):
    cr = file_modify(world, lists)
    assert cr.status == DecisionStatus.PENDING
    decided = services.change_request_decide(
        actor=as_(world, "bianban"), request=cr, approve=True, opinion="同意"
    )
    assert decided.status == DecisionStatus.APPROVED
    new = decided.result_version
    assert new.status == VersionStatus.PUBLISHED
    assert selectors.version_in_force(catalogue=lists.catalogue) == new
    lists.version.refresh_from_db()
    assert lists.version.status == VersionStatus.SUPERSEDED
    diff = selectors.version_diff(old=lists.version, new=new)
    # The procedure step that ran on the old completion limit follows it.
    assert [(c.code, [f.field for f in c.changes]) for c in diff.modified] == [
        ("D1-01", ["complete_limit", "steps"])
    ]
    limits, steps = diff.modified[0].changes
    assert (limits.old, limits.new) == ("5wd", "3wd")
    assert [(s["name"], s["time_limit"]) for s in steps.old] == [
        ("乡镇巡查发现并报告", ""),
        ("主体责任部门依法处置办结", "5wd"),
    ]
    assert [(s["name"], s["time_limit"]) for s in steps.new] == [
        ("乡镇巡查发现并报告", ""),
        ("主体责任部门依法处置办结", "3wd"),
    ]
    assert diff.added == diff.removed == []
    # The derivation (splits, removals with reasons) carries over.
    report = selectors.derivation_of(version=new)
    assert [r.guidance_item.code for r in report.removed] == ["D7-04"]
    assert [i.code for i in report.split] == ["D1-04-1", "D1-04-2"]


def test_add_and_remove(lists, world):
    reviewer = as_(world, "bianban")
    add = services.change_request_file(
        actor=as_(world, "tleader"),
        organisation=world.orgs["t1"],
        version=lists.version,
        kind=ChangeKind.ADD,
        proposal={
            "code": "QH-02",
            "domain_code": "D1",
            "domain_name": "安全生产与应急管理",
            "name": "农村自建房经营安全",
            "primary_level": "county",
            "primary_departments": ["应急管理局"],
            "assisting_departments": "公安局",
            "primary_duties": "排查整治、执法",
            "cooperating_duties": "摸排、报告",
            "respond_limit": "24小时",
            "complete_limit": "10个工作日",
        },
        reason="新增本地事项",
    )
    v2 = services.change_request_decide(
        actor=reviewer, request=add, approve=True, opinion="同意"
    ).result_version
    added = selectors.item_get(version=v2, code="QH-02")
    assert added.complete_limit == "10wd"
    parties = {(p.role, p.organisation) for p in added.parties.all()}
    assert parties == {("primary", world.orgs["dept"]), ("assisting", world.orgs["police"])}
    assert added.steps.count() >= 4  # the default procedure
    remove = services.change_request_file(
        actor=as_(world, "handler"),
        organisation=world.orgs["dept"],
        version=v2,
        kind=ChangeKind.REMOVE,
        item_code="QH-02",
        reason="并入 D1-01",
    )
    v3 = services.change_request_decide(
        actor=reviewer, request=remove, approve=True, opinion="同意"
    ).result_version
    assert selectors.item_get(version=v3, code="QH-02") is None
    assert v3.number == 3


def test_rejection_keeps_the_list(lists, world):
    cr = file_modify(world, lists)
    services.change_request_decide(
        actor=as_(world, "bianban"), request=cr, approve=False, opinion="理由不充分"
    )
    cr.refresh_from_db()
    assert (cr.status, cr.opinion, cr.result_version) == (
        DecisionStatus.REJECTED,
        "理由不充分",
        None,
    )
    assert selectors.version_in_force(catalogue=lists.catalogue) == lists.version


def test_only_the_counties_reviewer_decides(lists, world):
    cr = file_modify(world, lists)
    for key in ("handler", "operator", "tleader"):
        with pytest.raises(PermissionDenied) as exc:
            services.change_request_decide(
                actor=as_(world, key), request=cr, approve=True, opinion="x"
            )
        assert exc.value.code == "catalog.not_a_reviewer"


def test_a_second_decision_is_refused(lists, world):
    cr = file_modify(world, lists)
    services.change_request_decide(
        actor=as_(world, "bianban"), request=cr, approve=False, opinion="否"
    )
    with pytest.raises(Conflict) as exc:
        services.change_request_decide(
            actor=as_(world, "bianban"), request=cr, approve=True, opinion="是"
        )
    assert exc.value.code == "catalog.already_decided"


def test_decision_needs_an_opinion(lists, world):
    cr = file_modify(world, lists)
    with pytest.raises(InvalidInput) as exc:
        services.change_request_decide(
            actor=as_(world, "bianban"), request=cr, approve=True, opinion=" "
        )
    assert exc.value.code == "catalog.opinion_required"


def test_request_against_a_superseded_version_is_refused(lists, world):
    first = file_modify(world, lists)
    services.change_request_decide(
        actor=as_(world, "bianban"), request=first, approve=True, opinion="同意"
    )
    lists.version.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        file_modify(world, lists)
    assert exc.value.code == "catalog.version_superseded"


@pytest.mark.parametrize(
    ("who", "org", "code"),
    [
        ("operator", "platform", "catalog.not_a_filer"),
        ("handler", "police", "catalog.not_a_filer"),
        ("reporter_b", "tb", "catalog.other_county"),
    ],
)
def test_who_may_file(lists, world, who, org, code):
    with pytest.raises(PermissionDenied) as exc:
        services.change_request_file(
            actor=as_(world, who),
            organisation=world.orgs[org],
            version=lists.version,
            kind=ChangeKind.REMOVE,
            item_code="D1-01",
            reason="x",
        )
    assert exc.value.code == code


def test_bad_proposals_report_every_field(lists, world):
    with pytest.raises(InvalidInput) as exc:
        file_modify(
            world,
            lists,
            proposal={
                "complete_limit": "5天",
                "primary_departments": ["不存在局"],
                "colour": "red",
            },
        )
    assert exc.value.code == "catalog.bad_proposal"
    fields = sorted(p["field"] for p in exc.value.detail)
    assert fields == ["colour", "complete_limit", "primary_departments"]


def test_modify_or_remove_of_an_unknown_item(lists, world):
    with pytest.raises(InvalidInput) as exc:
        services.change_request_file(
            actor=as_(world, "handler"),
            organisation=world.orgs["dept"],
            version=lists.version,
            kind=ChangeKind.REMOVE,
            item_code="D9-99",
            reason="x",
        )
    assert exc.value.code == "catalog.unknown_item"


def test_admission_validation_and_decision(lists, world):
    handler = as_(world, "handler")
    with pytest.raises(InvalidInput) as exc:
        services.admission_file(
            actor=handler,
            department=world.orgs["dept"],
            title="",
            content="x",
            basis="",
            townships=[world.orgs["tb"]],
            starts_on=date.today(),
            ends_on=date.today() - timedelta(days=1),
        )
    assert sorted(p["field"] for p in exc.value.detail) == [
        "basis",
        "ends_on",
        "title",
        "townships",
    ]
    with pytest.raises(PermissionDenied):
        services.admission_file(
            actor=as_(world, "reporter"),
            department=world.orgs["dept"],
            title="t",
            content="c",
            basis="b",
            townships=[world.orgs["t1"]],
            starts_on=date.today(),
            ends_on=date.today(),
        )
    admission = services.admission_file(
        actor=handler,
        department=world.orgs["dept"],
        title="t",
        content="c",
        basis="b",
        townships=[world.orgs["t1"], world.orgs["t2"]],
        starts_on=date.today(),
        ends_on=date.today(),
    )
    with pytest.raises(PermissionDenied):
        services.admission_decide(actor=handler, admission=admission, approve=True, opinion="x")
    services.admission_decide(
        actor=as_(world, "bianban"), admission=admission, approve=False, opinion="不属于乡镇职责"
    )
    with pytest.raises(Conflict):
        services.admission_decide(
            actor=as_(world, "bianban"), admission=admission, approve=True, opinion="x"
        )


def test_control_characters_are_cleaned_not_stored(lists, world):
    """PostgreSQL refuses NUL in text and Excel refuses control characters."""
    with pytest.raises(InvalidInput) as exc:
        file_modify(world, lists, reason="\x00\x07 ")
    assert exc.value.code == "catalog.reason_required"
    cr = file_modify(world, lists, reason="理由\x00充分", proposal={"keywords": "隐患\x1b排查"})
    cr.refresh_from_db()
    assert cr.reason == "理由充分"
    assert cr.proposal == {"keywords": "隐患排查"}
    decided = services.change_request_decide(
        actor=as_(world, "bianban"), request=cr, approve=True, opinion="同意\x00"
    )
    assert decided.opinion == "同意"
