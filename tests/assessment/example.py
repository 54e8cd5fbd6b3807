"""The worked example of docs/scoring.md, driven through the real workflow.

March 2025 in 清河县 (the `world` county): the calls below, with the times of every step,
are exactly those of the document's section "Worked example"; the tests compare the
figures computed from them with the figures computed there by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from tests import factories as f
from tests.assessment.conftest import t
from tests.calls.conftest import as_
from tests.calls.test_attachments import png_bytes
from xianghu.assessment.periods import Period
from xianghu.assessment.services import periodic_evaluation_submit
from xianghu.calls import services
from xianghu.calls.attachments import attachment_save
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.calls.supervision import run_sweep
from xianghu.catalog import selectors as catalog_selectors
from xianghu.regions.roles import Role

MARCH = Period.month(2025, 3)
#: The moment the figures are read: every deadline of March has passed.
NOW = t(2025, 4, 15, 12, 0)


@dataclass
class Example:
    calls: dict[str, Call] = field(default_factory=dict)
    sweeps: list[Any] = field(default_factory=list)


def build(world: Any, lists: Any) -> Example:
    """Drive the example's calls; returns them by letter."""
    ex = Example()
    o = world.orgs
    leader_t2 = f.UserFactory(username="tleader_t2")
    f.MembershipFactory(user=leader_t2, organisation=o["t2"], role=Role.TOWNSHIP_LEADER)
    world.users["tleader_t2"] = leader_t2

    def step(key: str | None, call: Call, action: str, when: Any, **data: Any) -> Any:
        actor = None if key is None else as_(world, key)
        return services.call_transition(actor=actor, call=call, action=action, data=data, at=when)

    def item(code: str | None) -> Any:
        return catalog_selectors.item_get(version=lists.version, code=code) if code else None

    def up(
        letter: str,
        when: Any,
        lead: str | None,
        *,
        code: str | None = "D1-01",
        township: str = "t1",
        reporter: str = "reporter",
        leader: str = "tleader",
    ) -> Call:
        region = world.t1 if township == "t1" else world.t2
        draft = CallDraft(
            title=f"示例呼叫{letter}",
            description=f"考核示例中的呼叫{letter}。",
            location=region,
            item=item(code),
        )
        call, _ = services.call_create(actor=as_(world, reporter), caller=o[township], draft=draft)
        step(reporter, call, "submit", when)
        step(leader, call, "approve", when)
        if lead is not None:
            step("operator", call, "accept", when)
            step("operator", call, "dispatch", when, lead=o[lead].pk)
        ex.calls[letter] = call
        return call

    def down(letter: str, when: Any) -> Call:
        draft = CallDraft(
            title=f"示例双向呼叫{letter}",
            description=f"应急管理局呼叫王庄镇履行配合职责（{letter}）。",
            location=world.t1,
            item=item("D1-01"),
            callee=o["t1"],
        )
        call, _ = services.call_create(actor=as_(world, "handler"), caller=o["dept"], draft=draft)
        step("handler", call, "submit", when)
        step("dleader", call, "approve", when)
        step("operator", call, "accept", when)
        step("operator", call, "dispatch", when, lead=o["t1"].pk)
        ex.calls[letter] = call
        return call

    # A — on time at every step, satisfied.
    a = up("A", t(2025, 3, 3, 9, 0), "dept")
    step("handler", a, "sign", t(2025, 3, 3, 9, 30))
    step("handler", a, "respond", t(2025, 3, 3, 10, 0), mode="contact")
    step("handler", a, "complete", t(2025, 3, 5, 16, 0), result="已督促企业清理易燃物品。")
    step("reporter", a, "evaluate", t(2025, 3, 6, 10, 0), evaluation="satisfied", resolved="yes")

    # B — signed late; an extension of 3 working days; completed after the first
    # deadline but before the extended one; basically satisfied.
    b = up("B", t(2025, 3, 4, 9, 0), "dept")
    step("handler", b, "sign", t(2025, 3, 4, 11, 30))
    step("handler", b, "respond", t(2025, 3, 4, 14, 0), mode="on_site")
    step("handler", b, "request_extension", t(2025, 3, 10, 9, 0), days=3, reason="需专业检测")
    step("operator", b, "decide_extension", t(2025, 3, 10, 10, 0), approve=True, reason="同意")
    step("handler", b, "complete", t(2025, 3, 13, 15, 0), result="检测合格，隐患已消除。")
    step("reporter", b, "evaluate", t(2025, 3, 14, 9, 0), evaluation="basically", resolved="yes")

    # C — outside the list; 应急管理局 asks to return it and the platform agrees; 公安局
    # handles it on time; satisfied.
    c = up("C", t(2025, 3, 5, 9, 0), "dept", code=None)
    step("handler", c, "request_return", t(2025, 3, 5, 10, 0), reason="不属于本部门职责")
    step("operator", c, "agree_return", t(2025, 3, 5, 11, 0), reason="同意退单")
    step("operator", c, "dispatch", t(2025, 3, 5, 11, 30), lead=o["police"].pk)
    step("police_leader", c, "sign", t(2025, 3, 5, 11, 40))
    step("police_leader", c, "respond", t(2025, 3, 5, 15, 0), mode="on_site")
    step("police_leader", c, "complete", t(2025, 3, 7, 10, 0), result="已处置。")
    step("reporter", c, "evaluate", t(2025, 3, 7, 16, 0), evaluation="satisfied", resolved="yes")

    # D — 应急管理局 signs, asks to return it, the platform refuses and rules that it
    # keeps the call (fresh clocks from the ruling); completed a day late (red card and
    # supervision order from the sweep); unsatisfied → reopened → satisfied.
    d = up("D", t(2025, 3, 10, 9, 0), "dept")
    step("handler", d, "sign", t(2025, 3, 10, 9, 10))
    step("handler", d, "request_return", t(2025, 3, 10, 10, 0), reason="应由乡镇处置")
    step("operator", d, "refuse_return", t(2025, 3, 10, 11, 0), reason="清单明确为部门职责")
    step("operator", d, "rule", t(2025, 3, 10, 14, 0), reason="由应急管理局办理", lead=o["dept"].pk)
    step("handler", d, "sign", t(2025, 3, 10, 14, 30))
    step("handler", d, "respond", t(2025, 3, 11, 9, 0), mode="contact")

    # H — a duplicate of D, merged into it.
    h = up("H", t(2025, 3, 11, 9, 0), "dept")
    step("operator", h, "merge", t(2025, 3, 11, 10, 0), into=d.pk)

    # F — 王庄镇 (the host township) calls the 派出所 on a 公安局 item: on time, satisfied.
    fa = up("F", t(2025, 3, 12, 9, 0), "agency", code="QH-01")
    step("agency_handler", fa, "sign", t(2025, 3, 12, 9, 15))
    step("agency_handler", fa, "respond", t(2025, 3, 12, 11, 0), mode="on_site")
    step("agency_handler", fa, "complete", t(2025, 3, 14, 10, 0), result="已劝离。")
    step("reporter", fa, "evaluate", t(2025, 3, 14, 15, 0), evaluation="satisfied", resolved="yes")

    # F2 — 柳林镇 (not the host) calls the same 派出所: signed late; unsatisfied, redone,
    # satisfied.
    f2 = up(
        "F2",
        t(2025, 3, 12, 10, 0),
        "agency",
        code="QH-01",
        township="t2",
        reporter="reporter_t2",
        leader="tleader_t2",
    )
    step("agency_handler", f2, "sign", t(2025, 3, 12, 13, 0))
    step("agency_handler", f2, "respond", t(2025, 3, 12, 14, 0), mode="on_site")
    step("agency_handler", f2, "complete", t(2025, 3, 13, 16, 0), result="已劝离。")
    step(
        "reporter_t2", f2, "evaluate", t(2025, 3, 14, 9, 0), evaluation="unsatisfied", resolved="no"
    )
    step("agency_handler", f2, "respond", t(2025, 3, 14, 10, 0), mode="on_site")
    step("agency_handler", f2, "complete", t(2025, 3, 14, 16, 0), result="已设置警示牌。")
    step(
        "reporter_t2", f2, "evaluate", t(2025, 3, 14, 17, 0), evaluation="satisfied", resolved="yes"
    )

    # The sweep after D's completion deadline (2025-03-17 17:30): red card and order.
    ex.sweeps.append(run_sweep(now=t(2025, 3, 17, 18, 0)))
    step("handler", d, "complete", t(2025, 3, 18, 10, 0), result="已整改。")
    step("reporter", d, "evaluate", t(2025, 3, 18, 15, 0), evaluation="unsatisfied", resolved="no")
    step("handler", d, "respond", t(2025, 3, 19, 9, 0), mode="on_site")
    step("handler", d, "complete", t(2025, 3, 20, 16, 0), result="复查整改到位。")
    step("reporter", d, "evaluate", t(2025, 3, 21, 10, 0), evaluation="satisfied", resolved="yes")

    # K, K2 — 应急管理局 calls 王庄镇 for its cooperating duties (two-way): K completed with
    # a photo, K2 without; the department is satisfied and basically satisfied.
    k = down("K", t(2025, 3, 19, 9, 0))
    step("tleader", k, "sign", t(2025, 3, 19, 9, 30))
    step("tleader", k, "respond", t(2025, 3, 19, 10, 0), mode="on_site")
    with transaction.atomic():
        event = step("tleader", k, "complete", t(2025, 3, 20, 10, 0), result="已配合检查。")
        photo = SimpleUploadedFile("现场.png", png_bytes(), content_type="image/png")
        attachment_save(actor=as_(world, "tleader"), call=k, upload=photo, event=event)
    step("handler", k, "evaluate", t(2025, 3, 20, 15, 0), evaluation="satisfied", resolved="yes")
    k2 = down("K2", t(2025, 3, 19, 9, 0))
    step("tleader", k2, "sign", t(2025, 3, 19, 10, 30))
    step("tleader", k2, "respond", t(2025, 3, 19, 16, 0), mode="contact")
    step("tleader", k2, "complete", t(2025, 3, 21, 10, 0), result="已配合。")
    step("handler", k2, "evaluate", t(2025, 3, 21, 14, 0), evaluation="basically", resolved="yes")

    # G — the platform returns a call of 王庄镇 as the township's own duty (invalid).
    g = up("G", t(2025, 3, 20, 9, 0), None)
    step("operator", g, "reject", t(2025, 3, 20, 10, 0), reason="属于乡镇自身职责")

    # E — on time; nobody evaluates it: closed by the sweep with a default evaluation.
    e = up("E", t(2025, 3, 24, 9, 0), "dept")
    step("handler", e, "sign", t(2025, 3, 24, 9, 20))
    step("handler", e, "respond", t(2025, 3, 24, 10, 0), mode="contact")
    step("handler", e, "complete", t(2025, 3, 25, 16, 0), result="已处置。")
    ex.sweeps.append(run_sweep(now=t(2025, 3, 28, 18, 0)))

    # The townships' periodic forms.
    periodic_evaluation_submit(
        actor=as_(world, "tleader"), township=o["t1"], subject=o["dept"], period=MARCH, score=90
    )
    periodic_evaluation_submit(
        actor=as_(world, "tleader"),
        township=o["t1"],
        subject=o["dept"],
        period=Period.quarter(2025, 1),
        score=80,
    )
    periodic_evaluation_submit(
        actor=as_(world, "tleader"),
        township=o["t1"],
        subject=o["agency"],
        period=MARCH,
        grade="good",
    )
    periodic_evaluation_submit(
        actor=as_(world, "tleader_t2"),
        township=o["t2"],
        subject=o["agency"],
        period=MARCH,
        score=60,
    )
    for call in ex.calls.values():
        call.refresh_from_db()
    return ex
