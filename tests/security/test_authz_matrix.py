"""The authorization matrix (issue #10, item 2; docs/security.md "Authorization matrix").

Every page of the URL configuration and every operation of the REST API's schema is
classified in PAGES / OPERATIONS / ADMIN_* below. For each one, every principal (the users
of the `world` fixture, the anonymous visitor and, for the API, two API keys) asks for it —
about the world county's object and the other county's object when it is about one — and
must be let in or refused as the rule says; a refusal on another county's object must
look exactly like a missing object. The `?format=` twins of pages (JSON, CSV, Excel), the
files (photos) and the exports follow the same rules.

A page or an operation that is not classified fails `test_every_route_is_classified` (and
a classified one that no longer exists too): classify it here when you add it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import connections, transaction
from django.test import Client

from config.api import api
from tests.catalog.conftest import lists as lists_fixture
from tests.conftest import world as world_fixture
from tests.security import matrix as m
from tests.security.matrix import (
    ANON,
    API_KEYS,
    API_PRINCIPALS,
    PAGE_PRINCIPALS,
    SAME,
    Rule,
    admin_only,
    group,
    login,
    obj,
    public,
    roles,
    static,
)
from tests.security.scene import CANARY, Scene, build
from xianghu.routing import selectors as routing_selectors

# ---- who is who -------------------------------------------------------------------------------
# The users of tests/conftest.py's `world`, grouped by what they are; "A" is the world's county
# (清河县), "B" the other one (柳河县: operator_b, reporter_b).

GOV_A = (  # every government member of the world's county
    "reporter",  # 王庄镇 (t1)
    "tleader",  # 王庄镇's leader
    "reporter_t2",  # 柳林镇 (t2)
    "village_reporter",  # 王庄镇's village
    "operator",  # the platform centre
    "handler",  # 应急管理局
    "dleader",  # 应急管理局's leader
    "police_leader",  # 公安局's leader (and of its 派出所 in 王庄镇)
    "agency_handler",  # 公安局王庄镇派出所
    "bianban",  # 编办
    "assessor",  # 两办
    "admin",  # system administrator (at the platform centre)
)
STAFF = (*GOV_A, "operator_b", "reporter_b")  # every government member, both counties
PUBLIC_USERS = ("citizen", "volunteer")  # a public account; a partner enterprise's member
TOWNSHIP_T1 = ("reporter", "tleader", "village_reporter")
COUNTY_WIDE = ("operator", "assessor", "admin")
DEPARTMENT = ("handler", "dleader")
DEPARTMENT_STAFF = ("handler", "dleader", "police_leader", "agency_handler")
LEADERS = ("tleader", "dleader", "police_leader")

# The call of side A: 王庄镇's, dispatched to 应急管理局.
CALL_A = (*TOWNSHIP_T1, *COUNTY_WIDE, *DEPARTMENT)
# The assessment dashboards: county roles, departments and agencies, township leaders.
DASHBOARD = (*COUNTY_WIDE, *DEPARTMENT_STAFF, "tleader", "operator_b")
DASHBOARD_A = tuple(k for k in DASHBOARD if k != "operator_b")
# Accountability: the county's assessors, platform and admins; the parties (王庄镇, 应急管理局).
CASE_A = (*COUNTY_WIDE, "tleader", "reporter", *DEPARTMENT)
CASE_B = ("operator_b", "reporter_b")  # the platform; 北关镇 is a party
# Notices: issued by the county roles, read by the county's government (not villages).
NOTICE_MANAGERS_A = COUNTY_WIDE
NOTICE_READERS_A = tuple(k for k in GOV_A if k != "village_reporter")
NOTICE_READERS_B = ("operator_b", "reporter_b")
NOTICE_EDIT = {"title": "关于响应情况的通报", "summary": "经核查。"}
# Public reports are moderated by their township's staff and the county platform.
MODERATORS_A = ("reporter", "tleader", "operator")
MODERATORS_B = ("reporter_b", "operator_b")
# A list's guidance adoption: its 编办 decides, the county platform and 两办 follow.
ADOPTION_A = ("bianban", "operator", "assessor", "admin")
# 公安局王庄镇派出所's page: its staff, its department's leader, 王庄镇's leader and
# reporters, the county's platform centre and 两办.
AGENCY_A = ("agency_handler", "police_leader", "tleader", "reporter", *COUNTY_WIDE)
AGENCY_LIST = (*AGENCY_A, "dleader", "reporter_t2", "operator_b", "reporter_b")

# Who may know that an object exists (side A, side B). They may be told "forbidden" (403)
# or "not now" (409) where they may not act; to anyone else the object must look exactly
# like a missing one. Kinds not listed: whoever the rule lets in.
EVERY = frozenset(m.EVERYONE)
_SEE_ORG = (
    group(*GOV_A, *PUBLIC_USERS),
    group("operator_b", "reporter_b", "admin", *PUBLIC_USERS),
)
_SEE_CALL = (group(*CALL_A), group("operator_b", "reporter_b", "admin"))
_SEE_CHANGES = (
    group(*DEPARTMENT, "operator", "assessor", "bianban", "admin"),
    group("operator_b", "admin"),
)
_SEE_PARTNERS = (group(*GOV_A, "volunteer"), group("operator_b", "reporter_b", "admin"))
_SEE_AGENCY = (group(*AGENCY_A), group("operator_b", "reporter_b"))
VIEWERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # public: administrative divisions, the lists in force, a hotline source's number (in
    # the URL its sender is given)
    "county": (EVERY, EVERY),
    "catalogue": (EVERY, EVERY),
    "version": (EVERY, EVERY),
    "hotline_source": (EVERY, EVERY),
    # the directory of government bodies (public users see every county's)
    "organisation": _SEE_ORG,
    "department": _SEE_ORG,
    "membership": (
        group("reporter", "tleader", "operator", "assessor", "bianban", "admin"),
        group("operator_b", "reporter_b", "admin"),
    ),
    "call": _SEE_CALL,
    "attachment": _SEE_CALL,
    "change_request": _SEE_CHANGES,
    "admission": _SEE_CHANGES,
    "adoption_task": (group(*ADOPTION_A), group("operator_b", "admin")),
    "agency": _SEE_AGENCY,
    "head_consultation": _SEE_AGENCY,
    "notice": (group(*NOTICE_READERS_A), group(*NOTICE_READERS_B)),
    "entry": (group(*NOTICE_READERS_A), group(*NOTICE_READERS_B)),
    "draft_notice": (group(*NOTICE_MANAGERS_A), group("operator_b")),
    "case": (group(*CASE_A), group(*CASE_B)),
    "incident": (group(*CASE_A), group(*CASE_B)),
    "ticket": (group(*COUNTY_WIDE), group("operator_b")),
    "consultation": (group("reporter", "tleader", *COUNTY_WIDE), group("reporter_b", "operator_b")),
    # needs are on the public board; profiles, offers and commitments are the county's
    "need": (m.LOGGED_IN, m.LOGGED_IN),
    "stakeholder": _SEE_PARTNERS,
    "offer": _SEE_PARTNERS,
    "commitment": _SEE_PARTNERS,
}


# ---- the classification -----------------------------------------------------------------------
# Page URL name → a rule, or a tuple of rules (variants: other objects, query strings).

PAGES: dict[str, Rule | tuple[Rule, ...]] = {
    # core
    "core:healthz": public(note="liveness: no data"),
    "core:manifest": static(),
    "core:service_worker": static(),
    "core:offline": static(),
    # The security audit log: system admins (and security auditors, not in the world) of
    # the county; the CSV download follows the same rule.
    "core:audit": roles("admin", twins=("csv",)),
    "set_language": public(methods=("POST",)),
    # the workbench
    "workbench:home": roles(*STAFF, *PUBLIC_USERS, note="no membership: the 403 page"),
    "workbench:switch": login(methods=("POST",)),
    "workbench:overview": roles(
        "tleader", "operator", "dleader", "police_leader", "assessor", "admin", "operator_b"
    ),
    # accounts
    "accounts:login": public(),
    "accounts:logout": public(methods=("POST",), login_ok=True),
    "accounts:profile": login(),
    "accounts:password_change": login(),
    # two-factor login: the code step (after the password; without one, back to the login
    # page) and the enrolment page of "My account"
    "accounts:login_verify": public(methods=("GET", "POST"), login_ok=True),
    "accounts:two_factor": login(methods=("GET", "POST")),
    "accounts:apikeys": (
        roles(*LEADERS, "admin", methods=("GET", "POST")),
        obj("organisation", "tleader", "admin", query={"org": "{pk}"}),
    ),
    "accounts:apikey_rotate": obj("apikey", "tleader", "admin", methods=("POST",)),
    "accounts:apikey_revoke": obj("apikey", "tleader", "admin", methods=("POST",)),
    # the directory
    "regions:organisation_list": login(),
    # stationed agencies (docs/agencies.md)
    "regions:agency_list": roles(*AGENCY_LIST),
    "regions:agency_detail": obj("agency", *AGENCY_A, other=("operator_b", "reporter_b")),
    "regions:consultation_propose": obj(
        "agency",
        "police_leader",
        other=(),
        methods=("POST",),
        body={"kind": "removal", "person_name": "李四", "position": "所长", "proposal": "拟免职。"},
    ),
    "regions:consultation_opinion": obj(
        "head_consultation",
        "tleader",
        other=(),
        methods=("POST",),
        body={"opinion": "agree", "opinion_text": "同意。"},
    ),
    "regions:consultation_decision": obj(
        "head_consultation",
        "police_leader",
        other=(),
        methods=("POST",),
        body={"decision": "approved", "decision_text": "同意。"},
    ),
    "regions:agency_funds": obj(
        "agency",
        "assessor",
        other=(),
        methods=("POST",),
        body={"managed_by_township": "on", "note": "乡镇统筹。"},
    ),
    "regions:organisation_detail": obj(
        "organisation",
        *GOV_A,
        *PUBLIC_USERS,
        other=("operator_b", "reporter_b", "admin", *PUBLIC_USERS),
        note="the public directory shows every government body",
    ),
    "regions:member_add": obj("organisation", "tleader", "admin", methods=("POST",)),
    "regions:membership_deactivate": obj("membership", "tleader", "admin", methods=("POST",)),
    # the lists
    "catalog:public_list": public(),
    "catalog:version_list": obj("catalogue", "*", other=SAME, note="published lists are public"),
    "catalog:version_detail": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    "catalog:item_detail": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    # the printed manuals (说明书) of an item and of a whole version: like the item
    "catalog:item_manual": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    "catalog:item_manual_pdf": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    "catalog:version_manuals_pdf": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    "catalog:derivation": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    "catalog:version_diff": (
        obj("version", "*", other=SAME, query={"old": "{pk}", "new": "{pk}"}),
        obj("draft", "bianban", "admin", other=("admin",), query={"old": "{pk}", "new": "{pk}"}),
    ),
    "catalog:review": roles("bianban", "admin"),
    "catalog:change_request_new": roles(
        "reporter",
        "tleader",
        "reporter_t2",
        "handler",
        "dleader",
        "police_leader",
        "agency_handler",
        "reporter_b",
        methods=("GET", "POST"),
    ),
    "catalog:change_requests_import": roles(
        "reporter",
        "tleader",
        "reporter_t2",
        "handler",
        "dleader",
        "police_leader",
        "agency_handler",
        "reporter_b",
        methods=("GET", "POST"),
    ),
    "catalog:change_request_detail": obj(
        "change_request",
        *DEPARTMENT,
        "operator",
        "assessor",
        "bianban",
        "admin",
        methods=("GET", "POST"),
    ),
    "catalog:admission_new": roles(
        "handler",
        "dleader",
        "police_leader",
        methods=("GET", "POST"),
        note="county departments only",
    ),
    "catalog:admission_detail": obj(
        "admission",
        *DEPARTMENT,
        "operator",
        "assessor",
        "bianban",
        "admin",
        methods=("GET", "POST"),
    ),
    "catalog:my_requests": login(),
    "catalog:duties": login(),
    "catalog:guard_check": roles(*DEPARTMENT_STAFF),
    # the adoption of a new guidance version (docs/catalog.md): the county's 编办 decides;
    # its platform and assessors follow; system admins see every county's
    "catalog:adoption_overview": roles("bianban", "operator", "assessor", "admin", "operator_b"),
    "catalog:adoption": obj("catalogue", *ADOPTION_A, other=("operator_b", "admin")),
    "catalog:adoption_adopt": obj(
        "catalogue", "bianban", other=(), methods=("POST",), body={"task": "{task}"}
    ),
    "catalog:adoption_decline": obj(
        "adoption_task", "bianban", other=(), methods=("POST",), body={"reason": "本县已有规定。"}
    ),
    "catalog:version_export": (
        obj("version", "*", other=SAME),
        obj("draft", "bianban", "admin", other=("admin",)),
    ),
    "catalog:version_import": obj("catalogue", "bianban", "admin", methods=("GET", "POST")),
    "catalog:version_draft": obj(
        "draft", "bianban", "admin", other=("admin",), methods=("GET", "POST")
    ),
    "catalog:version_publish": obj(
        "draft", "bianban", "admin", other=("admin",), methods=("POST",)
    ),
    "catalog:version_discard": obj(
        "draft", "bianban", "admin", other=("admin",), methods=("POST",)
    ),
    # calls
    "calls:list": login(),
    "calls:new": roles(
        "reporter",
        "tleader",
        "reporter_t2",
        "village_reporter",
        "handler",
        "dleader",
        "police_leader",
        "agency_handler",
        "reporter_b",
        methods=("GET", "POST"),
    ),
    "calls:overdue": roles("operator", "dleader", "police_leader", "operator_b"),
    "calls:time_policy": roles(*STAFF, methods=("GET", "POST")),
    "calls:detail": obj("call", *TOWNSHIP_T1, *COUNTY_WIDE, *DEPARTMENT),
    "calls:act": obj(
        "call", *TOWNSHIP_T1, *COUNTY_WIDE, *DEPARTMENT, methods=("POST",), extra={"action": "sign"}
    ),
    "calls:attachment": obj("attachment", *TOWNSHIP_T1, *COUNTY_WIDE, *DEPARTMENT),
    # notifications
    "notify:inbox": login(),
    "notify:mark_read": obj("notification", "reporter", methods=("POST",)),
    "notify:mark_all_read": login(methods=("POST",)),
    "notify:unread_badge": public(note="an empty badge for the anonymous"),
    "notify:webhook_list": roles(*LEADERS, "admin", methods=("GET", "POST")),
    "notify:webhook_detail": obj("webhook", "tleader"),
    "notify:webhook_set_active": obj("webhook", "tleader", methods=("POST",)),
    "notify:webhook_delete": obj("webhook", "tleader", methods=("POST",)),
    "notify:webhook_new_secret": obj("webhook", "tleader", methods=("POST",)),
    "notify:webhook_test": obj("webhook", "tleader", methods=("POST",)),
    # assessment dashboards (docs/scoring.md): county roles, departments, township leaders
    **{
        f"assessment:{name}": roles(*who, twins=("xlsx",))
        for name, who in (
            ("dashboard", DASHBOARD),
            ("domains", DASHBOARD),
            ("departments", tuple(k for k in DASHBOARD if k != "tleader")),
            ("townships", tuple(k for k in DASHBOARD if k not in DEPARTMENT_STAFF)),
            ("steps", DASHBOARD),
            ("rankings", DASHBOARD),
        )
    },
    "assessment:subject": obj(
        "department", *COUNTY_WIDE, *DEPARTMENT, twins=("xlsx",), other=("operator_b",)
    ),
    "assessment:evaluations": roles("tleader", methods=("GET", "POST"), twins=("xlsx",)),
    "assessment:policy": roles(*DASHBOARD, methods=("GET", "POST")),
    # accountability (docs/accountability.md)
    "assessment:accountability_list": login(),
    "assessment:accountability_call": obj(
        "call", "operator", "assessor", "admin", other=("operator_b",)
    ),
    "assessment:accountability_incident_new": roles(
        "operator", "assessor", "admin", "operator_b", methods=("GET", "POST")
    ),
    "assessment:accountability_case": obj("case", *CASE_A, other=CASE_B),
    "assessment:accountability_decide": obj(
        "case",
        "operator",
        "assessor",
        "admin",
        other=("operator_b",),
        methods=("POST",),
        body={"finding": "insufficient_evidence", "reasons": "证据不足。"},
    ),
    "assessment:accountability_refresh": obj(
        "case", "operator", "assessor", "admin", other=("operator_b",), methods=("POST",)
    ),
    "assessment:accountability_print": obj("case", *CASE_A, other=CASE_B),
    "assessment:accountability_pdf": obj("case", *CASE_A, other=CASE_B),
    "assessment:accountability_xlsx": obj("case", *CASE_A, other=CASE_B),
    # notices (docs/notices.md)
    "assessment:notice_list": login(),
    "assessment:notice_new": roles(
        "operator", "assessor", "admin", "operator_b", methods=("GET", "POST")
    ),
    **{
        f"assessment:{name}": (
            obj("notice", *NOTICE_READERS_A, other=NOTICE_READERS_B),
            obj("draft_notice", *NOTICE_MANAGERS_A, other=("operator_b",)),
        )
        for name in ("notice_detail", "notice_print", "notice_pdf", "notice_xlsx")
    },
    **{
        f"assessment:{name}": (
            obj(
                "notice",
                *NOTICE_MANAGERS_A,
                other=("operator_b",),
                methods=("POST",),
                body=NOTICE_EDIT,
            ),
            obj(
                "draft_notice",
                *NOTICE_MANAGERS_A,
                other=("operator_b",),
                methods=("POST",),
                body=NOTICE_EDIT,
            ),
        )
        for name in ("notice_edit", "notice_issue", "notice_discard")
    },
    "assessment:notice_entry": obj("entry", *NOTICE_READERS_A, other=NOTICE_READERS_B),
    "assessment:notice_reply": obj("entry", "dleader", methods=("POST",), other=()),
    "assessment:notice_decide": obj(
        "entry", *NOTICE_MANAGERS_A, other=("operator_b",), methods=("POST",)
    ),
    # routing
    "routing:suggest": roles(*STAFF),
    "routing:acceptance": roles("operator", "bianban", "assessor", "admin", "operator_b"),
    "routing:gaps": roles(
        "operator", "bianban", "assessor", "admin", "operator_b", "dleader", "police_leader"
    ),
    # public reports (docs/participation.md)
    "participation:privacy": public(),
    "participation:register": public(methods=("GET", "POST")),
    "participation:register_verify": public(methods=("GET", "POST")),
    "participation:report_new": public(methods=("GET", "POST")),
    "participation:track_lookup": public(),
    "participation:track": obj(
        "report", "*", other=SAME, note="the tracking number is the capability"
    ),
    "participation:track_rate": obj("report", "*", other=SAME, methods=("POST",)),
    "participation:public_list": public(),
    "participation:report_support": obj("report", "*", other=SAME, methods=("POST",)),
    "participation:mine": login(),
    "participation:photo": obj("report_photo", *MODERATORS_A, other=MODERATORS_B),
    "participation:moderation": roles(
        "reporter", "tleader", "reporter_t2", "operator", "operator_b", "reporter_b"
    ),
    "participation:moderation_report": obj(
        "report", *MODERATORS_A, other=MODERATORS_B, methods=("POST",)
    ),
    "participation:moderation_photo": obj(
        "report_photo", *MODERATORS_A, other=MODERATORS_B, methods=("POST",)
    ),
    "participation:unmask_audit": roles("admin"),
    "participation:applications": login(),
    "participation:application_approve": obj(
        "application", "reporter", "tleader", "operator", methods=("POST",)
    ),
    "participation:application_reject": obj(
        "application", "reporter", "tleader", "operator", methods=("POST",)
    ),
    "participation:triage": login(),
    "participation:triage_accept": obj("report", "reporter", "tleader", methods=("POST",)),
    "participation:triage_reject": obj("report", "reporter", "tleader", methods=("POST",)),
    "participation:triage_merge": obj("report", "reporter", "tleader", methods=("POST",)),
    "participation:triage_unmask": obj("report", "reporter", "tleader", methods=("POST",)),
    # the stakeholder registry and resources
    "participation:registry": roles(*STAFF, "volunteer", note="a partner: its own profile"),
    "participation:stakeholder_mine": roles(
        "volunteer", "village_reporter", note="society organisations, village committees"
    ),
    "participation:stakeholder_new": roles(
        "reporter",
        "tleader",
        "reporter_t2",
        "operator",
        "operator_b",
        "reporter_b",
        methods=("GET", "POST"),
    ),
    "participation:stakeholder_detail": obj(
        "stakeholder", *GOV_A, "volunteer", other=("operator_b", "reporter_b", "admin")
    ),
    "participation:stakeholder_edit": obj(
        "stakeholder", "volunteer", "admin", other=("admin",), methods=("GET", "POST")
    ),
    "participation:resource_board": public(twins=("json",)),
    "participation:need_list": login(),
    "participation:need_new": roles(
        "reporter",
        "tleader",
        "reporter_t2",
        "operator",
        "operator_b",
        "reporter_b",
        methods=("GET", "POST"),
    ),
    "participation:need_detail": obj("need", *m.LOGGED_IN, other=SAME),
    "participation:need_edit": obj(
        "need", "reporter", "tleader", "operator", "admin", methods=("GET", "POST")
    ),
    "participation:need_close": obj(
        "need", "reporter", "tleader", "operator", "admin", methods=("POST",)
    ),
    "participation:offer_list": login(),
    "participation:offer_new": roles("volunteer", "admin", methods=("GET", "POST")),
    "participation:offer_detail": obj(
        "offer", *GOV_A, "volunteer", other=("operator_b", "reporter_b", "admin")
    ),
    "participation:offer_edit": obj(
        "offer", "volunteer", "admin", other=("admin",), methods=("GET", "POST")
    ),
    "participation:offer_withdraw": obj(
        "offer", "volunteer", "admin", other=("admin",), methods=("POST",)
    ),
    "participation:commitment_action": obj(
        "commitment",
        "volunteer",
        "admin",
        other=("admin",),
        methods=("POST",),
        extra={"action": "deliver"},
    ),
    # consultations
    "participation:consultations": login(),
    "participation:consultation_new": roles(
        "reporter", "tleader", "reporter_t2", "reporter_b", methods=("GET", "POST")
    ),
    "participation:consultation_detail": obj(
        "consultation",
        "reporter",
        "tleader",
        "operator",
        "assessor",
        "admin",
        other=("reporter_b", "operator_b"),
    ),
    "participation:consultation_act": obj(
        "consultation",
        "reporter",
        "tleader",
        other=("reporter_b",),
        methods=("POST",),
        body={"action": "open"},
    ),
    # the open pages (多元共治): public, per county (`?county=`); their JSON/CSV twins
    **{
        f"open:{name}": public(twins=("json", "csv"))
        for name in (
            "index",
            "duties",
            "duties_township",
            "rankings",
            "notices",
            "cases",
            "statistics",
            "consultations",
        )
    },
    "open:duties_department": obj(
        "department", "*", other=SAME, query={"county": "{county}"}, twins=("json", "csv")
    ),
    "open:ranking_detail": obj(
        "ranking", "*", other=SAME, query={"county": "{county}"}, twins=("json", "csv")
    ),
    "open:notice_detail": (
        obj("notice", "*", other=SAME, query={"county": "{county}"}, twins=("json", "csv")),
        obj(
            "draft_notice",
            other=(),
            query={"county": "{county}"},
            twins=("json", "csv"),
            note="a draft is nobody's on the open pages",
        ),
    ),
    "open:case_detail": (
        obj("closed_call", "*", other=SAME, twins=("json", "csv")),
        obj("call", other=(), twins=("json", "csv"), note="an open call is not published"),
    ),
    "open:photo": (
        obj("cleared_photo", "*", other=SAME),
        obj("attachment", other=(), note="a photo nobody cleared is not published"),
    ),
    "open:consultation_detail": obj(
        "consultation",
        other=(),
        query={"county": "{county}"},
        twins=("json", "csv"),
        note="a draft is not published",
    ),
    "open:manage_rankings": roles("assessor", "admin", methods=("GET", "POST")),
    "open:manage_photos": obj(
        "closed_call", "operator", "admin", other=("operator_b",), methods=("GET", "POST")
    ),
    # the 12345 hotline (docs/integrations.md)
    "integrations:hotline_list": login(note="the tickets the user sees (none for most)"),
    "integrations:hotline_detail": obj(
        "ticket", "operator", "assessor", "admin", other=("operator_b",)
    ),
    "integrations:hotline_to_call": obj(
        "ticket", "operator", "admin", other=("operator_b",), methods=("POST",)
    ),
    "integrations:hotline_import": roles(
        "operator", "admin", "operator_b", methods=("GET", "POST")
    ),
    "integrations:hotline_run": obj(
        "import_run", "operator", "admin", other=("operator_b",), methods=("GET", "POST")
    ),
    "integrations:hotline_progress": obj("import_run", "operator", "admin", other=("operator_b",)),
    "integrations:hotline_errors": obj("import_run", "operator", "admin", other=("operator_b",)),
    "integrations:hotline_export": (
        roles("operator", "admin", "operator_b", extra={"fmt": "csv"}),
        roles("operator", "admin", "operator_b", extra={"fmt": "xlsx"}),
    ),
    "integrations:hotline_webhook": obj(
        "hotline_source",
        other=(),
        methods=("POST",),
        note="signed by the sender: unsigned is refused",
    ),
    # Open311 GeoReport v2: public, masked, drafts never (docs/integrations.md)
    "open311:discovery": public(extra={"fmt": "json"}),
    "open311:services": obj(
        "county", "*", other=SAME, extra={"fmt": "json"}, query={"jurisdiction_id": "{code}"}
    ),
    "open311:service": obj(
        "version", "*", other=SAME, extra={"fmt": "json"}, query={"jurisdiction_id": "{county}"}
    ),
    "open311:requests": (
        obj("county", "*", other=SAME, extra={"fmt": "json"}, query={"jurisdiction_id": "{code}"}),
        obj(
            "county",
            other=(),
            extra={"fmt": "json"},
            methods=("POST",),
            body={"jurisdiction_id": "{code}"},
            note="posting needs an API key",
        ),
    ),
    "open311:request": (
        obj(
            "closed_call",
            "*",
            other=SAME,
            extra={"fmt": "json"},
            query={"jurisdiction_id": "{county}"},
        ),
        obj(
            "draft_call",
            other=(),
            extra={"fmt": "json"},
            query={"jurisdiction_id": "{county}"},
            note="drafts are the township's",
        ),
    ),
    "open311:token": obj(
        "report",
        "*",
        other=SAME,
        extra={"fmt": "json"},
        query={"jurisdiction_id": "{county}"},
        note="the token is the capability, as for tracking",
    ),
    "open311:not_found": roles(extra={"path": "nothing.json"}, note="404 for everyone"),
    # province and city oversight (docs/oversight.md): a county's members see their county
    "oversight:home": roles(*STAFF, "volunteer", note="members of an organisation"),
    "oversight:region": obj(
        "county",
        *GOV_A,
        "volunteer",
        other=("operator_b", "reporter_b"),
        sees=(frozenset(), frozenset()),
        note="outside the remit: 404 whether it exists or not",
    ),
    "oversight:rollout": (
        roles(*STAFF, "volunteer", twins=("xlsx", "csv")),
        obj(
            "county",
            *GOV_A,
            "volunteer",
            other=("operator_b", "reporter_b"),
            query={"region": "{code}"},
            twins=("xlsx", "csv"),
            sees=(frozenset(), frozenset()),
        ),
    ),
    # the training sandbox (docs/training.md): any staff member practises in a practice
    # county of their own; the switch reaches only their own practice identities (an empty
    # or foreign role: 404)
    "training:home": roles(*STAFF, note="public users and no membership: 403"),
    "training:start": roles(*STAFF, methods=("POST",)),
    "training:switch": roles(*STAFF, methods=("POST",), note="no role given: 404"),
    "training:return": roles(*STAFF, methods=("POST",), note="not playing: back to /training/"),
    "training:reset": roles(*STAFF, methods=("POST",)),
    # the API's own pages
    "api:api-root": roles(note="nothing is served at the API's root (404 for everyone)"),
    "api:openapi-json": static(note="the schema documents, it holds no data"),
    "api:openapi-view": static(),
}

# API operation ("METHOD /api/v1/path") → a rule. Session users and API keys alike; the
# anonymous caller gets 401 wherever a login is needed.
V1 = "/api/v1"
DRAFT_KEEPERS = {"other": ("admin",)}
OPERATIONS: dict[str, Rule | tuple[Rule, ...]] = {
    f"GET {V1}/me": login(),
    f"GET {V1}/regions": login(),
    f"GET {V1}/regions/{{code}}": obj("county", *m.LOGGED_IN, other=SAME),
    f"GET {V1}/organisations": login(),
    f"GET {V1}/organisations/{{org_id}}": PAGES["regions:organisation_detail"],
    f"GET {V1}/organisations/{{org_id}}/members": obj(
        "organisation", *VIEWERS["membership"][0], other=VIEWERS["membership"][1]
    ),
    f"POST {V1}/organisations/{{org_id}}/members": obj(
        "organisation",
        "tleader",
        "admin",
        methods=("POST",),
        body={"username": "nomember", "role": "township_reporter"},
    ),
    f"DELETE {V1}/memberships/{{membership_id}}": obj("membership", "tleader", "admin"),
    # the lists: public, drafts for their keepers
    f"GET {V1}/catalog/catalogues": public(),
    f"GET {V1}/catalog/catalogues/{{catalogue_id}}/versions": obj("catalogue", "*", other=SAME),
    **{
        f"GET {V1}/catalog/versions/{{version_id}}{tail}": (
            obj("version", "*", other=SAME),
            obj("draft", "bianban", "admin", **DRAFT_KEEPERS),
        )
        for tail in ("", "/items", "/items/{code}")
    },
    f"GET {V1}/catalog/items": obj("county", "*", other=SAME, query={"county": "{code}"}),
    f"GET {V1}/catalog/diff": (
        obj("version", "*", other=SAME, query={"old": "{pk}", "new": "{pk}"}),
        obj("draft", "bianban", "admin", query={"old": "{pk}", "new": "{pk}"}, **DRAFT_KEEPERS),
    ),
    f"GET {V1}/catalog/duties": obj(
        "organisation",
        *VIEWERS["organisation"][0],
        other=VIEWERS["organisation"][1],
        query={"organisation": "{pk}"},
    ),
    f"GET {V1}/catalog/guard": obj(
        "department",
        *GOV_A,
        *PUBLIC_USERS,
        other=("operator_b", "reporter_b", "admin", *PUBLIC_USERS),
        query={"giver": "{pk}", "receiver": "{pk}"},
    ),
    f"GET {V1}/catalog/change-requests": login(),
    f"POST {V1}/catalog/change-requests": obj(
        "organisation",
        "reporter",
        "tleader",
        other=("reporter_b",),
        body={
            "organisation_id": "{pk}",
            "version_id": "{list_version}",
            "kind": "remove",
            "item_code": "D1-01",
            "reason": "并入其他事项",
        },
        note="for one's own organisation only",
    ),
    f"GET {V1}/catalog/change-requests/{{request_id}}": PAGES["catalog:change_request_detail"],
    f"POST {V1}/catalog/change-requests/{{request_id}}/decision": obj(
        "change_request",
        "bianban",
        "admin",
        other=("admin",),
        body={"approve": False, "opinion": "不同意"},
    ),
    f"GET {V1}/catalog/adoption-tasks": login(),
    f"POST {V1}/catalog/adoption-tasks/adopt": obj(
        "adoption_task", "bianban", other=(), body={"task_ids": ["{pk}"]}
    ),
    f"GET {V1}/catalog/adoption-tasks/{{task_id}}": obj(
        "adoption_task", *ADOPTION_A, other=("operator_b", "admin")
    ),
    f"POST {V1}/catalog/adoption-tasks/{{task_id}}/decision": obj(
        "adoption_task", "bianban", other=(), body={"adopt": False, "reason": "本县已有规定。"}
    ),
    f"GET {V1}/catalog/adoption-status": login(),
    f"GET {V1}/catalog/admissions": login(),
    f"POST {V1}/catalog/admissions": obj(
        "department",
        "handler",
        "dleader",
        other=(),
        body={
            "department_id": "{pk}",
            "title": "汛期巡查",
            "content": "每周巡查一次",
            "basis": "县防指通知",
            "township_ids": ["{township}"],
            "starts_on": "{today}",
            "ends_on": "{later}",
        },
        note="for one's own department only",
    ),
    f"GET {V1}/catalog/admissions/{{admission_id}}": PAGES["catalog:admission_detail"],
    f"POST {V1}/catalog/admissions/{{admission_id}}/decision": obj(
        "admission",
        "bianban",
        "admin",
        other=("admin",),
        body={"approve": False, "opinion": "不同意"},
    ),
    # calls
    f"POST {V1}/calls/": obj(
        "organisation",
        "reporter",
        "tleader",
        other=("reporter_b",),
        body={
            "caller_id": "{pk}",
            "title": "路灯不亮",
            "description": "村口路灯不亮。",
            "location_code": "{township_code}",
        },
        note="on behalf of one's own organisation only",
    ),
    f"POST {V1}/calls/batch/": roles(
        *TOWNSHIP_T1,
        "reporter_t2",
        "reporter_b",
        *DEPARTMENT_STAFF,
        body={
            "calls": [
                {
                    "caller_id": 1,
                    "title": "路灯不亮",
                    "description": "村口路灯不亮。",
                    "location_code": "000000",
                    "idempotency_key": "matrix-1",
                }
            ]
        },
        note="who can make calls; each entry on behalf of one's own organisation only, "
        "refused by itself as POST /calls/ refuses it (tests/calls/test_api_batch.py)",
    ),
    f"GET {V1}/calls/": login(),
    f"GET {V1}/calls/{{call_id}}": PAGES["calls:detail"],
    f"GET {V1}/calls/{{call_id}}/events": PAGES["calls:detail"],
    f"GET {V1}/calls/{{call_id}}/attachments/{{attachment_id}}": PAGES["calls:attachment"],
    f"POST {V1}/calls/{{call_id}}/actions/{{action}}": obj(
        "call",
        "handler",
        "dleader",
        extra={"action": "complete"},
        body={"data": {"result": "已处置完毕。"}},
        note="the lead department completes",
    ),
    f"GET {V1}/time-limits/{{county_code}}": obj(
        "county", *GOV_A, other=("operator_b", "reporter_b")
    ),
    f"PUT {V1}/time-limits/{{county_code}}": obj("county", "admin", other=(), body="{time_policy}"),
    # assessment (the county's id in `?county=`)
    **{
        f"GET {V1}/assessment/{name}": obj(
            "county",
            *DASHBOARD_A,
            other=("operator_b",),
            query={"county": "{pk}", "period": "{period}", **extra},
        )
        for name, extra in (
            ("metrics", {}),
            ("scores", {}),
            ("ranking", {"kind": "department"}),
            ("policy", {}),
            ("periodic-evaluations", {}),
        )
    },
    f"GET {V1}/assessment/subjects/{{subject_id}}/history": obj(
        "department",
        *COUNTY_WIDE,
        *DEPARTMENT,
        other=("operator_b",),
        query={"periods": "{period}"},
    ),
    f"GET {V1}/assessment/subjects/{{subject_id}}/losses": obj(
        "department",
        *COUNTY_WIDE,
        *DEPARTMENT,
        other=("operator_b",),
        query={"period": "{period}"},
    ),
    f"PUT {V1}/assessment/policy": obj(
        "county", "assessor", "admin", other=(), query={"county": "{pk}"}, body={"min_volume": 3}
    ),
    f"POST {V1}/assessment/periodic-evaluations": roles(
        "tleader",
        body={"township_id": "{t1}", "subject_id": "{dept}", "period": "{period}", "score": 90},
    ),
    # accountability
    f"GET {V1}/assessment/accountability/calls/{{call_id}}/evidence": PAGES[
        "assessment:accountability_call"
    ],
    f"GET {V1}/assessment/accountability/incidents/{{incident_id}}/evidence": obj(
        "incident", *CASE_A, other=CASE_B
    ),
    f"GET {V1}/assessment/accountability/incidents/{{incident_id}}": obj(
        "incident", *CASE_A, other=CASE_B
    ),
    f"POST {V1}/assessment/accountability/incidents": obj(
        "organisation",
        "operator",
        "assessor",
        "admin",
        other=("operator_b",),
        body={
            "township_id": "{pk}",
            "title": "秸秆焚烧",
            "description": "未及时处置。",
            "discovered_at": "{yesterday}",
            "open_case": False,
        },
    ),
    f"POST {V1}/assessment/accountability/cases": obj(
        "incident",
        "operator",
        "assessor",
        "admin",
        other=("operator_b",),
        body={"incident_id": "{pk}"},
    ),
    f"GET {V1}/assessment/accountability/cases": login(),
    f"GET {V1}/assessment/accountability/cases/{{case_id}}": obj("case", *CASE_A, other=CASE_B),
    f"POST {V1}/assessment/accountability/cases/{{case_id}}/decide": obj(
        "case",
        "operator",
        "assessor",
        "admin",
        other=("operator_b",),
        body={"finding": "insufficient_evidence", "reasons": "证据不足。"},
    ),
    f"POST {V1}/assessment/accountability/cases/{{case_id}}/refresh": PAGES[
        "assessment:accountability_refresh"
    ],
    f"GET {V1}/assessment/accountability/cases/{{case_id}}/pdf": obj("case", *CASE_A, other=CASE_B),
    f"GET {V1}/assessment/accountability/cases/{{case_id}}/xlsx": obj(
        "case", *CASE_A, other=CASE_B
    ),
    # notices
    f"GET {V1}/assessment/notices/": login(),
    f"POST {V1}/assessment/notices/": roles(
        "operator",
        "assessor",
        "admin",
        body={"period": "{free_period}", "county": "{county}"},
    ),
    **{
        f"GET {V1}/assessment/notices/{{notice_id}}{tail}": PAGES["assessment:notice_detail"]
        for tail in ("", "/pdf", "/xlsx")
    },
    f"PATCH {V1}/assessment/notices/{{notice_id}}": (
        obj("notice", *NOTICE_MANAGERS_A, other=("operator_b",), body={"title": "新标题"}),
        obj("draft_notice", *NOTICE_MANAGERS_A, other=("operator_b",), body={"title": "新标题"}),
    ),
    f"DELETE {V1}/assessment/notices/{{notice_id}}": (
        obj("notice", *NOTICE_MANAGERS_A, other=("operator_b",)),
        obj("draft_notice", *NOTICE_MANAGERS_A, other=("operator_b",)),
    ),
    f"POST {V1}/assessment/notices/{{notice_id}}/issue": (
        obj("notice", *NOTICE_MANAGERS_A, other=("operator_b",)),
        obj("draft_notice", *NOTICE_MANAGERS_A, other=("operator_b",)),
    ),
    f"GET {V1}/assessment/notices/entries/mine": login(),
    f"GET {V1}/assessment/notices/entries/{{entry_id}}": PAGES["assessment:notice_entry"],
    f"POST {V1}/assessment/notices/entries/{{entry_id}}/reply": obj(
        "entry",
        "dleader",
        other=(),
        body={"text": "已查明原因。", "measures": "建立值守制度。"},
    ),
    f"POST {V1}/assessment/notices/entries/{{entry_id}}/decide": obj(
        "entry",
        *NOTICE_MANAGERS_A,
        other=("operator_b",),
        body={"decision": "accept"},
    ),
    # routing, hotline
    f"POST {V1}/routing/suggest": obj(
        "county",
        *GOV_A,
        other=("operator_b", "reporter_b"),
        body={"title": "路灯不亮", "county": "{code}"},
    ),
    f"GET {V1}/integrations/hotline/updates": roles("operator", "admin", "operator_b"),
}

# The Django admin (system administrators only, core/admin_site.py): its own pages, and the
# models registered in it — each with its changelist, add, change, delete, history pages
# (and the redirect of a bare object URL). Value: the pages closed even to the system
# administrator (read-only admins: no adding, no deleting).
ADMIN_SITE: dict[str, Rule] = {
    "admin:index": admin_only(),
    "admin:login": public(note="the form; the site refuses non-admins after logging in"),
    "admin:logout": public(methods=("POST",), login_ok=True),
    "admin:password_change": admin_only(),
    "admin:password_change_done": admin_only(),
    "admin:autocomplete": roles(note="no model has autocomplete fields: 403 for the admin too"),
    "admin:jsi18n": admin_only(),
    "admin:auth_user_password_change": admin_only(
        extra={"id": "{a_user}"}, note="set a user's password"
    ),
    "admin:view_on_site": roles(
        extra={"content_type_id": 1, "object_id": 1},
        note="no model has a public URL: 404 for the admin too",
    ),
    "admin:app_list": admin_only(extra={"app_label": "calls"}),
    "admin/(?P<url>.*)$": roles(extra={"url": "nothing/"}, note="an unknown admin URL: 404"),
}
NO_ADD = frozenset({"add"})  # made elsewhere (logs, keys shown once, the workflow)
APPEND_ONLY = frozenset({"add", "delete"})  # the call record and the task log: read only
ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change", "")
ADMIN_MODELS: dict[str, frozenset[str]] = {
    "auth.group": frozenset(),
    "axes.accessattempt": NO_ADD,
    "axes.accesslog": NO_ADD,
    "axes.accessfailurelog": NO_ADD,
    "django_tasks_database.dbtaskresult": APPEND_ONLY,
    "core.workerheartbeat": frozenset(),
    "core.holiday": frozenset(),
    "core.calendaryear": frozenset(),
    # every county's events: superusers only (county admins and auditors read /audit/);
    # the bare object URL is the admin's redirect to "change" (no lookup), which refuses
    "core.auditevent": frozenset(ADMIN_VIEWS) - {""},
    "accounts.user": frozenset(),
    "accounts.apikey": NO_ADD,
    # two-factor devices: seen and removed (a lost phone), never made or changed here
    "otp_totp.totpdevice": NO_ADD,
    "otp_static.staticdevice": NO_ADD,
    "regions.region": frozenset(),
    "regions.organisation": frozenset(),
    "regions.membership": frozenset(),
    "notify.notification": NO_ADD,
    "notify.webhook": frozenset(),
    "notify.webhookdelivery": NO_ADD,
    "calls.call": APPEND_ONLY,
    "calls.dispatch": APPEND_ONLY,
    "calls.callevent": APPEND_ONLY,
    "calls.timepolicy": APPEND_ONLY,
    "routing.routingmodel": NO_ADD,
    "routing.routingsuggestionlog": NO_ADD,
    "routing.routingexample": frozenset(),
}


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Scene]:
    """The world, the lists and every object of the matrix, made once for the module in a
    transaction that is rolled back at its end (each test runs in a savepoint of it)."""
    from django.conf import settings

    media = tmp_path_factory.mktemp("media")
    old_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = str(media)
    with django_db_blocker.unblock():
        # Mirrors (the test replica) share their primary's database and transaction.
        aliases = [a for a in connections if not connections.settings[a]["TEST"].get("MIRROR")]
        atomics = [transaction.atomic(using=alias) for alias in aliases]
        for a in atomics:
            a.__enter__()
        try:
            world = world_fixture.__wrapped__(None)
            lists = lists_fixture.__wrapped__(world)
            routing_selectors.CACHE.clear()  # (models are cached by row id)
            s = build(world, lists)
            s.cookies = _sessions(s)
            yield s
        finally:
            for alias in aliases:
                transaction.set_rollback(True, using=alias)
            for a in reversed(atomics):
                a.__exit__(None, None, None)
            settings.MEDIA_ROOT = old_media
            routing_selectors.CACHE.clear()


def _sessions(s: Scene) -> dict[str, Any]:
    out = {}
    for key in m.WORLD_USERS:
        c = Client()
        c.force_login(s.world.users[key])
        out[key] = c.cookies
    return out


def _client(s: Scene, principal: str) -> tuple[Client, str | None]:
    c = Client()
    if principal in API_KEYS:
        return c, s.api_keys[principal]
    if principal != ANON:
        for name, morsel in s.cookies[principal].items():
            c.cookies[name] = morsel.value
    return c, None


# ---- running one route ------------------------------------------------------------------------


def _variants(rule: Rule | tuple[Rule, ...]) -> tuple[Rule, ...]:
    return rule if isinstance(rule, tuple) else (rule,)


def _url(route: m.Route, params: dict[str, Any]) -> str:
    return "/" + _fill(route.pattern, params)


def _fill(pattern: str, params: dict[str, Any]) -> str:
    import re

    out = re.sub(r"\(\?P<([^>]+)>[^)]*\)", lambda g: str(params[g.group(1)]), pattern)
    out = re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda g: str(params[g.group(1)]), out)
    return out.replace("^", "").replace("$", "").replace("\\", "")


def _with_viewers(rule: Rule) -> Rule:
    if rule.obj in VIEWERS and rule.sees is None:
        return dataclasses.replace(rule, sees=VIEWERS[rule.obj])
    return rule


def run_rule(
    s: Scene,
    rule: Rule,
    *,
    url_for: Any,
    methods: tuple[str, ...],
    principals: tuple[str, ...],
    api: bool,
    secured: bool = False,
) -> m.Tally:
    rule = _with_viewers(rule)
    tally = m.Tally()
    answers: dict[m.Probe, m.Answer] = {}
    probes = m.plan(rule, methods, principals)
    for probe in probes:
        if rule.obj is not None:
            params = s.params[rule.obj][probe.side or "A"]
            if probe.missing:
                params = m.missing_params(params)
        else:
            params = {}
        params = {**s.refs, **params}
        params = {**params, **m.fill(rule.extra, params)}
        query = {k: str(m.fill(v, params)) for k, v in rule.query.items()}
        if probe.fmt:
            query["format"] = probe.fmt
        cache.clear()  # rate limits count per address: the matrix is no flood
        client, key = _client(s, probe.principal)
        answers[probe] = m.send(
            client,
            probe.method,
            url_for(params),
            query=query,
            api_key=key,
            api=api,
            body=m.fill(rule.body, params),
        )
        tally.requests += 1
    for probe in probes:
        if probe.missing:
            continue
        missing = None
        if probe.side is not None and not rule.sees_it(probe.principal, probe.side):
            missing = answers[
                m.Probe(probe.principal, probe.method, None, missing=True, fmt=probe.fmt)
            ]
        problem = m.judge(rule, probe, answers[probe], missing, secured)
        if not problem and probe.principal in m.CANARY_BLIND and CANARY in answers[probe].text:
            problem = "LEAK: shows the other county's private data"
        if problem:
            tally.problems.append(f"{probe.label()}: {problem}")
    return tally


ROUTES = m.page_routes()
PAGE_KEYS = sorted(k for k, r in ROUTES.items() if r.namespace != "admin")
# (the admin's pages are classified in ADMIN_SITE and ADMIN_MODELS)


def _check(tally: m.Tally) -> None:
    dump = os.environ.get("XH_MATRIX_DUMP")
    if dump:
        with open(dump, "a", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in tally.problems)
    assert not tally.problems, "\n".join(tally.problems)


@pytest.mark.parametrize("key", [k for k in PAGE_KEYS if k in PAGES])
def test_page(scene: Scene, db: Any, key: str) -> None:
    route = ROUTES[key]
    total = m.Tally()
    for rule in _variants(PAGES[key]):
        t = run_rule(
            scene,
            rule,
            url_for=lambda p, route=route: _url(route, p),
            methods=rule.methods,
            principals=PAGE_PRINCIPALS,
            api=False,
        )
        total.requests += t.requests
        total.problems += [f"{key} {line}" for line in t.problems]
    _check(total)


SCHEMA = m.api_operations(api.get_openapi_schema())
ADMIN_ROUTES = {k: r for k, r in ROUTES.items() if r.namespace == "admin"}


def _admin_route(label: str, view: str) -> m.Route:
    app, model = label.split(".")
    if view:
        return ADMIN_ROUTES[f"admin:{app}_{model}_{view}"]
    return ADMIN_ROUTES[f"admin/{app}/{model}/<path:object_id>/"]


@pytest.mark.parametrize("key", sorted(k for k in ADMIN_SITE if k in ADMIN_ROUTES))
def test_admin_site(scene: Scene, db: Any, key: str) -> None:
    route = ADMIN_ROUTES[key]
    rule = ADMIN_SITE[key]
    t = run_rule(
        scene,
        rule,
        url_for=lambda p: _url(route, p),
        methods=rule.methods,
        principals=PAGE_PRINCIPALS,
        api=False,
    )
    _check(t)


@pytest.mark.parametrize("label", sorted(ADMIN_MODELS))
def test_admin_model(scene: Scene, db: Any, label: str) -> None:
    """Every page of a registered model: the system administrator only; the others are
    sent to the admin's login page whether the object exists or not."""
    model = next(mdl for mdl in admin.site._registry if mdl._meta.label_lower == label)
    first = model._default_manager.order_by("pk").first()
    object_id = first.pk if first is not None else m.MISSING_INT
    total = m.Tally()
    for view in ADMIN_VIEWS:
        closed = view in ADMIN_MODELS[label]
        rule = roles(note="closed to all") if closed else admin_only()
        route = _admin_route(label, view)
        t = run_rule(
            scene,
            dataclasses.replace(rule, extra={"object_id": object_id}),
            url_for=lambda p, route=route: _url(route, p),
            methods=("GET",),
            principals=PAGE_PRINCIPALS,
            api=False,
        )
        total.requests += t.requests
        total.problems += [f"{label} {view or 'object'} {line}" for line in t.problems]
    _check(total)


