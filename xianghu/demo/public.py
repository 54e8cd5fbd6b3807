"""The demo's public reporting (docs/participation.md): the documented public account
`citizen` gets a profile and consent and files reports; an anonymous visitor files
others. Their texts hold a phone number, an ID number and a plate, so that masking has
something to mask. One report is approved and has "me too" supports, one is redacted,
one waits for moderation, one was declined with a reason, one merged into another, and
one was accepted by the first township (its draft call is in the township's list). A
volunteer team waits for the township's verification.

Idempotent: reports are found by their idempotency key, the application by its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from xianghu.accounts.models import User
from xianghu.catalog import selectors as catalog_selectors
from xianghu.participation import public_accounts, public_reports, services
from xianghu.participation.models import PublicReport, ReportStatus
from xianghu.participation.models_public import (
    Consent,
    OrganisationApplication,
    PublicKind,
    PublicProfile,
    ReportSupport,
)
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel
from xianghu.regions.selectors import actor_for_user

# (key, description, township index, village?, item code or "", anonymous contact, fate)
_REPORTS = (
    (
        "demo-public-1",
        "村口路灯坏了半个月，晚上很黑，老人出行不便。有事可联系17000009901。",
        0,
        True,
        "",
        "",
        "approve",
    ),
    (
        "demo-public-2",
        "集市东口有车辆长期占道，车牌鲁A12345，堵住消防通道。",
        0,
        False,
        "",
        "17000009902",
        "redact",
    ),
    (
        "demo-public-3",
        "河道边有人倾倒建筑垃圾，举报人身份证370101199001011234，请核实。",
        1,
        False,
        "",
        "",
        "pending",
    ),
    (
        "demo-public-4",
        "小区楼道堆放杂物，物业不管。",
        1,
        False,
        "",
        "demo.resident@example.com",
        "decline",
    ),
    (
        "demo-public-5",
        "村口路灯不亮，已经很久了。",
        0,
        True,
        "",
        "",
        "merge",
    ),
    (
        "demo-public-6",
        "学校门口减速带损坏，接送孩子时很危险。",
        0,
        False,
        "",
        "",
        "accept",
    ),
)


@dataclass(frozen=True)
class DemoPublic:
    reports: int
    applications: int


def _places(county: Region) -> list[Region]:
    return list(
        Region.objects.filter(path__startswith=county.path, level=RegionLevel.TOWNSHIP).order_by(
            "code"
        )
    )


@transaction.atomic
def build_demo_public(*, county: Region) -> DemoPublic:
    townships = _places(county)
    if not townships:
        return DemoPublic(reports=0, applications=0)
    citizen = User.objects.filter(username="citizen").first()
    leader = User.objects.filter(username="t01_leader").first()
    if citizen is not None:
        PublicProfile.objects.get_or_create(user=citizen, defaults={"kind": PublicKind.RESIDENT})
        if not Consent.objects.filter(user=citizen).exists():
            Consent.objects.create(
                user=citizen,
                purpose=Consent.Purpose.REGISTRATION,
                version=public_accounts.PRIVACY_VERSION,
            )
    made: dict[str, PublicReport] = {}
    version = catalog_selectors.county_version_in_force(county=county)
    for key, text, t_index, village, code, contact, _fate in _REPORTS:
        township = townships[min(t_index, len(townships) - 1)]
        location = (
            Region.objects.filter(parent=township).order_by("code").first() if village else None
        ) or township
        item = catalog_selectors.item_get(version=version, code=code) if version and code else None
        anonymous = bool(contact) or citizen is None
        report, _created = public_reports.report_submit(
            reporter=None if anonymous else citizen,
            data=public_reports.ReportInput(
                county=county,
                description=text,
                location=location,
                item=item,
                contact=contact,
                consent=bool(contact),
                idempotency_key=key,
            ),
        )
        made[key] = report
    staff = actor_for_user(user=leader) if leader is not None else None
    t2_staff = None
    if len(townships) > 1:
        t2_leader = User.objects.filter(username="t02_leader").first()
        t2_staff = actor_for_user(user=t2_leader) if t2_leader is not None else None
    for key, _text, t_index, _village, _code, _contact, fate in _REPORTS:
        report = made[key]
        report.refresh_from_db()
        actor = staff if t_index == 0 else t2_staff
        if actor is None:
            continue
        if fate == "approve" and report.moderation == "pending":
            public_reports.report_moderate(actor=actor, report=report, decision="approve")
            for n in range(3):
                if not ReportSupport.objects.filter(report=report, device=f"demo-{n}").exists():
                    public_reports.report_support(report=report, user=None, device=f"demo-{n}")
        elif fate == "redact" and report.moderation == "pending":
            public_reports.report_moderate(
                actor=actor, report=report, decision="redact", spans=["集市东口"]
            )
        elif fate == "decline" and report.status == ReportStatus.NEW:
            services.publicreport_reject(
                actor=actor, report=report, reason="楼道杂物属物业管理事项，请联系物业或拨打12345。"
            )
        elif fate == "merge" and report.status == ReportStatus.NEW:
            services.publicreport_merge(actor=actor, report=report, into=made["demo-public-1"])
        elif fate == "accept" and report.status == ReportStatus.NEW:
            services.publicreport_accept(actor=actor, report=report)
    applications = 0
    applicant = User.objects.filter(username="volunteer").first()
    if applicant is not None:
        OrganisationApplication.objects.get_or_create(
            name="清河县蓝天应急救援队",
            defaults={
                "applicant": applicant,
                "kind": PublicKind.VOLUNTEER_TEAM,
                "county": county,
                "township": townships[0],
                "contact_phone": applicant.phone,
                "description": "水上救援、应急转运、防汛巡查；队员32人，冲锋舟2艘。",
            },
        )
        applications = 1
    return DemoPublic(reports=len(made), applications=applications)
