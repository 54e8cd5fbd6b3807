"""Writes of the training sandbox: build (or reuse) a trainee's practice county, reset
it, retire old ones, and decide whom a "switch to role" may reach.

Everything in a sandbox is made by the platform's own services (regions, accounts,
catalog, calls), so a trainee meets the real loop; only the place differs: a practice
county under the practice root region (`core.sandbox`), which no real province, city,
ranking or open page includes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.accounts.models import User
from xianghu.accounts.services import user_create
from xianghu.calls import services as call_services
from xianghu.calls.services import CallDraft
from xianghu.catalog import services as catalog_services
from xianghu.catalog.models import ListVersion, ScopeLevel
from xianghu.catalog.specs import PartySpec
from xianghu.core.errors import Conflict, NotFound, PermissionDenied
from xianghu.core.sandbox import SANDBOX_ROOT_CODE
from xianghu.demo.catalog import LOCAL_ITEMS
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel, Role
from xianghu.regions.selectors import actor_for_user
from xianghu.regions.services import membership_create, organisation_upsert, region_upsert

from .models import PracticeIdentity, PracticeRole, Sandbox

security_log = logging.getLogger("xianghu.security")

ROOT_NAME = "培训练习区"
# The practice list: the first two local items of the demo county's list (QH-L01 水库,
# QH-L02 高标准农田), so a trainee meets a lead and an assisting department.
PRACTICE_ITEMS = LOCAL_ITEMS[:2]
DEPARTMENTS = ("水利局", "公安局", "农业农村局")
HANDLER_DEPARTMENT = "水利局"  # the lead of QH-L01, where the practice handler works

IDENTITY_ROLES: dict[str, tuple[str, str]] = {
    # practice role → (membership role, the organisation it is held in)
    PracticeRole.TOWNSHIP_STAFF: (Role.TOWNSHIP_REPORTER, "township"),
    PracticeRole.TOWNSHIP_LEADER: (Role.TOWNSHIP_LEADER, "township"),
    PracticeRole.PLATFORM_OPERATOR: (Role.PLATFORM_OPERATOR, "platform"),
    PracticeRole.DEPARTMENT_HANDLER: (Role.DEPARTMENT_HANDLER, "department"),
}
IDENTITY_NAMES: dict[str, str] = {
    PracticeRole.TOWNSHIP_STAFF: "练习·乡镇工作人员",
    PracticeRole.TOWNSHIP_LEADER: "练习·乡镇领导",
    PracticeRole.PLATFORM_OPERATOR: "练习·平台操作员",
    PracticeRole.DEPARTMENT_HANDLER: "练习·部门经办人",
}


@dataclass(frozen=True)
class SampleCall:
    title: str
    description: str
    item_code: str
    address: str


SAMPLE_CALLS = (
    SampleCall(
        "水库库区有人违规垂钓游泳",
        "练习村东侧水库库区近日多人垂钓、游泳，村里劝阻无效，存在溺水隐患，请县水利局处置。",
        "QH-L01",
        "练习村东侧水库",
    ),
    SampleCall(
        "水库警示牌损毁",
        "水库西岸两处安全警示牌被风刮倒，需要县水利局重新设置。",
        "QH-L01",
        "练习村西岸",
    ),
    SampleCall(
        "高标准农田灌溉管道破损",
        "练习村北片高标准农田灌溉管道破损漏水，影响春灌，请县农业农村局维修。",
        "QH-L02",
        "练习村北片农田",
    ),
)


def _codes(number: int) -> tuple[str, str]:
    """(city code, county code) of sandbox `number`: 99 practice cities of 99 counties."""
    if not 1 <= number <= 99 * 99:
        raise Conflict(_("No more practice counties can be made."), code="training.full")
    city = (number - 1) // 99 + 1
    county = (number - 1) % 99 + 1
    return f"99{city:02d}00", f"99{city:02d}{county:02d}"


def live_sandbox(*, trainee_id: int) -> Sandbox | None:
    return (
        Sandbox.objects.select_related("county")
        .filter(trainee_id=trainee_id, retired_at__isnull=True)
        .first()
    )


def _refuse_practice_account(trainee: User) -> None:
    if PracticeIdentity.objects.filter(user_id=trainee.pk).exists():
        raise PermissionDenied(
            _("A practice identity cannot start a practice of its own."),
            code="training.practice_identity",
        )


def sandbox_start(*, trainee: User, at: datetime | None = None) -> Sandbox:
    """The trainee's live sandbox, built first if there is none."""
    _refuse_practice_account(trainee)
    existing = live_sandbox(trainee_id=trainee.pk)
    if existing is not None:
        return existing
    return _build(trainee=trainee, at=at or timezone.now())