@pytest.mark.parametrize("key", [k for k in sorted(SCHEMA) if k in OPERATIONS])
def test_operation(scene: Scene, db: Any, key: str) -> None:
    op = SCHEMA[key]
    total = m.Tally()
    for rule in _variants(OPERATIONS[key]):
        t = run_rule(
            scene,
            rule,
            url_for=lambda p, op=op: op.path.format(**p),
            methods=(op.method,),
            principals=API_PRINCIPALS,
            api=True,
            secured=op.secured,
        )
        total.requests += t.requests
        total.problems += [f"{key} {line}" for line in t.problems]
    _check(total)


def matrix_counts() -> dict[str, int]:
    """What the matrix covers and how many requests it makes (docs/security.md)."""
    pages = requests = object_rules = 0
    for key in PAGE_KEYS:
        for rule in _variants(PAGES.get(key, ())):
            requests += len(m.plan(_with_viewers(rule), rule.methods, PAGE_PRINCIPALS))
            object_rules += rule.obj is not None
        pages += 1
    for key, op in SCHEMA.items():
        for rule in _variants(OPERATIONS.get(key, ())):
            requests += len(m.plan(_with_viewers(rule), (op.method,), API_PRINCIPALS))
            object_rules += rule.obj is not None
    for rule in ADMIN_SITE.values():
        requests += len(m.plan(rule, rule.methods, PAGE_PRINCIPALS))
    requests += len(ADMIN_MODELS) * len(ADMIN_VIEWS) * len(PAGE_PRINCIPALS)
    return {
        "pages": pages,
        "admin_pages": len(ADMIN_ROUTES),
        "api_operations": len(SCHEMA),
        "object_rules": object_rules,
        "principals": len(API_PRINCIPALS),
        "requests": requests,
    }


