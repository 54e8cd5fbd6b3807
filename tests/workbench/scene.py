"""A month of calls in 清河县 on a fake clock, for the leaders' overview (the view and
browser tests share it).

At NOW (Thursday 2025-03-20 10:00) the calls are:
1. 王庄镇 → 应急管理局, in progress and overdue since 03-10; yellow card (03-07), red card and
   supervision order (NOW) — `overdue`;
2. 王庄镇 → 公安局, dispatched 08:30, signing due 10:30 — `due_soon`;
3. 柳林镇 → 应急管理局, closed on 03-06 (satisfied) — `closed`;
4. 王庄镇 → 应急管理局, evaluated unsatisfied on 03-11, reopened, completed again on 03-19,
   awaiting evaluation — `reworked`;
5. 王庄镇, a draft — `draft`;
6. 应急管理局 → 王庄镇 (two-way call), in progress, due 03-26 — `two_way`;
7. 北关镇 of 柳河县 (the other county), submitted — `elsewhere`;
8. 王庄镇 → 公安局王庄镇派出所 (a stationed agency), closed in February — `last_month`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.calls import services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.calls.supervision import run_sweep
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.workdays import seed_from_chinesecalendar
from xianghu.regions.roles import Role

CST = ZoneInfo("Asia/Shanghai")


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


NOW = t(2025, 3, 20, 10, 0)


@dataclass
class Scene:
    calls: dict[str, Call]


def build_scene(world, lists) -> Scene:
    seed_from_chinesecalendar(years=[2025])
    leader_t2 = f.UserFactory(username="tleader_t2")
    f.MembershipFactory(user=leader_t2, organisation=world.orgs["t2"], role=Role.TOWNSHIP_LEADER)
    world.users["tleader_t2"] = leader_t2
    leader_b = f.UserFactory(username="tleader_b")
    f.MembershipFactory(user=leader_b, organisation=world.orgs["tb"], role=Role.TOWNSHIP_LEADER)
    world.users["tleader_b"] = leader_b

    def item(code):
        return catalog_selectors.item_get(version=lists.version, code=code) if code else None

    def new(key, caller, title, when, code="D1-01", **kw) -> Call:
        call, _ = services.call_create(
            actor=as_(world, key),
            caller=world.orgs[caller],
            draft=CallDraft(
                title=title,
                description=f"{title}，请处置。",
                location=kw.pop("location", world.orgs[caller].township or world.t1),
                item=item(code),
                **kw,
            ),
            at=when,
        )
        return call

    def step(key, call, action, when, **data):
        services.call_transition(
            actor=as_(world, key), call=call, action=action, data=data, at=when
        )

    def up(call, leader, lead, when):
        """submit, approve, accept, dispatch to `lead` at `when`."""
        step(call_reporter[call.pk], call, "submit", when)
        step(leader, call, "approve", when)
        step("operator", call, "accept", when)
        step("operator", call, "dispatch", when, lead=world.orgs[lead].pk)

    call_reporter: dict[int, str] = {}
    calls: dict[str, Call] = {}

    def make(name, key, caller, title, when, **kw) -> Call:
        call = new(key, caller, title, when, **kw)
        call_reporter[call.pk] = key
        calls[name] = call
        return call

    # 8. Closed last month by a stationed agency.
    c = make(
        "last_month", "reporter", "t1", "上月派出所办结的呼叫", t(2025, 2, 10, 9, 0), code="QH-01"
    )
    up(c, "tleader", "agency", t(2025, 2, 10, 9, 0))
    step("agency_handler", c, "sign", t(2025, 2, 10, 10, 0))
    step("agency_handler", c, "respond", t(2025, 2, 10, 11, 0), mode="on_site")
    step("agency_handler", c, "complete", t(2025, 2, 11, 9, 0), result="已处置")
    step("reporter", c, "evaluate", t(2025, 2, 11, 10, 0), evaluation="satisfied", resolved="yes")

    # 1. Overdue at 应急管理局.
    c = make("overdue", "reporter", "t1", "化工厂违规存放危化品", t(2025, 3, 3, 9, 0))
    up(c, "tleader", "dept", t(2025, 3, 3, 9, 0))
    step("handler", c, "sign", t(2025, 3, 3, 10, 0))
    step("handler", c, "respond", t(2025, 3, 3, 11, 0), mode="on_site")

    # 3. Closed this month, called by 柳林镇.
    c = make("closed", "reporter_t2", "t2", "柳林镇企业安全隐患", t(2025, 3, 3, 9, 0))
    up(c, "tleader_t2", "dept", t(2025, 3, 3, 9, 0))
    step("handler", c, "sign", t(2025, 3, 3, 10, 0))
    step("handler", c, "respond", t(2025, 3, 3, 11, 0), mode="on_site")
    step("handler", c, "complete", t(2025, 3, 5, 9, 0), result="已整改")
    step("reporter_t2", c, "evaluate", t(2025, 3, 6, 9, 0), evaluation="satisfied", resolved="yes")

    # 4. Evaluated unsatisfied, done again, awaiting evaluation.
    c = make("reworked", "reporter", "t1", "企业整改不到位", t(2025, 3, 4, 9, 0))
    up(c, "tleader", "dept", t(2025, 3, 4, 9, 0))
    step("handler", c, "sign", t(2025, 3, 4, 10, 0))
    step("handler", c, "respond", t(2025, 3, 4, 11, 0), mode="contact")
    step("handler", c, "complete", t(2025, 3, 10, 9, 0), result="已整改")
    step("reporter", c, "evaluate", t(2025, 3, 11, 9, 0), evaluation="unsatisfied", resolved="no")
    step("handler", c, "respond", t(2025, 3, 11, 11, 0), mode="on_site")
    step("handler", c, "complete", t(2025, 3, 19, 10, 0), result="再次整改完毕")

    # The sweep at the yellow moment of call 1's completion deadline (03-10 17:30).
    run_sweep(now=t(2025, 3, 7, 18, 0))

    # 2. Signing due at 10:30 on NOW's day, at 公安局.
    c = make("due_soon", "reporter", "t1", "烟花爆竹非法储存", t(2025, 3, 20, 8, 30), code="QH-01")
    up(c, "tleader", "police", t(2025, 3, 20, 8, 30))

    # 5. A draft.
    make("draft", "reporter", "t1", "尚未提交的草稿", t(2025, 3, 18, 9, 0))

    # 6. A two-way call of 应急管理局 to 王庄镇.
    c = make(
        "two_way",
        "handler",
        "dept",
        "请协助排查企业底数",
        t(2025, 3, 19, 9, 0),
        location=world.t1,
        callee=world.orgs["t1"],
    )
    step("handler", c, "submit", t(2025, 3, 19, 9, 0))
    step("dleader", c, "approve", t(2025, 3, 19, 9, 0))
    step("operator", c, "accept", t(2025, 3, 19, 9, 0))
    step("operator", c, "dispatch", t(2025, 3, 19, 9, 0), lead=world.orgs["t1"].pk)
    step("reporter", c, "sign", t(2025, 3, 19, 10, 0))
    step("reporter", c, "respond", t(2025, 3, 19, 11, 0), mode="contact")

    # 7. The other county.
    c = make(
        "elsewhere",
        "reporter_b",
        "tb",
        "北关镇的呼叫",
        t(2025, 3, 12, 9, 0),
        code=None,
        location=world.orgs["tb"].township,
    )
    step("reporter_b", c, "submit", t(2025, 3, 12, 9, 0))

    # The sweep at NOW: red card and supervision order on call 1.
    run_sweep(now=NOW)
    for call in calls.values():
        call.refresh_from_db()
    return Scene(calls=calls)
