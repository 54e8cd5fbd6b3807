"""The objects of the authorization matrix: for every kind of object a page or an endpoint
is about, one in the world's county (清河县, side "A", the organisations of the `world`
fixture) and one in the other county (柳河县, side "B").

Everything is made through the services (the same paths as the pages and the API), by
the world's users and by a few helper accounts of 柳河县 (`*_b`) that are no principals of
the matrix: they only make the other county's objects.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests import factories as f
from tests.catalog.conftest import GUIDANCE_SPECS, Lists, spec
from tests.conftest import World
from xianghu.accounts.services import apikey_create
from xianghu.calls import services as call_services
from xianghu.calls.models import Attachment, Call
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog import services as catalog_services
from xianghu.catalog.models import Catalogue, ChangeKind, ListVersion, ScopeLevel
from xianghu.core.workdays import seed_from_chinesecalendar
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role
from xianghu.regions.selectors import actor_for_user

SIDES = ("A", "B")
#: Written into the texts of the other county's objects that are nobody's business in the
#: world's county: no page or export may ever show it to anyone there.
CANARY = "柳河内部"


def secret(side: str, text: str) -> str:
    """`text`, marked with the canary on the other county's side."""
    return f"{text}{CANARY}" if side == "B" else text


def png_bytes() -> bytes:
    """A valid 1×1 grey PNG (the same as tests/calls/test_attachments.py)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x80")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png(name: str = "现场.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


@dataclass
class Scene:
    world: World
    lists: Lists
    #: kind → side → the URL parameters that name the object (by parameter name).
    params: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: kind → side → the object itself (for the tests' own checks).
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: API keys of principals that are systems: principal → plain key.
    api_keys: dict[str, str] = field(default_factory=dict)
    #: Values the bodies of writes about no object refer to ("{t1}").
    refs: dict[str, Any] = field(default_factory=dict)
    #: The session cookies of the world's users (logged in once for the module).
    cookies: dict[str, Any] = field(default_factory=dict)
    #: The other county's list and its version in force.
    other_catalogue: Catalogue | None = None
    other_version: ListVersion | None = None

    def add(self, kind: str, side: str, obj: Any, **params: Any) -> None:
        self.objects.setdefault(kind, {})[side] = obj
        self.params.setdefault(kind, {})[side] = params

    def actor(self, key: str) -> Any:
        return actor_for_user(user=self.world.users[key])


def _helper(world: World, key: str, org: Organisation, role: str) -> None:
    user = f.UserFactory(username=key)
    f.MembershipFactory(user=user, organisation=org, role=role)
    world.users[key] = user


def _other_county_staff(world: World) -> None:
    """The other county's organisations and helper accounts the objects of side B need."""
    o = world.orgs
    other = world.other_county
    o["police_b"] = f.department(other, "公安局")
    o["bianban_b"] = f.county_org(other, OrgKind.BIANBAN, "柳河县委编办")
    o["office_b"] = f.county_org(other, OrgKind.COUNTY_OFFICE, "柳河县两办")
    o["enterprise_b"] = f.OrganisationFactory(
        name="柳河县河畔食品有限公司", kind=OrgKind.ENTERPRISE, region=other, county=other
    )
    _helper(world, "tleader_b", o["tb"], Role.TOWNSHIP_LEADER)
    _helper(world, "handler_b", o["dept_b"], Role.DEPARTMENT_HANDLER)
    _helper(world, "dleader_b", o["dept_b"], Role.DEPARTMENT_LEADER)
    _helper(world, "bianban_b", o["bianban_b"], Role.BIANBAN_REVIEWER)
    _helper(world, "assessor_b", o["office_b"], Role.ASSESSOR)
    _helper(world, "volunteer_b", o["enterprise_b"], Role.PUBLIC_USER)
    tb = o["tb"].township
    assert tb is not None
    o["agency_b"] = f.stationed_agency(o["police_b"], tb)
    _helper(world, "police_leader_b", o["police_b"], Role.DEPARTMENT_LEADER)


# ---- the lists --------------------------------------------------------------------------------