def test_the_matrix_asks_every_principal_everywhere() -> None:
    """Every classified page and operation is asked by every principal (a sample for
    pages without data), about both counties' objects when it is about one."""
    for key in PAGE_KEYS:
        for rule in _variants(PAGES.get(key, ())):
            probes = m.plan(_with_viewers(rule), rule.methods, PAGE_PRINCIPALS)
            asked = {p.principal for p in probes}
            wanted = m.STATIC_SAMPLE if rule.cls == "static" else set(PAGE_PRINCIPALS)
            assert asked == wanted, key
            if rule.obj:
                assert {p.side for p in probes if not p.missing} == {"A", "B"}, key
    counts = matrix_counts()
    print("authorization matrix:", counts)
    assert counts["requests"] > counts["principals"] * (counts["pages"] + counts["api_operations"])


def test_every_route_is_classified() -> None:
    """A new page or API operation fails here until it is classified above (and a
    classified one that no longer exists too)."""
    missing = sorted(set(PAGE_KEYS) - set(PAGES))
    gone = sorted(set(PAGES) - set(PAGE_KEYS))
    assert not missing, f"classify these pages in PAGES: {missing}"
    assert not gone, f"these classified pages no longer exist: {gone}"
    missing = sorted(set(SCHEMA) - set(OPERATIONS))
    gone = sorted(set(OPERATIONS) - set(SCHEMA))
    assert not missing, f"classify these API operations in OPERATIONS: {missing}"
    assert not gone, f"these classified API operations no longer exist: {gone}"
    registered = m.admin_models(admin.site)
    assert registered == set(ADMIN_MODELS), (
        f"classify these admin models in ADMIN_MODELS: {sorted(registered - set(ADMIN_MODELS))}; "
        f"gone: {sorted(set(ADMIN_MODELS) - registered)}"
    )
    covered = {
        _admin_route(label, view).key for label in ADMIN_MODELS for view in ADMIN_VIEWS
    } | set(ADMIN_SITE)
    assert set(ADMIN_ROUTES) == covered, sorted(set(ADMIN_ROUTES) ^ covered)
    # The schema documents every path the API serves (nothing mounted without it).
    assert m.api_url_paths() == {o.path for o in SCHEMA.values()}