def sandbox_reset(*, trainee: User, at: datetime | None = None) -> Sandbox:
    """Retire the trainee's sandbox and build a fresh one (the old calls' log stays, out
    of the way, since the event log is append-only)."""
    _refuse_practice_account(trainee)
    at = at or timezone.now()
    with transaction.atomic():
        existing = live_sandbox(trainee_id=trainee.pk)
        if existing is not None:
            sandbox_retire(sandbox=existing, at=at)
        return _build(trainee=trainee, at=at)


@transaction.atomic
def sandbox_retire(*, sandbox: Sandbox, at: datetime | None = None) -> Sandbox:
    """Switch a sandbox off: its identities can no longer be reached or act, and its
    organisations are inactive. Its rows stay: the calls' event log refuses deletion."""
    if sandbox.retired_at is not None:
        return sandbox
    sandbox.retired_at = at or timezone.now()
    sandbox.save(update_fields=["retired_at"])
    user_ids = list(sandbox.identities.values_list("user_id", flat=True))
    Membership.objects.filter(user_id__in=user_ids).update(is_active=False)
    User.objects.filter(pk__in=user_ids).update(is_active=False)
    Organisation.objects.filter(county=sandbox.county).update(is_active=False)
    return sandbox


def sandbox_purge(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Retire every live sandbox built more than `older_than` ago; the number retired."""
    cutoff = (now or timezone.now()) - older_than
    count = 0
    for sandbox in Sandbox.objects.filter(retired_at__isnull=True, created_at__lt=cutoff):
        sandbox_retire(sandbox=sandbox, at=now)
        count += 1
    return count


@transaction.atomic
def _build(*, trainee: User, at: datetime) -> Sandbox:
    # Numbers are never reused (a retired sandbox keeps its county); the lock keeps two
    # trainees starting at once from taking the same one.
    list(Sandbox.objects.select_for_update().order_by("-number")[:1])
    number = (Sandbox.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    city_code, county_code = _codes(number)
    root = region_upsert(
        code=SANDBOX_ROOT_CODE, name=ROOT_NAME, level=RegionLevel.PROVINCE, kind=RegionKind.PROVINCE
    )
    city = region_upsert(
        code=city_code,
        name=f"练习市{city_code[2:4]}",
        level=RegionLevel.CITY,
        kind=RegionKind.CITY,
        parent=root,
    )
    county = region_upsert(
        code=county_code,
        name=f"练习县{number}",
        level=RegionLevel.COUNTY,
        kind=RegionKind.COUNTY,
        parent=city,
    )
    township = region_upsert(
        code=f"{county_code}101",
        name="练习镇",
        level=RegionLevel.TOWNSHIP,
        kind=RegionKind.TOWN,
        parent=county,
    )
    village = region_upsert(
        code=f"{county_code}101201",
        name="练习村",
        level=RegionLevel.VILLAGE,
        kind=RegionKind.VILLAGE,
        parent=township,
    )
    orgs = {
        "township": organisation_upsert(
            name="练习镇人民政府", kind=OrgKind.TOWNSHIP, region=township, short_name="练习镇"
        ),
        "platform": organisation_upsert(
            name=f"{county.name}乡呼县应指挥中心", kind=OrgKind.PLATFORM_CENTRE, region=county
        ),
    }
    departments = {
        short: organisation_upsert(
            name=f"{county.name}{short}", kind=OrgKind.DEPARTMENT, region=county, short_name=short
        )
        for short in DEPARTMENTS
    }
    orgs["department"] = departments[HANDLER_DEPARTMENT]
    version = _publish_list(county=county, departments=departments, at=at)
    sandbox = Sandbox.objects.create(trainee=trainee, number=number, county=county, created_at=at)
    users = {}
    for role, (membership_role, org_key) in IDENTITY_ROLES.items():
        user = user_create(
            username=f"practice{number}-{role}",
            password=None,
            name=IDENTITY_NAMES[role],
            validate_password=False,
        )
        membership_create(
            actor=None, user=user, organisation=orgs[org_key], role=membership_role, title="练习"
        )
        PracticeIdentity.objects.create(sandbox=sandbox, role=role, user=user)
        users[role] = user
    staff = actor_for_user(user=users[PracticeRole.TOWNSHIP_STAFF])
    items = {i.code: i for i in version.items.all()}
    for sample in SAMPLE_CALLS:
        call_services.call_create(
            actor=staff,
            caller=orgs["township"],
            draft=CallDraft(
                title=sample.title,
                description=sample.description,
                location=village,
                item=items[sample.item_code],
                address=sample.address,
            ),
            at=at,
        )
    return sandbox


def _publish_list(
    *, county: Region, departments: dict[str, Organisation], at: datetime
) -> ListVersion:
    def party(p: PartySpec) -> PartySpec:
        return PartySpec(p.name, departments[p.name].pk)

    specs = [
        replace(
            spec,
            name=spec.name.replace("清河", "练习"),  # the demo county's local name
            primary=tuple(party(p) for p in spec.primary),
            assisting=tuple(party(p) for p in spec.assisting if p.name in departments),
        )
        for spec in PRACTICE_ITEMS
    ]
    catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=county, name=f"{county.name}属地管理事项清单（练习）"
    )
    draft = catalog_services.version_create_draft(
        catalogue=catalogue, specs=specs, title=f"{county.name}属地管理事项清单（练习版）"
    )
    # In force a moment before the sample calls are made on it.
    return catalog_services.version_publish(version=draft, at=at - timedelta(minutes=1))


# ---- switching between the trainee and their practice identities -----------------------


def identity_of(*, user_id: int | None) -> PracticeIdentity | None:
    if user_id is None:
        return None
    return (
        PracticeIdentity.objects.select_related("sandbox", "sandbox__county", "user")
        .filter(user_id=user_id)
        .first()
    )


def trainee_resolve(*, user: Any, session_trainee_id: int | None) -> int:
    """The trainee behind the current session: the user, or — while they play a practice
    identity — the trainee who switched to it (kept in the session and checked against
    the identity's sandbox, so a session can never claim someone else's practice)."""
    identity = identity_of(user_id=getattr(user, "pk", None))
    if identity is None:
        return int(user.pk)
    sandbox = identity.sandbox
    if sandbox.retired_at is not None or sandbox.trainee_id != session_trainee_id:
        security_log.warning(
            "training session does not match its practice identity",
            extra={"user_id": getattr(user, "pk", None), "trainee_id": session_trainee_id},
        )
        raise PermissionDenied(
            _("This practice session is no longer valid; log in again."),
            code="training.session_mismatch",
        )
    return sandbox.trainee_id


def identity_for_switch(*, trainee_id: int, role: str) -> PracticeIdentity:
    """The trainee's own practice identity for `role`, in their live sandbox only."""
    if role not in PracticeRole.values:
        security_log.warning(
            "training switch refused", extra={"user_id": trainee_id, "role": role[:40]}
        )
        raise NotFound(code="training.no_such_identity")
    sandbox = live_sandbox(trainee_id=trainee_id)
    identity = (
        PracticeIdentity.objects.select_related("user", "sandbox")
        .filter(sandbox=sandbox, role=role, user__is_active=True)
        .first()
        if sandbox is not None
        else None
    )
    if identity is None:
        security_log.warning("training switch refused", extra={"user_id": trainee_id, "role": role})
        raise NotFound(code="training.no_such_identity")
    security_log.info(
        "training identity switch",
        extra={
            "user_id": trainee_id,
            "practice_user_id": identity.user_id,
            "sandbox": sandbox.pk if sandbox else None,
            "role": role,
        },
    )
    return identity