def _catalog(scene: Scene) -> None:
    w, lists = scene.world, scene.lists
    other_catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY,
        region=w.other_county,
        name="柳河县属地管理事项清单",
        guidance=lists.guidance_catalogue,
    )
    other_version = catalog_services.version_derive(
        catalogue=other_catalogue, guidance=lists.guidance, title="柳河县属地管理事项清单（第1版）"
    )
    catalog_services.version_publish(version=other_version)
    scene.other_catalogue, scene.other_version = other_catalogue, other_version
    scene.params["organisation"]["A"]["list_version"] = lists.version.pk
    scene.params["organisation"]["B"]["list_version"] = other_version.pk
    for side, catalogue, version in (
        ("A", lists.catalogue, lists.version),
        ("B", other_catalogue, other_version),
    ):
        scene.add("catalogue", side, catalogue, pk=catalogue.pk, catalogue_id=catalogue.pk)
        scene.add(
            "version",
            side,
            version,
            pk=version.pk,
            version_id=version.pk,
            code="D1-01",
            catalogue_id=catalogue.pk,
            county=catalogue.region.code,
        )
        draft = catalog_services.version_derive(
            catalogue=catalogue,
            guidance=lists.guidance,
            title=f"{catalogue.name}（修订草案）",
            local=[spec("QH-09", "草案中的本地事项", primary=("公安局",))],
        )
        scene.add(
            "draft",
            side,
            draft,
            pk=draft.pk,
            version_id=draft.pk,
            code="QH-09",
            catalogue_id=catalogue.pk,
        )
    for side, filer, org, version in (
        ("A", "handler", "dept", lists.version),
        ("B", "handler_b", "dept_b", other_version),
    ):
        change = catalog_services.change_request_file(
            actor=scene.actor(filer),
            organisation=w.orgs[org],
            version=version,
            kind=ChangeKind.MODIFY,
            item_code="D1-01",
            proposal={"complete_limit": "3wd"},
            reason=secret(side, "企业隐患整改周期缩短"),
            legal_basis="《安全生产法》第六十五条",
        )
        scene.add("change_request", side, change, pk=change.pk, request_id=change.pk)
        township = "t1" if side == "A" else "tb"
        admission = catalog_services.admission_file(
            actor=scene.actor(filer),
            department=w.orgs[org],
            title=secret(side, "汛期应急物资储备点巡查"),
            content="请乡镇协助每周巡查一次应急物资储备点。",
            basis="县防汛抗旱指挥部通知",
            townships=[w.orgs[township]],
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + timedelta(days=90),
        )
        scene.add("admission", side, admission, pk=admission.pk, admission_id=admission.pk)


def _adoption(scene: Scene) -> None:
    """A new guidance version (D1-01's completion limit shortened): every list derived from
    the one before gets a task to adopt or decline the change."""
    from xianghu.catalog.models import AdoptionTask

    lists = scene.lists
    specs = [replace(s, complete_limit="3wd") if s.code == "D1-01" else s for s in GUIDANCE_SPECS]
    draft = catalog_services.version_create_draft(
        catalogue=lists.guidance_catalogue, specs=specs, title="指导目录（第2版）"
    )
    catalog_services.version_publish(version=draft)
    for side, catalogue in (("A", lists.catalogue), ("B", scene.other_catalogue)):
        assert catalogue is not None
        task = AdoptionTask.objects.get(catalogue=catalogue, item_code="D1-01")
        scene.add(
            "adoption_task", side, task, pk=task.pk, task_id=task.pk, catalogue_id=catalogue.pk
        )
        scene.params["catalogue"][side]["task"] = task.pk


def _agencies(scene: Scene) -> None:
    """A proposal to appoint the head of a stationed agency (派出所), on both sides."""
    from xianghu.regions import agencies

    w = scene.world
    for side, agency, leader in (
        ("A", w.orgs["agency"], "police_leader"),
        ("B", w.orgs["agency_b"], "police_leader_b"),
    ):
        scene.add("agency", side, agency, pk=agency.pk)
        consultation = agencies.consultation_propose(
            actor=scene.actor(leader),
            agency=agency,
            kind="appointment",
            person_name="张三",
            position="所长",
            proposal=secret(side, "拟任命张三为所长。"),
        )
        scene.add("head_consultation", side, consultation, pk=consultation.pk)


