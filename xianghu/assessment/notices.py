"""Notices (通报) and rectification replies (整改回复): the selection rules, the services
that write notices and replies, and the selectors that read them (docs/notices.md).

Who is named comes from the same facts and filters as the metrics (`metrics.py`,
docs/scoring.md): for the county and the period,

- **no response** (未响应): lead dispatches received in the period whose signature or
  response was still not given when the notice was generated, its deadline passed;
- **late response** (慢响应): lead dispatches received in the period signed or responded
  to, but after the deadline;
- **poor response** (差响应): the satisfaction rate of the evaluations given in the period,
  and the unsatisfied evaluations (each reopened the call: 重办).

The rated dispatches are those of the response rate (lead, not excluded, no return
pending): no response + late response = the response rate's failures, so a notice never
disagrees with the figures. Thresholds are `NoticeCriteria` (defaults below, stored with
each notice). Errors are coded `notice.*`; periods are refused as in `periods.py`
(`assessment.period_*`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from xianghu.calls.deadlines import clock_policy
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.text import clean_text
from xianghu.core.workdays import CHINA_TZ, add_working_days
from xianghu.notify import services as notify_services
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role

from . import notices_access  # registers the access policies
from .access import SUBJECT_KINDS
from .metrics import SubjectMetrics, dispatch_filters, in_period, metrics_for_period
from .models import (
    DispatchFact,
    EntryStatus,
    EventFact,
    FactEventKind,
    Notice,
    NoticeCategory,
    NoticeEntry,
    NoticeKind,
    NoticeStatus,
    RectificationReply,
    ReplyStatus,
)
from .notices_access import MANAGER_ROLES, REPLY_ROLES, may_manage, may_reply
from .periods import Period, PeriodKind
from .policy import Policy, policy_for

#: Working days a named organisation has to reply, from the issue (default).
REPLY_WORKING_DAYS = 10
#: Working days to reply again after a reply was returned for revision.
RESUBMIT_WORKING_DAYS = 5
MAX_TITLE = 200
MAX_SUMMARY = 4000
MAX_TEXT = 4000
MAX_REASON = 2000

CATEGORY_ORDER = (
    NoticeCategory.NO_RESPONSE,
    NoticeCategory.LATE_RESPONSE,
    NoticeCategory.POOR_RESPONSE,
)

_KIND_OF_PERIOD = {
    PeriodKind.MONTH: NoticeKind.MONTHLY,
    PeriodKind.QUARTER: NoticeKind.QUARTERLY,
    PeriodKind.YEAR: NoticeKind.ANNUAL,
    PeriodKind.RANGE: NoticeKind.AD_HOC,
}


def _problem(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "message": message}


# ---- the criteria -----------------------------------------------------------------------------

RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class NoticeCriteria:
    """The thresholds that name a subject (docs/notices.md, "Who is named").

    - no response: at least `no_response_min` dispatches not signed or not responded to
      past the deadline;
    - late response: at least `late_min` dispatches signed or responded to late, or at
      least one and a response rate below `response_rate_below`;
    - poor response: a satisfaction rate below `satisfaction_below`, or at least
      `unsatisfied_min` unsatisfied evaluations (redos);
    - `reply_days`: working days from the issue to reply.
    """

    no_response_min: int = 1
    late_min: int = 2
    response_rate_below: Decimal = Decimal("0.8000")
    satisfaction_below: Decimal = Decimal("0.8000")
    unsatisfied_min: int = 2
    reply_days: int = REPLY_WORKING_DAYS

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = str(value) if isinstance(value, Decimal) else value
        return out


DEFAULT_CRITERIA = NoticeCriteria()

_COUNTS = ("no_response_min", "late_min", "unsatisfied_min")
_RATES = ("response_rate_below", "satisfaction_below")


def criteria_of(values: Mapping[str, Any] | NoticeCriteria | None) -> NoticeCriteria:
    """Criteria from given values (missing ones: the defaults); refused with
    `notice.criteria_invalid` and a problem per field. Rates are fractions (0.8) or
    percentages ("80%"), above 0 and at most 1; counts whole numbers from 1 to 1000;
    `reply_days` from 1 to 60."""
    if isinstance(values, NoticeCriteria):
        values = values.as_dict()
    values = {k: v for k, v in (values or {}).items() if v is not None and v != ""}
    unknown = sorted(set(values) - set(asdict(DEFAULT_CRITERIA)))
    problems = [_problem(k, _("Unknown criterion.")) for k in unknown]
    out: dict[str, Any] = {}
    for name in (*_COUNTS, "reply_days"):
        if name not in values:
            continue
        high = 60 if name == "reply_days" else 1000
        value = values[name]
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool) or not 1 <= number <= high:
            problems.append(_problem(name, _("A whole number from 1 to %(max)s.") % {"max": high}))
        else:
            out[name] = number
    for name in _RATES:
        if name not in values:
            continue
        rate = _parse_rate(values[name])
        if rate is None or not Decimal(0) < rate <= Decimal(1):
            problems.append(_problem(name, _("A rate above 0 % and at most 100 %.")))
        else:
            out[name] = rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    if problems:
        raise InvalidInput(
            _("The criteria of the notice are not valid."),
            code="notice.criteria_invalid",
            detail=problems,
        )
    return NoticeCriteria(**{**asdict(DEFAULT_CRITERIA), **out})


def _parse_rate(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return Decimal(text[:-1].strip()) / 100
        return Decimal(text)
    except InvalidOperation:
        return None


# ---- the selection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedCall:
    """One offending call of an entry: why, and the deadline missed (or the evaluation)."""

    call_id: int
    number: str
    title: str
    reasons: tuple[
        str, ...
    ]  # not_signed, late_sign, not_responded, late_response, unsatisfied, basically
    due: datetime | None = None
    done: datetime | None = None
    at: datetime | None = None  # when it was received (dispatches) or evaluated

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(CHINA_TZ).isoformat() if value else None

        return {
            "id": self.call_id,
            "number": self.number,
            "title": self.title,
            "reasons": list(self.reasons),
            "due": iso(self.due),
            "done": iso(self.done),
            "at": iso(self.at),
        }


@dataclass(frozen=True)
class Selected:
    """A subject named under one category, with its figures and calls."""

    subject_id: int
    subject_name: str
    subject_kind: str
    category: str
    figures: dict[str, Any]
    calls: tuple[NamedCall, ...]


@dataclass(frozen=True)
class Selection:
    """Who a notice for the period names, as of a moment, under the criteria."""

    county_id: int
    period: Period
    as_of: datetime
    criteria: NoticeCriteria
    entries: tuple[Selected, ...]
    totals: dict[str, Any] = field(default_factory=dict)

    def of(self, category: str) -> list[Selected]:
        return [e for e in self.entries if e.category == category]


def _rate_text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _figures(m: SubjectMetrics, no_response: int, late: int) -> dict[str, Any]:
    sat = m.satisfaction
    return {
        "received": m.received,
        "rated": m.response_ok + m.response_failed,
        "response_ok": m.response_ok,
        "response_failed": m.response_failed,
        "no_response": no_response,
        "late_response": late,
        "response_rate": _rate_text(m.response_rate),
        "sign_late": m.sign_late,
        "sign_rate": _rate_text(m.sign_rate),
        "completion_rate": _rate_text(m.completion_rate),
        "overdue": m.overdue,
        "evaluations": sat.counted,
        "satisfied": sat.satisfied,
        "basically": sat.basically,
        "unsatisfied": sat.unsatisfied,
        "defaults": sat.defaults,
        "satisfaction_rate": _rate_text(sat.rate),
        "redo": m.redo,
        "red_cards": m.red_cards,
        "yellow_cards": m.yellow_cards,
        "supervision_orders": m.supervision_orders,
    }


def _late(done: datetime | None, due: datetime | None) -> bool:
    return done is not None and due is not None and done > due


def _missing(done: datetime | None, due: datetime | None, now: datetime) -> bool:
    return done is None and due is not None and due < now


def _response_failures(
    county_id: int, period: Period, now: datetime
) -> dict[int, tuple[list[NamedCall], list[NamedCall]]]:
    """Per subject: (dispatches without signature or response, dispatches handled late),
    among the response rate's failures (one query)."""
    q = dispatch_filters(period, now)
    rows = (
        DispatchFact.objects.filter(county_id=county_id, subject_kind__in=SUBJECT_KINDS)
        .filter(q.response_failed)
        .values(
            "subject_id",
            "call_id",
            "call__number",
            "call__title",
            "received_at",
            "sign_due",
            "signed_at",
            "respond_due",
            "responded_at",
        )
        .order_by("received_at", "call_id", "pk")
    )
    out: dict[int, tuple[list[NamedCall], list[NamedCall]]] = {}
    for r in rows:
        never, late = out.setdefault(r["subject_id"], ([], []))
        sign_due, signed = r["sign_due"], r["signed_at"]
        respond_due, responded = r["respond_due"], r["responded_at"]
        reasons: list[str] = []
        if _missing(signed, sign_due, now):
            reasons.append("not_signed")
        elif _late(signed, sign_due):
            reasons.append("late_sign")
        if _missing(responded, respond_due, now):
            reasons.append("not_responded")
        elif _late(responded, respond_due):
            reasons.append("late_response")
        missing = "not_signed" in reasons or "not_responded" in reasons
        if missing:
            due, done = (sign_due, None) if "not_signed" in reasons else (respond_due, None)
        elif "late_sign" in reasons:
            due, done = sign_due, signed
        else:
            due, done = respond_due, responded
        named = NamedCall(
            call_id=r["call_id"],
            number=r["call__number"],
            title=r["call__title"],
            reasons=tuple(reasons),
            due=due,
            done=done,
            at=r["received_at"],
        )
        (never if missing else late).append(named)
    return out


