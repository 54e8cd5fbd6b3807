"""The demo's open government and deliberation (docs/participation.md): two closed cases
whose texts hold a phone number, an ID number and a plate (so that the masking of the
open pages has something to mask, and the privacy test something to catch), one of them
with a photo the platform centre cleared; last month's rankings published by the
assessor; a consultation of the first township decided and closed with a follow-up task,
and another one open for comments.

Idempotent: every step looks for what it made before (the calls by idempotency key, the
consultations by topic, the ranking by period) and makes only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from xianghu.accounts.models import User
from xianghu.assessment.periods import Period
from xianghu.calls import services as call_services
from xianghu.calls.attachments import attachment_save
from xianghu.calls.models import Attachment, Call
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item, PartyRole, PrimaryLevel
from xianghu.core.actor import Actor
from xianghu.core.workdays import CHINA_TZ
from xianghu.participation.deliberation import services as deliberation
from xianghu.participation.models_open import (
    Consultation,
    ConsultationSource,
    PublishedRanking,
)
from xianghu.participation.open import services as open_services
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import SOCIETY_KINDS, OrgKind, RegionLevel, Role
from xianghu.regions.selectors import actor_for_user

from .evidence import evidence_photos, png_bytes

# The personal data the demo cases carry (fictional; 170 numbers are the demo's range).
DEMO_PHONE = "17000001234"
DEMO_ID_NUMBER = "371221198807154518"
DEMO_PLATE = "鲁C7A512"

_CASES = (
    (
        "demo-open-case-1",
        f"村民反映{DEMO_PLATE}货车长期占道",
        f"村民王某（电话{DEMO_PHONE}，身份证号{DEMO_ID_NUMBER}）反映，车牌{DEMO_PLATE}的货车"
        "长期停放在村口主路，影响通行和消防车通道。",
        f"已联系车主将车辆移走，设置禁停标志；回访村民王某（{DEMO_PHONE}），表示满意。",
    ),
    (
        "demo-open-case-2",
        "村内废弃厂房堆放易燃物",
        f"群众来电{DEMO_PHONE}反映村内废弃厂房堆放大量易燃物，存在火灾隐患。",
        "已督促产权人清理易燃物，现场复查无隐患。",
    ),
)
CLOSED_TOPIC = "村口主路占道停车和消防通道堵塞"
OPEN_TOPIC = "废弃厂房安全隐患的长效管理"


@dataclass(frozen=True)
class OpenSummary:
    cases: int
    ranking: str | None
    consultations: int


def _actor(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    return actor_for_user(user=user) if user else None


def _member_actor(organisation: Organisation, role: str) -> Actor | None:
    membership = (
        Membership.objects.filter(organisation=organisation, role=role, is_active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return actor_for_user(user=membership.user) if membership else None


def _item_with_handler(county: Region) -> tuple[Item, Organisation, Actor] | None:
    """A callable item of the list in force whose primary department has a handler."""
    version = catalog_selectors.county_version_in_force(county=county)
    if version is None:
        return None
    items = (
        Item.objects.filter(version=version, callable=True, primary_level=PrimaryLevel.COUNTY)
        .prefetch_related("parties__organisation")
        .order_by("code")
    )
    for item in items:
        for party in item.parties.all():
            org = party.organisation
            if party.role != PartyRole.PRIMARY or org is None or org.kind != OrgKind.DEPARTMENT:
                continue
            handler = _member_actor(org, Role.DEPARTMENT_HANDLER)
            if handler is not None:
                return item, org, handler
    return None


def _close_case(
    *,
    key: str,
    title: str,
    description: str,
    result: str,
    township_org: Organisation,
    place: Region,
    found: tuple[Item, Organisation, Actor],
) -> Call | None:
    reporter = _member_actor(township_org, Role.TOWNSHIP_REPORTER)
    leader = _member_actor(township_org, Role.TOWNSHIP_LEADER)
    operator = _actor("operator")
    if reporter is None or leader is None or operator is None:
        return None
    item, lead, handler = found
    call, _created = call_services.call_create(
        actor=reporter,
        caller=township_org,
        draft=CallDraft(title=title, description=description, location=place, item=item),
        idempotency_key=key,
    )
    steps: tuple[tuple[Actor, str, dict[str, Any]], ...] = (
        (reporter, "submit", {}),
        (leader, "approve", {}),
        (operator, "accept", {}),
        (operator, "dispatch", {"lead": lead.pk, "assisting": []}),
        (handler, "sign", {}),
        (handler, "respond", {"mode": "on_site"}),
        (handler, "complete", {"result": result}),
        (reporter, "evaluate", {"evaluation": "satisfied", "resolved": "yes"}),
    )
    order = [
        State.DRAFT,
        State.SUBMITTED,
        State.APPROVED,
        State.ACCEPTED,
        State.DISPATCHED,
        State.SIGNED,
        State.IN_PROGRESS,
        State.AWAITING_EVALUATION,
    ]
    if call.state not in order:
        return call
    for actor, action, data in steps[order.index(State(call.state)) :]:
        call_services.call_transition(
            actor=actor,
            call=call,
            action=action,
            data=data,
            photos=evidence_photos(action, data),
        )
    return call


def _photo(call: Call) -> None:
    operator = _actor("operator")
    reporter = _member_actor(call.caller, Role.TOWNSHIP_REPORTER)
    if operator is None or reporter is None:
        return
    # The first photo of the call (the department's evidence, where the rule asked for
    # one), or one of the township's; clearing is idempotent.
    photo = Attachment.objects.filter(call=call).order_by("pk").first()
    if photo is None:
        photo = attachment_save(
            actor=reporter,
            call=call,
            upload=SimpleUploadedFile("现场.png", png_bytes(), content_type="image/png"),
        )
    open_services.photo_clear(actor=operator, attachment=photo)


def _ranking(county: Region) -> str | None:
    assessor = _actor("assessor")
    if assessor is None:
        return None
    today = timezone.localdate(timezone.now(), CHINA_TZ)
    period = Period.month(today.year, today.month).previous()
    if not PublishedRanking.objects.filter(county=county, period_key=period.key).exists():
        open_services.ranking_publish(actor=assessor, county=county, period=period)
    return period.key


def _consultations(
    county: Region, township_org: Organisation, place: Region, cases: list[Call]
) -> int:
    township = township_org.township
    reporter = _member_actor(township_org, Role.TOWNSHIP_REPORTER)
    leader = _member_actor(township_org, Role.TOWNSHIP_LEADER)
    if township is None or reporter is None or leader is None:
        return 0
    society = list(
        Organisation.objects.filter(county=county, kind__in=SOCIETY_KINDS, is_active=True).order_by(
            "name"
        )[:2]
    )
    village_org = Organisation.objects.filter(kind=OrgKind.VILLAGE, region=place).first()
    item = cases[0].item if cases else None
    citizen = User.objects.filter(username="citizen").first()
    made = 0
    if not Consultation.objects.filter(township=township, topic=CLOSED_TOPIC).exists():
        c = deliberation.consultation_create(
            actor=reporter,
            township=township,
            topic=CLOSED_TOPIC,
            agenda=(
                "1. 通报：近一个月村口主路多次因货车占道被呼叫（村民王某，电话"
                f"{DEMO_PHONE}）\n2. 企业、村委会、志愿者和居民代表发言\n3. 形成决定和后续任务"
            ),
            place=place,
            item=item,
            source=ConsultationSource.HOTSPOT,
        )
        for org in [*society, *([village_org] if village_org else [])]:
            deliberation.participant_add(actor=reporter, consultation=c, organisation=org)
        deliberation.participant_add(actor=reporter, consultation=c, name="王秀英")
        if citizen is not None and citizen.phone:
            deliberation.participant_add(
                actor=reporter, consultation=c, name=citizen.name or "居民", phone=citizen.phone
            )
        deliberation.consultation_open(actor=reporter, consultation=c)
        for org in society[:1]:
            speaker = _member_actor(org, Role.PUBLIC_USER)
            if speaker is not None:
                deliberation.comment_add(
                    actor=speaker, consultation=c, text="愿意协调会员企业错峰停车，腾出消防通道。"
                )
        deliberation.comment_add(
            actor=reporter, consultation=c, text="村委会可在村西空地划定临时停车区。"
        )
        deliberation.consultation_decide(
            actor=leader,
            consultation=c,
            decision="在村西空地划定货车停车区，村口主路全天禁停；志愿者协会每周巡查一次；"
            f"群众可拨打村委会电话{DEMO_PHONE}反映。",
        )
        if cases:
            deliberation.task_add(
                actor=reporter, consultation=c, title="清理占道车辆", call_number=cases[0].number
            )
        deliberation.task_add(actor=reporter, consultation=c, title="设置禁停标志和停车区")
        deliberation.consultation_close(actor=leader, consultation=c)
        made += 1
    if not Consultation.objects.filter(township=township, topic=OPEN_TOPIC).exists():
        c = deliberation.consultation_create(
            actor=reporter,
            township=township,
            topic=OPEN_TOPIC,
            agenda="1. 废弃厂房现状\n2. 产权人、村委会和企业的责任\n3. 长效管理办法",
            place=place,
        )
        for org in society[1:2]:
            deliberation.participant_add(actor=reporter, consultation=c, organisation=org)
        deliberation.participant_add(actor=reporter, consultation=c, name="刘德明")
        deliberation.consultation_open(actor=reporter, consultation=c)
        made += 1
    return made


@transaction.atomic
def build_demo_open(*, county: Region) -> OpenSummary:
    """The demo's open government data and consultations (idempotent)."""
    township_org = (
        Organisation.objects.filter(county=county, kind=OrgKind.TOWNSHIP, is_active=True)
        .select_related("township")
        .order_by("region__code")
        .first()
    )
    found = _item_with_handler(county)
    cases: list[Call] = []
    if township_org is not None and township_org.township is not None and found is not None:
        place = (
            Region.objects.filter(parent=township_org.township, level=RegionLevel.VILLAGE)
            .order_by("code")
            .first()
            or township_org.township
        )
        for key, title, description, result in _CASES:
            call = _close_case(
                key=key,
                title=title,
                description=description,
                result=result,
                township_org=township_org,
                place=place,
                found=found,
            )
            if call is not None:
                cases.append(call)
        if cases and cases[0].state == State.CLOSED:
            _photo(cases[0])
        _consultations(county, township_org, place, cases)
    consultations = Consultation.objects.filter(
        county=county, topic__in=(CLOSED_TOPIC, OPEN_TOPIC)
    ).count()
    ranking = _ranking(county) if Call.objects.filter(county=county).exists() else None
    return OpenSummary(cases=len(cases), ranking=ranking, consultations=consultations)