# ---- calls and their photos -------------------------------------------------------------------


def _call(
    scene: Scene,
    *,
    side: str,
    reporter: str,
    caller: str,
    leader: str,
    operator: str,
    lead: str,
) -> Call:
    w = scene.world
    version = scene.lists.version if side == "A" else scene.other_version
    assert version is not None
    item = catalog_selectors.item_get(version=version, code="D1-01")
    call, _created = call_services.call_create(
        actor=scene.actor(reporter),
        caller=w.orgs[caller],
        draft=CallDraft(
            title="某企业违规存放易燃物品",
            description="村内某厂房内堆放大量易燃物品，联系人电话13912345678。",
            location=w.orgs[caller].township,
            item=item,
        ),
    )

    _step(scene, reporter, call, "submit")
    _step(scene, leader, call, "approve")
    _step(scene, operator, call, "accept")
    _step(scene, operator, call, "dispatch", lead=w.orgs[lead].pk)
    return call


def _step(
    scene: Scene, key: str, call: Call, action: str, photos: tuple[Any, ...] = (), **data: Any
) -> None:
    call_services.call_transition(
        actor=scene.actor(key), call=call, action=action, data=data, photos=photos
    )


def _calls(scene: Scene) -> None:
    """A call of each county, dispatched, signed and answered with a photo (in progress).
    (Submitted calls are public through Open311, masked: no canary in their titles.)"""
    a = _call(
        scene,
        side="A",
        reporter="reporter",
        caller="t1",
        leader="tleader",
        operator="operator",
        lead="dept",
    )
    b = _call(
        scene,
        side="B",
        reporter="reporter_b",
        caller="tb",
        leader="tleader_b",
        operator="operator_b",
        lead="dept_b",
    )
    for side, call, handler in (("A", a, "handler"), ("B", b, "handler_b")):
        _step(scene, handler, call, "sign")
        _step(scene, handler, call, "respond", photos=(png(),), mode="on_site")
        photo = Attachment.objects.get(call=call)
        call.refresh_from_db()
        scene.add(
            "call", side, call, pk=call.pk, call_id=call.pk, number=call.number, state=call.state
        )
        scene.add(
            "attachment",
            side,
            photo,
            pk=photo.pk,
            call_id=call.pk,
            attachment_id=photo.pk,
        )


# ---- directory, keys, inbox, webhooks ---------------------------------------------------------


def _directory(scene: Scene) -> None:
    w = scene.world
    for side, org, member, county in (
        ("A", "t1", "reporter", w.county),
        ("B", "tb", "reporter_b", w.other_county),
    ):
        o = w.orgs[org]
        assert o.township is not None
        scene.add("organisation", side, o, pk=o.pk, org_id=o.pk, township_code=o.township.code)
        m = Membership.objects.get(user=w.users[member])
        scene.add("membership", side, m, pk=m.pk, membership_id=m.pk)
        key, _plain = apikey_create(
            actor=None,
            organisation=o,
            role=Role.TOWNSHIP_REPORTER,
            name=secret(side, f"{o.name}系统"),
        )
        scene.add("apikey", side, key, pk=key.pk)
        scene.add(
            "county",
            side,
            county,
            pk=county.pk,
            county_code=county.code,
            code=county.code,
            time_policy=_time_policy(county),
        )
        dept = w.orgs["dept" if side == "A" else "dept_b"]
        scene.add(
            "department",
            side,
            dept,
            pk=dept.pk,
            org_id=dept.pk,
            subject_id=dept.pk,
            county=county.code,
            township=o.pk,
        )
    # The API's system principals: keys that act like a world user.
    for principal, org, role in (
        ("key:tleader", "t1", Role.TOWNSHIP_LEADER),
        ("key:operator_b", "platform_b", Role.PLATFORM_OPERATOR),
    ):
        _key, plain = apikey_create(
            actor=None, organisation=w.orgs[org], role=role, name=f"matrix {principal}"
        )
        scene.api_keys[principal] = plain