def _poor_evaluations(county_id: int, period: Period, policy: Policy) -> dict[int, list[NamedCall]]:
    """Per subject: the evaluations given in the period that lowered its satisfaction
    rate — unsatisfied, and basically satisfied when it is worth less than satisfied."""
    wanted = ["unsatisfied"] + (["basically"] if policy.w_basic < 1 else [])
    rows = (
        EventFact.objects.filter(
            in_period("at", period),
            county_id=county_id,
            subject_kind__in=SUBJECT_KINDS,
            excluded=False,
            kind=FactEventKind.EVALUATION,
            default_evaluation=False,
            evaluation__in=wanted,
        )
        .values("subject_id", "call_id", "call__number", "call__title", "at", "evaluation")
        .order_by("at", "call_id", "pk")
    )
    out: dict[int, list[NamedCall]] = {}
    for r in rows:
        out.setdefault(r["subject_id"], []).append(
            NamedCall(
                call_id=r["call_id"],
                number=r["call__number"],
                title=r["call__title"],
                reasons=(r["evaluation"],),
                at=r["at"],
            )
        )
    return out


def _totals(metrics: Iterable[SubjectMetrics]) -> dict[str, Any]:
    received = ok = failed = counted = subjects = 0
    value = Fraction(0)
    for m in metrics:
        received += m.received
        ok += m.response_ok
        failed += m.response_failed
        counted += m.satisfaction.counted
        value += m.satisfaction.value or 0
        subjects += 1 if m.received else 0

    def rate(numerator: Fraction | int, denominator: int) -> str | None:
        if not denominator:
            return None
        exact = Fraction(numerator) / denominator
        return str(
            (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
                RATE_PLACES, rounding=ROUND_HALF_UP
            )
        )

    return {
        "received": received,
        "subjects": subjects,
        "response_rate": rate(ok, ok + failed),
        "satisfaction_rate": rate(value, counted),
    }