def _time_policy(county: Region) -> dict[str, Any]:
    """The county's time policy as the body of `PUT /api/v1/time-limits/{code}`."""
    from xianghu.calls import policy

    table = policy.time_policy_table(county=county)
    hours = table.policy.hours
    return {
        "morning_start": hours.morning[0].isoformat(),
        "morning_end": hours.morning[1].isoformat(),
        "afternoon_start": hours.afternoon[0].isoformat(),
        "afternoon_end": hours.afternoon[1].isoformat(),
        "remind_share": table.policy.remind_share,
        "limits": {u: policy.limits_as_form(lim) for u, lim in table.policy.limits.items()},
    }


def _refs(scene: Scene) -> None:
    from xianghu.assessment.periods import Period

    w, today = scene.world, timezone.localdate()
    scene.refs.update(
        t1=w.orgs["t1"].pk,
        t1_code=w.t1.code,
        dept=w.orgs["dept"].pk,
        # a user that exists whatever the database's sequences say (PostgreSQL does not reset them)
        a_user=w.users["reporter"].pk,
        version=scene.lists.version.pk,
        county=w.county.pk,
        county_code=w.county.code,
        today=today.isoformat(),
        later=(today + timedelta(days=30)).isoformat(),
        yesterday=(timezone.now() - timedelta(days=1)).isoformat(),
        period=f"{today.year}-{today.month:02d}",
        # a month without a notice yet (the scene's are of the two months before this one)
        free_period=Period.month(today.year, today.month).previous().previous().previous().key,
    )


def _inbox_and_webhooks(scene: Scene) -> None:
    from xianghu.notify import services as notify_services

    w = scene.world
    for side, user, org, leader in (
        ("A", "reporter", "t1", "tleader"),
        ("B", "reporter_b", "tb", "tleader_b"),
    ):
        [note] = notify_services.notify(
            users=[w.users[user]],
            title=secret(side, "矩阵测试通知"),
            body="仅收件人可见。",
            url="/",
            kind="test",
            source_key=f"matrix-{side}",
        )
        scene.add("notification", side, note, pk=note.pk)
        hook, _secret = notify_services.webhook_create(
            actor=scene.actor(leader),
            organisation=w.orgs[org],
            url="http://127.0.0.1:9/hook",
            events=["*"],
        )
        scene.add("webhook", side, hook, pk=hook.pk)


# ---- assessment: notices, accountability, rankings -------------------------------------------


def _assessment(scene: Scene) -> None:
    from xianghu.assessment import accountability_services as acc
    from xianghu.assessment import notices as notice_services
    from xianghu.assessment.models import NoticeEntry
    from xianghu.assessment.periods import Period
    from xianghu.participation.open import services as open_services

    w = scene.world
    today = timezone.localdate()
    last = Period.month(today.year, today.month).previous()
    earlier = last.previous()
    for side, county, assessor, township, dept in (
        ("A", w.county, "assessor", "t1", "dept"),
        ("B", w.other_county, "assessor_b", "tb", "dept_b"),
    ):
        actor = scene.actor(assessor)
        notice = notice_services.notice_generate(actor=actor, county=county, period=last)
        entry = NoticeEntry.objects.create(
            notice=notice,
            organisation=w.orgs[dept],
            subject_name=w.orgs[dept].name,
            subject_kind="department",
            category="no_response",
            position=0,
            figures={},
            calls=[],
        )
        notice = notice_services.notice_issue(actor=actor, notice=notice)
        scene.add("notice", side, notice, pk=notice.pk, notice_id=notice.pk)
        scene.add("entry", side, entry, pk=entry.pk, entry_id=entry.pk)
        draft = notice_services.notice_generate(actor=actor, county=county, period=earlier)
        scene.add("draft_notice", side, draft, pk=draft.pk, notice_id=draft.pk)
        incident = acc.incident_create(
            actor=actor,
            township=w.orgs[township],
            title=secret(side, "秸秆焚烧未及时处置"),
            description="巡查发现秸秆焚烧，未按清单及时处置。",
            discovered_at=timezone.now() - timedelta(days=1),
            discovered_by="县督查组",
            department=w.orgs[dept],
        )
        scene.add("incident", side, incident, pk=incident.pk, incident_id=incident.pk)
        case = acc.case_open(actor=actor, incident=incident)
        scene.add("case", side, case, pk=case.pk, case_id=case.pk)
        ranking = open_services.ranking_publish(actor=actor, county=county, period=last)
        scene.add("ranking", side, ranking, pk=ranking.pk, county=county.code)
        scene.params["notice"][side]["county"] = county.code
        scene.params["draft_notice"][side]["county"] = county.code


# ---- closed cases on the open pages --------------------------------------------------------


def _closed_calls(scene: Scene) -> None:
    from xianghu.participation.open import services as open_services

    w = scene.world
    for side, reporter, caller, leader, operator, lead, handler in (
        ("A", "reporter", "t1", "tleader", "operator", "dept", "handler"),
        ("B", "reporter_b", "tb", "tleader_b", "operator_b", "dept_b", "handler_b"),
    ):
        call = _call(
            scene,
            side=side,
            reporter=reporter,
            caller=caller,
            leader=leader,
            operator=operator,
            lead=lead,
        )

        _step(scene, handler, call, "sign")
        _step(scene, handler, call, "respond", mode="on_site")
        _step(scene, handler, call, "complete", photos=(png("整改后.png"),), result="已清理完毕。")
        _step(scene, reporter, call, "evaluate", evaluation="satisfied", resolved="yes")
        photo = Attachment.objects.get(call=call)
        open_services.photo_clear(actor=scene.actor(operator), attachment=photo)
        county = call.county
        scene.add(
            "closed_call",
            side,
            call,
            pk=call.pk,
            call_id=call.pk,
            number=call.number,
            county=county.code,
        )
        scene.add("cleared_photo", side, photo, pk=photo.pk)
        draft, _created = call_services.call_create(
            actor=scene.actor(reporter),
            caller=w.orgs[caller],
            draft=CallDraft(
                title=secret(side, "尚未提交的草稿"),
                description="草稿只属于乡镇自己。",
                location=w.orgs[caller].township,
            ),
        )
        scene.add(
            "draft_call",
            side,
            draft,
            pk=draft.pk,
            call_id=draft.pk,
            number=draft.number,
            county=county.code,
        )


# ---- co-governance: public reports, consultations, resources, applications -------------------


def _participation(scene: Scene) -> None:
    from xianghu.participation import public_reports
    from xianghu.participation.coord import services as coord
    from xianghu.participation.deliberation import services as deliberation
    from xianghu.participation.models_coord import ResourceKind, Unit
    from xianghu.participation.models_public import OrganisationApplication, PublicKind

    w = scene.world
    for side, county, township_org, reporter, volunteer, enterprise, poster in (
        ("A", w.county, "t1", w.users["citizen"], "volunteer", "enterprise", "tleader"),
        ("B", w.other_county, "tb", None, "volunteer_b", "enterprise_b", "reporter_b"),
    ):
        township = w.orgs[township_org].township
        assert township is not None
        report, _created = public_reports.report_submit(
            reporter=reporter,
            data=public_reports.ReportInput(
                county=county,
                description="村口路灯坏了一个月，晚上很黑，电话13912345678。",
                location=township,
                contact="" if reporter else "13912345670",
                consent=True,
            ),
            photos=[png("路灯.png")],
        )
        scene.add("report", side, report, pk=report.pk, token=report.token, county=county.code)
        photo = report.photos.get()
        scene.add("report_photo", side, photo, pk=photo.pk)
        applicant = f.UserFactory(username=f"applicant_{side}", is_public=True)
        application = OrganisationApplication.objects.create(
            applicant=applicant,
            kind=PublicKind.SOCIAL_ORG,
            name=secret(side, f"河畔志愿服务队{side}"),
            county=county,
            township=township,
            contact_phone="13912345678",
        )
        scene.add("application", side, application, pk=application.pk)
        consultation = deliberation.consultation_create(
            actor=scene.actor(poster if side == "A" else "reporter_b"),
            township=township,
            topic=secret(side, "村口反复堆放易燃物"),
            agenda="1. 情况通报\n2. 各方意见",
        )
        scene.add("consultation", side, consultation, pk=consultation.pk, county=county.code)
        stakeholder = coord.stakeholder_for_organisation(
            actor=scene.actor(volunteer), organisation=w.orgs[enterprise]
        )
        scene.add("stakeholder", side, stakeholder, pk=stakeholder.pk)
        village = Region.objects.filter(parent=township).first() or township
        need = coord.need_create(
            actor=scene.actor(poster),
            poster=w.orgs[township_org],
            data=coord.NeedData(
                kind=ResourceKind.GOODS,
                title="安置点饮用水",
                quantity=Decimal("100"),
                unit=Unit.BOX,
                place=village,
                needed_by=timezone.localdate() + timedelta(days=3),
            ),
        )
        scene.add("need", side, need, pk=need.pk)
        offer = coord.offer_create(
            actor=scene.actor(volunteer),
            stakeholder=stakeholder,
            data=coord.OfferData(
                kind=ResourceKind.GOODS,
                title="矿泉水",  # shown with its commitments on the (public) need
                quantity=Decimal("60"),
                unit=Unit.BOX,
                area=county,
                available_from=timezone.localdate(),
            ),
        )
        scene.add("offer", side, offer, pk=offer.pk)
        commitment = coord.commitment_create(
            actor=scene.actor(volunteer),
            need=need,
            stakeholder=stakeholder,
            quantity=Decimal("10"),
            offer=offer,
        )
        scene.add("commitment", side, commitment, pk=commitment.pk)