def select_subjects(
    *,
    county: Region | int,
    period: Period,
    criteria: NoticeCriteria = DEFAULT_CRITERIA,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> Selection:
    """Who a notice of the county for the period names, as of `now` (default: the
    current time), under `criteria`. A constant number of queries (the metrics, one
    query on the dispatches that failed the response rate, one on the evaluations)."""
    county_id = county if isinstance(county, int) else county.pk
    now = now or timezone.now()
    policy = policy or policy_for(county_id)
    metrics = metrics_for_period(
        county=county_id, period=period, policy=policy, times=False, now=now
    )
    failures = _response_failures(county_id, period, now)
    evaluations = _poor_evaluations(county_id, period, policy)
    c = criteria
    named: dict[str, list[tuple[tuple[Any, ...], Selected]]] = {k: [] for k in CATEGORY_ORDER}
    for m in metrics:
        never, late = failures.get(m.subject_id, ([], []))
        response = m.response_rate
        satisfaction = m.satisfaction.rate
        # (category, offending calls, sort key: worst first)
        found: list[tuple[str, list[NamedCall], tuple[Any, ...]]] = []
        if len(never) >= c.no_response_min:
            found.append((NoticeCategory.NO_RESPONSE, never, (-len(never),)))
        if len(late) >= c.late_min or (
            late and response is not None and response < c.response_rate_below
        ):
            found.append((NoticeCategory.LATE_RESPONSE, late, (-len(late), response or 0)))
        if (satisfaction is not None and satisfaction < c.satisfaction_below) or (
            m.satisfaction.unsatisfied >= c.unsatisfied_min
        ):
            poor = evaluations.get(m.subject_id, [])
            found.append((NoticeCategory.POOR_RESPONSE, poor, (satisfaction or 0, -len(poor))))
        if not found:
            continue
        figures = _figures(m, len(never), len(late))
        for category, calls, key in found:
            named[category].append(
                (
                    (*key, m.subject_name, m.subject_id),
                    Selected(
                        subject_id=m.subject_id,
                        subject_name=m.subject_name,
                        subject_kind=m.subject_kind,
                        category=category,
                        figures=figures,
                        calls=tuple(calls),
                    ),
                )
            )
    entries: list[Selected] = []
    for category in CATEGORY_ORDER:
        entries += [s for _key, s in sorted(named[category], key=lambda pair: pair[0])]
    return Selection(
        county_id=county_id,
        period=period,
        as_of=now,
        criteria=criteria,
        entries=tuple(entries),
        totals=_totals(metrics),
    )


# ---- labels -------------------------------------------------------------------------------------


def period_label(period: Period) -> str:
    """The period as a notice writes it."""
    start = period.start
    if period.kind == PeriodKind.MONTH:
        return _("%(year)s, month %(month)s") % {"year": start.year, "month": start.month}
    if period.kind == PeriodKind.QUARTER:
        quarter = (start.month - 1) // 3 + 1
        return _("%(year)s, quarter %(quarter)s") % {"year": start.year, "quarter": quarter}
    if period.kind == PeriodKind.YEAR:
        return _("the year %(year)s") % {"year": start.year}
    return _("%(start)s to %(end)s") % {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }


def notice_number(notice: Notice) -> str:
    """The notice's number (文号) once issued: county, year and serial."""
    if notice.serial is None:
        return _("Draft")
    return _("%(county)s call-response notice [%(year)s] No. %(serial)s") % {
        "county": notice.county.name,
        "year": notice.year,
        "serial": notice.serial,
    }


def notice_period(notice: Notice) -> Period:
    return Period.parse(notice.period_key, today=notice.starts_on)


def _percent(value: str | None) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _default_title(label: str) -> str:
    return _("Notice on the response to township calls in %(period)s") % {"period": label}


def _default_summary(selection: Selection, label: str) -> str:
    totals = selection.totals
    named = len({e.subject_id for e in selection.entries})
    return _(
        "In %(period)s, %(received)s calls were dispatched to %(subjects)s county "
        "departments, stationed agencies and townships as lead handlers. The response "
        "rate was %(response)s and the satisfaction rate %(satisfaction)s. Measured "
        "against the criteria of this notice, %(named)s organisations did not respond, "
        "responded late or responded poorly; they are named below with their figures "
        "and calls."
    ) % {
        "period": label,
        "received": totals.get("received", 0),
        "subjects": totals.get("subjects", 0),
        "response": _percent(totals.get("response_rate")),
        "satisfaction": _percent(totals.get("satisfaction_rate")),
        "named": named,
    }


# ---- services: notices ------------------------------------------------------------------------


def not_allowed() -> PermissionDenied:
    return PermissionDenied(
        _(
            "Only assessors, platform operators and system administrators of the county "
            "generate and issue notices and decide on the replies."
        ),
        code="notice.not_allowed",
    )


def _exists(notice: Notice) -> Conflict:
    return Conflict(
        _("A notice for %(period)s already exists (%(status)s).")
        % {"period": notice.period_label, "status": NoticeStatus(notice.status).label},
        code="notice.exists",
        detail={"notice": notice.pk, "status": notice.status},
    )


def notice_generate(
    *,
    actor: Actor,
    county: Region,
    period: Period,
    criteria: NoticeCriteria | Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Notice:
    """Generate the draft notice of the county for the period: who is named, with the
    figures and the calls as of `now`. One notice per county and period (409
    `notice.exists`, its id in `detail.notice`)."""
    if not may_manage(actor, county.pk):
        raise not_allowed()
    now = now or timezone.now()
    # The same refusals as a typed period (empty, reversed, future: assessment.period_*).
    period = Period.parse(period.key, today=timezone.localdate(now, CHINA_TZ))
    chosen = criteria_of(criteria)
    existing = Notice.objects.filter(county=county, period_key=period.key).first()
    if existing is not None:
        raise _exists(existing)
    selection = select_subjects(county=county, period=period, criteria=chosen, now=now)
    label = period_label(period)
    notice = Notice(
        county=county,
        kind=_KIND_OF_PERIOD[period.kind],
        period_key=period.key,
        starts_on=period.start,
        ends_on=period.end,
        period_label=label,
        title=_default_title(label)[:MAX_TITLE],
        summary=_default_summary(selection, label),
        criteria={**chosen.as_dict(), "totals": selection.totals},
        as_of=now,
        reply_days=chosen.reply_days,
        created_by_id=actor.user_id,
        created_at=now,
    )
    try:
        with transaction.atomic():
            notice.save()
            NoticeEntry.objects.bulk_create(
                [
                    NoticeEntry(
                        notice=notice,
                        organisation_id=s.subject_id,
                        subject_name=s.subject_name[:200],
                        subject_kind=s.subject_kind,
                        category=s.category,
                        position=position,
                        figures=s.figures,
                        calls=[c.as_dict() for c in s.calls],
                    )
                    for position, s in enumerate(selection.entries)
                ]
            )
    except IntegrityError:
        # Generated by someone else meanwhile (the one-per-period constraint decided).
        existing = Notice.objects.filter(county=county, period_key=period.key).first()
        if existing is None:
            raise
        raise _exists(existing) from None
    return notice


def _locked_draft(actor: Actor, notice: Notice) -> Notice:
    access.require(actor, "view", notice)
    if not may_manage(actor, notice.county_id):
        raise not_allowed()
    locked = Notice.objects.select_for_update().select_related("county").get(pk=notice.pk)
    if locked.status != NoticeStatus.DRAFT:
        raise Conflict(
            _("The notice was issued on %(at)s; it can no longer be changed.")
            % {"at": timezone.localtime(locked.issued_at).strftime("%Y-%m-%d %H:%M")}
            if locked.issued_at
            else _("The notice was issued; it can no longer be changed."),
            code="notice.not_draft",
        )
    return locked


@transaction.atomic
def notice_update(*, actor: Actor, notice: Notice, title: str, summary: str) -> Notice:
    """Change the title and summary of a draft."""
    locked = _locked_draft(actor, notice)
    title, summary = clean_text(title), clean_text(summary)
    problems = []
    if not title:
        problems.append(_problem("title", _("This field is required.")))
    elif len(title) > MAX_TITLE:
        problems.append(_problem("title", _("At most %(max)s characters.") % {"max": MAX_TITLE}))
    if len(summary) > MAX_SUMMARY:
        problems.append(
            _problem("summary", _("At most %(max)s characters.") % {"max": MAX_SUMMARY})
        )
    if problems:
        raise InvalidInput(_("The notice is not complete."), code="notice.invalid", detail=problems)
    locked.title, locked.summary = title, summary
    locked.save(update_fields=["title", "summary"])
    return locked


@transaction.atomic
def notice_discard(*, actor: Actor, notice: Notice) -> None:
    """Delete a draft (e.g. to generate it again with other criteria)."""
    locked = _locked_draft(actor, notice)
    locked.delete()


def _issuer_org(actor: Actor, county_id: int) -> int | None:
    for role in MANAGER_ROLES:  # the assessor's office first
        for grant in actor.grants_for(role):
            if grant.county_id == county_id:
                return grant.organisation_id
    return None


@transaction.atomic
def notice_issue(*, actor: Actor, notice: Notice, at: datetime | None = None) -> Notice:
    """Issue a draft: give it its number (文号: the year of the issue and the next
    serial of the county in that year), start every entry's reply deadline (the
    notice's `reply_days` working days, the county's office hours) and tell the
    organisations named (after the commit)."""
    locked = _locked_draft(actor, notice)
    at = at or timezone.now()
    entries = list(locked.entries.all())
    if not entries:
        raise InvalidInput(
            _("Nobody is named in this notice: there is nothing to issue. Discard the draft."),
            code="notice.empty",
        )
    year = timezone.localdate(at, CHINA_TZ).year
    last = Notice.objects.filter(county_id=locked.county_id, year=year).aggregate(n=Max("serial"))
    due = add_working_days(at, locked.reply_days, hours=clock_policy(locked.county_id).hours)
    locked.status = NoticeStatus.ISSUED
    locked.year = year
    locked.serial = (last["n"] or 0) + 1
    locked.issued_by_id = actor.user_id
    locked.issuer_org_id = _issuer_org(actor, locked.county_id)
    locked.issued_at = at
    try:
        with transaction.atomic():
            locked.save(
                update_fields=["status", "year", "serial", "issued_by", "issuer_org", "issued_at"]
            )
    except IntegrityError:
        raise Conflict(
            _("Another notice took this number at the same moment; issue it again."),
            code="notice.number_taken",
        ) from None
    NoticeEntry.objects.filter(notice=locked).update(status=EntryStatus.AWAITING, reply_due=due)
    notice_id = locked.pk
    notify_services.notify_with_change(
        lambda: _notify_issued(notice_id), what=f"notice {notice_id} issued"
    )
    return locked


# ---- services: replies ------------------------------------------------------------------------


def _entry_locked(entry: NoticeEntry) -> NoticeEntry:
    return (
        NoticeEntry.objects.select_for_update()
        .select_related("notice", "notice__county", "organisation")
        .get(pk=entry.pk)
    )


def _not_your_entry(entry: NoticeEntry, actor: Actor) -> PermissionDenied:
    org = entry.organisation
    if notices_access.answers_for(actor, entry):
        message = _("Only a leader of %(org)s files its rectification reply.") % {"org": org.name}
    else:
        message = _(
            "This entry names %(org)s: only a leader of %(org)s files its rectification reply."
        ) % {"org": org.name}
    return PermissionDenied(message, code="notice.not_your_entry")


def _reply_organisation(actor: Actor, entry: NoticeEntry) -> int:
    """The organisation the reply is filed as: the entry's, or the department of the
    stationed agency it names (its leaders may reply for it)."""
    own = notices_access.own_organisations(actor, *REPLY_ROLES)
    if entry.organisation_id in own or entry.organisation.parent_id is None:
        return entry.organisation_id
    return entry.organisation.parent_id


def reply_submit(
    *,
    actor: Actor,
    entry: NoticeEntry,
    text: str,
    measures: str,
    at: datetime | None = None,
) -> RectificationReply:
    """File the rectification reply of the named organisation: the causes found and the
    measures taken. Only a leader of the organisation named (for a stationed agency also
    of its department) — anyone else 403 `notice.not_your_entry`, nothing stored.
    409 `notice.reply_pending` while a reply awaits the decision, `notice.entry_closed`
    once accepted; 400 `notice.invalid` with the problems by field."""
    access.require(actor, "view", entry)
    if not may_reply(actor, entry):
        raise _not_your_entry(entry, actor)
    text, measures = clean_text(text), clean_text(measures)
    problems = []
    for name, value in (("text", text), ("measures", measures)):
        if not value:
            problems.append(_problem(name, _("This field is required.")))
        elif len(value) > MAX_TEXT:
            problems.append(_problem(name, _("At most %(max)s characters.") % {"max": MAX_TEXT}))
    at = at or timezone.now()
    with transaction.atomic():
        locked = _entry_locked(entry)
        if locked.notice.status != NoticeStatus.ISSUED:
            raise Conflict(_("The notice has not been issued."), code="notice.not_issued")
        if locked.status == EntryStatus.CLOSED:
            raise Conflict(
                _("The rectification of this entry was accepted; the entry is closed."),
                code="notice.entry_closed",
            )
        if locked.status == EntryStatus.REPLIED:
            raise Conflict(
                _("A reply of this entry is awaiting the decision of the issuer."),
                code="notice.reply_pending",
            )
        if problems:
            raise InvalidInput(
                _("The rectification reply is not complete."),
                code="notice.invalid",
                detail=problems,
            )
        reply = RectificationReply.objects.create(
            entry=locked,
            organisation_id=_reply_organisation(actor, locked),
            text=text,
            measures=measures,
            submitted_by_id=actor.user_id,
            submitted_at=at,
            late=bool(locked.reply_due and at > locked.reply_due),
        )
        locked.status = EntryStatus.REPLIED
        locked.save(update_fields=["status"])
        reply_id = reply.pk
        notify_services.notify_with_change(
            lambda: _notify_replied(reply_id), what=f"notice reply {reply_id}"
        )
    return reply


class Decision:
    ACCEPT = "accept"
    RETURN = "return"
    ALL = (ACCEPT, RETURN)


def reply_decide(
    *,
    actor: Actor,
    entry: NoticeEntry,
    decision: str,
    reason: str = "",
    at: datetime | None = None,
) -> RectificationReply:
    """Accept the reply awaiting the decision (the entry is closed) or return it for
    revision with a reason (the organisation replies again within
    `RESUBMIT_WORKING_DAYS`). The issuing side only (403 `notice.not_allowed`); 409
    `notice.no_reply` without a reply awaiting the decision; 400
    `notice.decision_invalid`, `notice.reason_required`."""
    access.require(actor, "view", entry)
    if not access.can(actor, "decide", entry):
        raise not_allowed()
    if decision not in Decision.ALL:
        raise InvalidInput(
            _("Accept or return the reply."),
            code="notice.decision_invalid",
            detail=[_problem("decision", _("Choose accept or return."))],
        )
    reason = clean_text(reason)
    if decision == Decision.RETURN and not reason:
        raise InvalidInput(
            _("Say what the reply lacks."),
            code="notice.reason_required",
            detail=[_problem("reason", _("Say what the reply lacks."))],
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            _("The reason is too long."),
            code="notice.invalid",
            detail=[_problem("reason", _("At most %(max)s characters.") % {"max": MAX_REASON})],
        )
    at = at or timezone.now()
    with transaction.atomic():
        locked = _entry_locked(entry)
        reply = (
            RectificationReply.objects.select_for_update()
            .filter(entry=locked, status=ReplyStatus.SUBMITTED)
            .first()
        )
        if reply is None:
            raise Conflict(
                _("No reply of this entry is awaiting a decision."), code="notice.no_reply"
            )
        reply.decided_by_id = actor.user_id
        reply.decided_at = at
        reply.decision_reason = reason
        if decision == Decision.ACCEPT:
            reply.status = ReplyStatus.ACCEPTED
            locked.status = EntryStatus.CLOSED
            locked.closed_at = at
        else:
            reply.status = ReplyStatus.RETURNED
            locked.status = EntryStatus.RETURNED
            locked.reply_due = add_working_days(
                at, RESUBMIT_WORKING_DAYS, hours=clock_policy(locked.notice.county_id).hours
            )
        reply.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        locked.save(update_fields=["status", "closed_at", "reply_due"])
        reply_id = reply.pk
        notify_services.notify_with_change(
            lambda: _notify_decided(reply_id), what=f"decision on notice reply {reply_id}"
        )
    return reply


# ---- notifications (in the change's transaction: notify_services.notify_with_change) ------------


def _staff_of(org_ids: set[int], roles: Iterable[str] | None = None) -> set[int]:
    qs = Membership.objects.filter(
        organisation_id__in=org_ids,
        is_active=True,
        organisation__is_active=True,
        user__is_active=True,
    ).exclude(role=Role.PUBLIC_USER)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    return set(qs.values_list("user_id", flat=True))


def _named_staff(entries: Iterable[NoticeEntry]) -> set[int]:
    """The staff of the organisations named, and the leaders of the departments of the
    stationed agencies named (they may reply for them)."""
    orgs = {e.organisation_id for e in entries}
    departments = set(
        Organisation.objects.filter(
            pk__in=orgs, kind=OrgKind.STATIONED_AGENCY, parent__isnull=False
        ).values_list("parent_id", flat=True)
    )
    return _staff_of(orgs) | _staff_of({d for d in departments if d}, REPLY_ROLES)


def _send(users: set[int], title: str, body: str, url: str, kind: str, key: str) -> None:
    if users:
        notify_services.notify(
            users=notify_services.users_with_ids(users),
            title=title,
            body=body,
            url=url,
            kind=kind,
            source_key=key,
        )


def _notify_issued(notice_id: int) -> None:
    notice = Notice.objects.select_related("county").get(pk=notice_id)
    entries = list(notice.entries.select_related("organisation"))
    users = _named_staff(entries)
    users.discard(notice.issued_by_id or 0)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Your organisation is named in notice %(number)s") % {
            "number": notice_number(notice)
        }
        due = min((e.reply_due for e in entries if e.reply_due), default=None)
        body = notice.title
        if due is not None:
            body += "\n" + _("File the rectification reply by %(due)s.") % {
                "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
            }
    _send(
        users,
        title,
        body,
        f"/assessment/notices/{notice.pk}/",
        "notice.issued",
        f"notice:{notice.pk}:issued",
    )


def _notify_replied(reply_id: int) -> None:
    reply = RectificationReply.objects.select_related(
        "entry", "entry__notice", "entry__notice__county"
    ).get(pk=reply_id)
    entry, notice = reply.entry, reply.entry.notice
    users = set(
        Membership.objects.filter(
            role__in=[Role.ASSESSOR],
            organisation__county_id=notice.county_id,
            is_active=True,
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )
    if notice.issued_by_id:
        users.add(notice.issued_by_id)
    users.discard(reply.submitted_by_id or 0)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(org)s replied to notice %(number)s") % {
            "org": entry.subject_name,
            "number": notice_number(notice),
        }
    _send(
        users,
        title,
        notice.title,
        f"/assessment/notices/entries/{entry.pk}/",
        "notice.replied",
        f"notice-reply:{reply.pk}:submitted",
    )


def _notify_decided(reply_id: int) -> None:
    reply = RectificationReply.objects.select_related(
        "entry", "entry__notice", "entry__notice__county"
    ).get(pk=reply_id)
    entry, notice = reply.entry, reply.entry.notice
    users = _named_staff([entry])
    users.discard(reply.decided_by_id or 0)
    with translation.override(settings.LANGUAGE_CODE):
        if reply.status == ReplyStatus.ACCEPTED:
            title = _("Notice %(number)s: your rectification was accepted")
        else:
            title = _("Notice %(number)s: your rectification reply was returned")
        title = title % {"number": notice_number(notice)}
        body = notice.title
        if reply.decision_reason:
            body += "\n" + _("Reason: %(reason)s") % {"reason": reply.decision_reason[:500]}
    _send(
        users,
        title,
        body,
        f"/assessment/notices/entries/{entry.pk}/",
        f"notice.reply_{reply.status}",
        f"notice-reply:{reply.pk}:{reply.status}",
    )


# ---- selectors ----------------------------------------------------------------------------------


def notice_list(
    *, actor: Actor, status: str | None = None, county_id: int | None = None
) -> QuerySet[Notice]:
    """The notices the actor may see, newest period first, with their entry counts."""
    qs = access.visible(actor, Notice.objects.select_related("county", "issuer_org"))
    if status:
        qs = qs.filter(status=status)
    if county_id is not None:
        qs = qs.filter(county_id=county_id)
    return qs.annotate(
        entry_count=Count("entries", distinct=True),
        open_count=Count(
            "entries",
            filter=Q(
                entries__status__in=[
                    EntryStatus.AWAITING,
                    EntryStatus.REPLIED,
                    EntryStatus.RETURNED,
                ]
            ),
            distinct=True,
        ),
    ).order_by("-starts_on", "-created_at", "-pk")


def notice_get(*, actor: Actor, pk: Any) -> Notice:
    qs = Notice.objects.select_related("county", "issuer_org", "issued_by", "created_by")
    return access.get_visible(actor, qs, pk=pk)


def notice_entries(*, notice: Notice) -> list[NoticeEntry]:
    """The entries of a notice in their order."""
    return list(notice.entries.select_related("organisation", "notice"))


def entry_get(*, actor: Actor, pk: Any) -> NoticeEntry:
    qs = NoticeEntry.objects.select_related("notice", "notice__county", "organisation")
    return access.get_visible(actor, qs, pk=pk)


def entry_replies(*, actor: Actor, entry: NoticeEntry) -> QuerySet[RectificationReply]:
    """The replies of an entry the actor may read (the issuing side and the named
    organisation), oldest first."""
    return access.visible(
        actor,
        RectificationReply.objects.filter(entry=entry).select_related(
            "organisation", "submitted_by", "decided_by"
        ),
    ).order_by("submitted_at", "pk")


def entries_to_answer(*, actor: Actor) -> QuerySet[NoticeEntry]:
    """The open entries of issued notices the actor may reply to (a leader of the
    organisation named, or of the department of the agency named), oldest deadline
    first."""
    own = notices_access.own_organisations(actor, *REPLY_ROLES)
    if not own:
        return NoticeEntry.objects.none()
    return (
        NoticeEntry.objects.filter(notice__status=NoticeStatus.ISSUED)
        .exclude(status=EntryStatus.CLOSED)
        .filter(
            Q(organisation_id__in=own)
            | Q(organisation__parent_id__in=own, organisation__kind=OrgKind.STATIONED_AGENCY)
        )
        .select_related("notice", "notice__county", "organisation")
        .order_by("reply_due", "pk")
    )


def entries_of_organisations(*, actor: Actor) -> QuerySet[NoticeEntry]:
    """The entries of issued notices naming the actor's organisations (any staff role;
    for department staff also the department's stationed agencies), newest first."""
    own = notices_access.own_organisations(actor)
    if not own:
        return NoticeEntry.objects.none()
    return (
        NoticeEntry.objects.filter(notice__status=NoticeStatus.ISSUED)
        .filter(
            Q(organisation_id__in=own)
            | Q(organisation__parent_id__in=own, organisation__kind=OrgKind.STATIONED_AGENCY)
        )
        .select_related("notice", "notice__county", "organisation")
        .order_by("-notice__issued_at", "position", "pk")
    )


def overdue_entries(*, notice: Notice, now: datetime | None = None) -> list[NoticeEntry]:
    """The entries of an issued notice whose reply is overdue."""
    now = now or timezone.now()
    return list(
        notice.entries.filter(
            status__in=[EntryStatus.AWAITING, EntryStatus.RETURNED], reply_due__lt=now
        ).select_related("organisation")
    )


def managed_counties(actor: Actor) -> list[Region]:
    """The counties where the actor issues notices (the superuser: every county)."""
    qs = Region.objects.filter(level="county")
    if not actor.is_superuser:
        qs = qs.filter(pk__in=notices_access.manager_counties(actor))
    return list(qs.order_by("code"))


def notices_link(membership: Membership) -> tuple[str, str, str] | None:
    """The workbench's link to the notices (label, url, extra): for the issuing side
    always; for a named organisation while some entry naming it is open (one query)."""
    from django.urls import reverse

    url = reverse("assessment:notice_list")
    if membership.role in MANAGER_ROLES:
        return (_("Notices (通报)"), url, "")
    org = membership.organisation
    if membership.role == Role.PUBLIC_USER or org.kind not in SUBJECT_KINDS:
        return None
    open_entries = (
        NoticeEntry.objects.filter(notice__status=NoticeStatus.ISSUED)
        .exclude(status=EntryStatus.CLOSED)
        .filter(
            Q(organisation=org)
            | Q(organisation__parent=org, organisation__kind=OrgKind.STATIONED_AGENCY)
        )
        .count()
    )
    if not open_entries:
        return None
    return (
        _("Notices naming us: %(n)s open") % {"n": open_entries},
        f"{url}?tab=mine",
        org.name,
    )