# ---- the 12345 hotline ------------------------------------------------------------------------


def _hotline(scene: Scene) -> None:
    from xianghu.integrations.hotline import services as hotline
    from xianghu.integrations.hotline.models import Ticket

    w = scene.world
    for side, county, operator, township in (
        ("A", w.county, "operator", w.t1),
        ("B", w.other_county, "operator_b", w.orgs["tb"].township),
    ):
        source = hotline.source_ensure(actor=None, county=county, name="12345热线")
        scene.add("hotline_source", side, source, source_id=source.pk)
        ticket = Ticket.objects.create(
            county=county,
            number=f"T-{side}-1",
            content=secret(side, "兴隆街路灯不亮，夜间出行不便"),
            caller_name="张三丰",
            caller_phone="13812345678",
            township=township,
            location=township,
            address="兴隆街5号",
        )
        scene.add("ticket", side, ticket, pk=ticket.pk)
        # An import with a duplicate row: its error report is a file to download.
        head = "工单编号,来电时间,来电人,来电号码,诉求类型,诉求内容,事发地址\r\n"
        row = f"W-{side},2025-03-01 08:30,张三丰,13812345678,投诉,路灯不亮,兴隆街5号\r\n"
        run = hotline.run_create(
            actor=scene.actor(operator),
            source=source,
            file_name="tickets.csv",
            chunks=[(head + row + row).encode("gbk")],
        )
        hotline.run_start(
            actor=scene.actor(operator),
            run=run,
            mapping={
                "number": "工单编号",
                "content": "诉求内容",
                "received_at": "来电时间",
                "caller_phone": "来电号码",
                "address": "事发地址",
                "type": "诉求类型",
                "caller_name": "来电人",
            },
        )
        run.refresh_from_db()  # the tests' immediate task backend imported it on the start
        assert run.error_file, run.status
        scene.add("import_run", side, run, pk=run.pk)


def build(world: World, lists: Lists) -> Scene:
    """Every object of the matrix, on both sides."""
    seed_from_chinesecalendar(years=[timezone.localdate().year - 1, timezone.localdate().year])
    scene = Scene(world=world, lists=lists)
    _other_county_staff(world)
    _directory(scene)
    _catalog(scene)
    _adoption(scene)
    _agencies(scene)
    _calls(scene)
    _inbox_and_webhooks(scene)
    _assessment(scene)
    _closed_calls(scene)
    _participation(scene)
    _hotline(scene)
    _refs(scene)
    assert set(scene.params) == set(scene.objects)
    for kind, sides in scene.params.items():
        assert set(sides) == set(SIDES), kind
    return scene


__all__ = ["CANARY", "SIDES", "Scene", "build"]
