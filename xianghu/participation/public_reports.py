"""Writes of public reporting on the website: a report with photos, "me too", the
reporter's rating, the public timeline and the reporter's updates, moderation of public
text and photos, and unmasking a reporter's contact (with an audit row).

What the public sees of a call is its phase (`public_phase`), never its internal
details; every text shown publicly passes `mask_personal_text`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xianghu.accounts.models import User
from xianghu.calls import attachments
from xianghu.calls.models import Call, CallEvent, Urgency
from xianghu.calls.workflow import State
from xianghu.catalog.models import Catalogue, Item, ScopeLevel
from xianghu.core.actor import Actor
from xianghu.core.audit import audit_record
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.core.masking import mask_personal_text
from xianghu.core.models import AuditKind
from xianghu.core.sandbox import outside_sandbox
from xianghu.core.text import clean_text
from xianghu.notify.services import notify, notify_with_change
from xianghu.regions.models import Region
from xianghu.regions.roles import OrgKind, RegionLevel, Role

from .models import Moderation, PublicReport, ReportStatus
from .models_public import (
    CodeChannel,
    Consent,
    ReportPhoto,
    ReportSupport,
    ReportUpdate,
    UnmaskAudit,
)
from .public_accounts import PRIVACY_VERSION, contact_parse, message_send
from .tasks import reporter_message

logger = logging.getLogger(__name__)

MAX_PHOTOS = 6
PUBLIC_MODERATION = (Moderation.APPROVED, Moderation.REDACTED)
#: What replaces a span a moderator redacts.
REDACTED = "■■■"
WEB_SOURCE = "web"

_DIGIT_RUN = re.compile(r"\d{8}")


def new_token() -> str:
    """A tracking token (128 random bits, hex) without a run of eight digits, so that no
    masking pattern (phone, ID, landline) can ever match inside a tracking link."""
    while True:
        token = secrets.token_hex(16)
        if not _DIGIT_RUN.search(token):
            return token


# ---- what the public sees of a call --------------------------------------------------------

PHASES: dict[str, Any] = {
    "preparing": gettext_lazy("The township is preparing the case"),
    "assigning": gettext_lazy("Passed to the county; a department is being assigned"),
    "handling": gettext_lazy("Being handled by the responsible department"),
    "checking": gettext_lazy("Handled; the township is checking the result"),
    "closed": gettext_lazy("Closed"),
    "merged": gettext_lazy("Handled together with another case"),
    "withdrawn": gettext_lazy("Withdrawn by the township"),
}
_STATE_PHASE = {
    State.DRAFT: "preparing",
    State.SUBMITTED: "preparing",
    State.APPROVED: "preparing",
    State.RETURNED: "preparing",
    State.ACCEPTED: "assigning",
    State.DISPATCHED: "assigning",
    State.SIGNED: "handling",
    State.RETURN_REQUESTED: "assigning",
    State.DISPUTED: "assigning",
    State.IN_PROGRESS: "handling",
    State.REOPENED: "handling",
    State.AWAITING_EVALUATION: "checking",
    State.CLOSED: "closed",
    State.MERGED: "merged",
    State.CANCELLED: "withdrawn",
}


def public_phase(state: str) -> str:
    return _STATE_PHASE.get(State(state) if state in State.values else State.DRAFT, "preparing")


def call_outcome(call: Call) -> str:
    """The result the department reported when it completed the call, masked."""
    event = call.events.filter(action="complete").order_by("-seq").first()
    result = str((event.data or {}).get("result", "")) if event else ""
    return mask_personal_text(clean_text(result))


def effective_report(report: PublicReport) -> PublicReport:
    """The report that carries the case: a merged report follows the one it was merged
    into (a short chain at most)."""
    seen = {report.pk}
    current = report
    while current.merged_into_id is not None and current.merged_into_id not in seen:
        nxt = PublicReport.objects.select_related("call").filter(pk=current.merged_into_id).first()
        if nxt is None:
            break
        seen.add(nxt.pk)
        current = nxt
    return current


# ---- where reports can be made ---------------------------------------------------------------


def served_counties() -> QuerySet[Region]:
    """Counties with a county list (not the training sandbox's): the public reports to them."""
    ids = Catalogue.objects.filter(level=ScopeLevel.COUNTY).values("region_id")
    return Region.objects.filter(outside_sandbox(), pk__in=ids, level=RegionLevel.COUNTY).order_by(
        "code"
    )


def report_places(*, counties: Sequence[Region]) -> list[Region]:
    """Townships and villages of the counties, in code order (the form's place list)."""
    rule = Q(pk__in=[])
    for county in counties:
        rule |= Q(path__startswith=county.path)
    return list(
        Region.objects.filter(rule, level__in=(RegionLevel.TOWNSHIP, RegionLevel.VILLAGE))
        .select_related("parent")
        .order_by("code")
    )


def report_items(*, county: Region) -> QuerySet[Item]:
    from xianghu.catalog import selectors as catalog_selectors

    version = catalog_selectors.county_version_in_force(county=county)
    if version is None:
        return Item.objects.none()
    return (
        catalog_selectors.version_items(version=version)
        .filter(callable=True)
        .select_related("domain")
    )


# ---- a report from the website -------------------------------------------------------------


def _invalid(message: str, *, code: str, field: str) -> InvalidInput:
    return InvalidInput(message, code=code, detail=[{"field": field, "message": message}])


@dataclass(frozen=True)
class ReportInput:
    county: Region
    description: str
    location: Region | None = None
    item: Item | None = None
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    urgency: str = Urgency.NORMAL
    contact: str = ""
    consent: bool = False
    idempotency_key: str = ""


def _place(data: ReportInput) -> tuple[Region, Region]:
    """(township, location) of a report, or a clear refusal."""
    from .services import place_resolve

    county = data.county
    if data.location is not None:
        region = data.location
        if not region.path.startswith(county.path) or region.level not in (
            RegionLevel.TOWNSHIP,
            RegionLevel.VILLAGE,
        ):
            raise _invalid(
                _("Choose a township or village of %(county)s.") % {"county": county.name},
                code="report.place_outside",
                field="location",
            )
        township = region if region.level == RegionLevel.TOWNSHIP else region.parent
        assert township is not None
        return township, region
    place = place_resolve(
        county=county, address=data.address, latitude=data.latitude, longitude=data.longitude
    )
    if place.township is None:
        raise _invalid(
            _(
                "This place is not in any township of %(county)s. Choose the township or "
                "village from the list, or name it in the address."
            )
            % {"county": county.name},
            code="report.place_outside",
            field="location",
        )
    return place.township, place.location or place.township


def _photo_check(photos: Sequence[UploadedFile]) -> None:
    if len(photos) > MAX_PHOTOS:
        raise _invalid(
            _("At most %(n)s photos.") % {"n": MAX_PHOTOS},
            code="report.too_many_photos",
            field="photos",
        )
    for photo in photos:
        try:
            attachments.attachment_check(photo)
        except InvalidInput as error:
            name = attachments.clean_name(photo.name)
            message = f"{name}: {error.message}" if name else str(error.message)
            raise _invalid(message, code=error.code, field="photos") from error


def _photo_save(report: PublicReport, upload: UploadedFile) -> ReportPhoto:
    sniffed = attachments.attachment_check(upload)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    photo = ReportPhoto(
        report=report,
        original_name=attachments.clean_name(upload.name),
        content_type=sniffed,
        size=upload.size or 0,
        sha256=digest.hexdigest(),
    )
    photo.file.save("photo", upload, save=False)
    photo.save()
    return photo


def report_submit(
    *, reporter: User | None, data: ReportInput, photos: Sequence[UploadedFile] = ()
) -> tuple[PublicReport, bool]:
    """File a public report from the website; returns (report, created).

    Everything is checked before anything is written; a retry with the same idempotency
    key (the phone's outbox) returns the first report."""
    key = clean_text(data.idempotency_key)[:64] or None
    if key is not None:
        existing = PublicReport.objects.filter(
            api_key__isnull=True, source=WEB_SOURCE, idempotency_key=key
        ).first()
        if existing is not None and (existing.reporter_id == (reporter.pk if reporter else None)):
            return existing, False
    description = clean_text(data.description)
    if len(description) < 5:
        raise _invalid(
            _("Describe the problem in a few words (at least 5 characters)."),
            code="report.description_required",
            field="description",
        )
    if len(description) > 4000:
        raise _invalid(
            _("The description has at most 4000 characters."),
            code="report.description_too_long",
            field="description",
        )
    if data.urgency not in Urgency.values:
        raise _invalid(_("Choose the urgency."), code="report.bad_urgency", field="urgency")
    if (data.latitude is None) != (data.longitude is None):
        raise _invalid(
            _("Give both coordinates or neither."), code="report.bad_position", field="latitude"
        )
    township, location = _place(data)
    phone = email = ""
    if reporter is None and clean_text(data.contact):
        channel, address = contact_parse(data.contact)
        phone, email = (address, "") if channel == CodeChannel.SMS else ("", address)
        if not data.consent:
            raise _invalid(
                _("To leave a contact, accept the privacy notice."),
                code="public.consent_required",
                field="consent",
            )
    if reporter is not None and not data.consent:
        pass  # the account's registration consent covers its reports
    _photo_check(photos)
    with transaction.atomic():
        report = PublicReport.objects.create(
            county=data.county,
            township=township,
            location=location,
            item=data.item,
            description=description,
            address=clean_text(data.address)[:200],
            latitude=data.latitude,
            longitude=data.longitude,
            urgency=data.urgency,
            email=email,
            phone=phone,
            source=WEB_SOURCE,
            token=new_token(),
            idempotency_key=key,
            reporter=reporter,
            public_text=mask_personal_text(description),
        )
        for upload in photos:
            _photo_save(report, upload)
        if phone or email:
            Consent.objects.create(
                report=report, purpose=Consent.Purpose.REPORT, version=PRIVACY_VERSION
            )
        update_add(report=report, kind=ReportUpdate.Kind.RECEIVED, key="received", notify=False)
    return report, True


# ---- the public timeline and the reporter's updates ---------------------------------------

_TITLES: dict[str, Any] = {
    ReportUpdate.Kind.ACCEPTED: gettext_lazy("Your report has been accepted as a case"),
    ReportUpdate.Kind.DECLINED: gettext_lazy("Your report was declined"),
    ReportUpdate.Kind.MERGED: gettext_lazy("Your report is handled together with another"),
    ReportUpdate.Kind.CLOSED: gettext_lazy("The case of your report is closed: please rate it"),
}


def update_add(
    *, report: PublicReport, kind: str, key: str, text: str = "", notify: bool = True
) -> ReportUpdate | None:
    """Add one entry to the report's public timeline (once per key); tell the reporter
    when `notify` and the kind is one people are told about: in the inbox, in this
    transaction, for account holders; by SMS or e-mail, which cannot be taken back, from
    a task that commits with the entry and runs after the commit."""
    update, created = ReportUpdate.objects.get_or_create(
        report=report, key=key[:64], defaults={"kind": kind, "text": mask_personal_text(text)}
    )
    if not created:
        return None
    if notify and kind in _TITLES:
        update_id = update.pk
        what = f"telling the reporter of public report update {update_id}"
        if report.reporter_id is not None:
            notify_with_change(lambda: reporter_notify(update_id=update_id), what=what)
        elif report.phone or report.email:
            notify_with_change(lambda: reporter_message.enqueue(update_id), what=what)
    return update


def account_notify(*, user_id: int, title: str, body: str, url: str, key: str) -> None:
    """An in-app notification for a public account (and its e-mail/SMS copies)."""
    user_ids = [user_id]
    notify_with_change(
        lambda: notify(
            users=user_ids, title=title, body=body, url=url, kind="public", source_key=key
        ),
        what=f"notification {key}",
    )


def reporter_notify(*, update_id: int) -> None:
    """Tell the reporter about one timeline entry: in the inbox for account holders
    (with the channels' copies), else by e-mail or SMS to the contact they left.
    Never raises: a failed message never affects the report."""
    try:
        update = ReportUpdate.objects.select_related("report").get(pk=update_id)
        report = update.report
        title = str(_TITLES[update.kind])
        url = reverse("participation:track", kwargs={"token": report.token})
        body = update.text or title
        if report.reporter_id is not None:
            notify(
                users=[report.reporter_id],
                title=title,
                body=body,
                url=url,
                kind=f"public_report.{update.kind}",
                source_key=f"public-report-update:{update.pk}",
            )
            return
        for channel, address in (
            (CodeChannel.SMS, report.phone),
            (CodeChannel.EMAIL, report.email),
        ):
            if address:
                message_send(channel=channel, address=address, title=title, body=body, url=url)
    except Exception:
        logger.exception("public: could not tell the reporter (update %s)", update_id)


def on_event_appended(sender: Any, *, event: CallEvent, call: Call, **kwargs: Any) -> None:
    """Receiver of `calls.signals.event_appended`: a change of the public phase of a
    report's call goes on its timeline (and on the timelines of the reports merged into
    it); the closing is told to the reporters."""
    if not event.from_state or public_phase(event.from_state) == public_phase(event.to_state):
        return
    report = PublicReport.objects.filter(call_id=call.pk).first()
    if report is None:
        return
    phase = public_phase(event.to_state)
    kind = ReportUpdate.Kind.CLOSED if phase == "closed" else ReportUpdate.Kind.PROGRESS
    text = str(PHASES[phase])
    if phase == "closed":
        outcome = call_outcome(call)
        if outcome:
            text = f"{text}：{outcome}"
    targets = [report, *PublicReport.objects.filter(merged_into=report)]
    for target in targets:
        update_add(report=target, kind=kind, key=f"call:{event.seq}", text=text)


# ---- me too ---------------------------------------------------------------------------------


def publicly_visible() -> Q:
    """Reports whose text may appear on public pages."""
    return Q(moderation__in=PUBLIC_MODERATION) & ~Q(
        status__in=(ReportStatus.REJECTED, ReportStatus.MERGED)
    )


def report_support(*, report: PublicReport, user: User | None, device: str) -> bool:
    """One "me too" per account (or per device for visitors); returns whether it counted."""
    if not PublicReport.objects.filter(publicly_visible(), pk=report.pk).exists():
        raise NotFound()
    if user is not None and report.reporter_id == user.pk:
        return False
    if user is None and not device:
        raise InvalidInput(_("Enable cookies to say “me too”."), code="report.no_device")
    try:
        with transaction.atomic():
            ReportSupport.objects.create(
                report=report, user=user, device="" if user is not None else device[:64]
            )
            PublicReport.objects.filter(pk=report.pk).update(support_count=F("support_count") + 1)
    except IntegrityError:
        return False
    return True


# ---- the reporter's rating ------------------------------------------------------------------


def may_rate(report: PublicReport, user: User | None) -> bool:
    """Whether whoever holds the tracking link (and, for an account's report, is that
    account) may rate now."""
    if report.rated_at is not None:
        return False
    if report.reporter_id is not None and (user is None or user.pk != report.reporter_id):
        return False
    carrier = effective_report(report)
    return carrier.call is not None and carrier.call.state == State.CLOSED


@transaction.atomic
def report_rate(
    *, report: PublicReport, user: User | None, rating: Any, comment: str = ""
) -> PublicReport:
    locked = PublicReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
    if locked.reporter_id is not None and (user is None or user.pk != locked.reporter_id):
        raise PermissionDenied(
            _("Only the account that reported this can rate it."), code="report.not_yours"
        )
    if locked.rated_at is not None:
        raise Conflict(_("This report has already been rated."), code="report.already_rated")
    carrier = effective_report(locked)
    if carrier.call is None or carrier.call.state != State.CLOSED:
        raise Conflict(
            _("You can rate the outcome once the case is closed."), code="report.not_closed"
        )
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise _invalid(_("Choose from 1 to 5 stars."), code="report.bad_rating", field="rating")
    comment = clean_text(comment)
    if len(comment) > 1000:
        raise _invalid(
            _("The comment has at most 1000 characters."),
            code="report.comment_too_long",
            field="comment",
        )
    locked.rating = value
    locked.rating_comment = comment
    locked.rated_at = timezone.now()
    locked.save(update_fields=["rating", "rating_comment", "rated_at"])
    update_add(
        report=locked,
        kind=ReportUpdate.Kind.RATED,
        key="rated",
        text=_("Rated %(n)s of 5.") % {"n": value},
        notify=False,
    )
    return locked


# ---- moderation -----------------------------------------------------------------------------

MODERATOR_ROLES = (Role.TOWNSHIP_LEADER, Role.TOWNSHIP_REPORTER)


def moderation_rule(actor: Actor, prefix: str = "") -> Q:
    """The reports `actor` moderates: its township's; the whole county's for platform
    operators. `prefix` ("report__") applies the rule to photos."""
    rule = Q(pk__in=[])
    for grant in actor.grants_for(*MODERATOR_ROLES):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id is not None:
            rule |= Q(**{f"{prefix}township_id": grant.township_id})
    for grant in actor.grants_for(Role.PLATFORM_OPERATOR):
        if grant.county_id is not None:
            rule |= Q(**{f"{prefix}county_id": grant.county_id})
    return rule


def may_moderate(actor: Actor) -> bool:
    return bool(
        any(g.organisation_kind == OrgKind.TOWNSHIP for g in actor.grants_for(*MODERATOR_ROLES))
        or actor.grants_for(Role.PLATFORM_OPERATOR)
    )


def redact(text: str, spans: Sequence[str]) -> str:
    """`text` masked, with each of the moderator's spans replaced."""
    masked = mask_personal_text(text)
    for span in sorted({s for s in spans if s}, key=len, reverse=True):
        masked = masked.replace(span, REDACTED)
    return masked


def spans_parse(value: str) -> list[str]:
    """One span a line (or separated by ｜/|)."""
    return [s.strip() for s in re.split(r"[\n|｜]", value or "") if s.strip()]


@transaction.atomic
def report_moderate(
    *, actor: Actor, report: PublicReport, decision: str, spans: Sequence[str] = ()
) -> PublicReport:
    """approve (masked automatically), redact (and hide the moderator's spans too) or hide
    the report's text on public pages. A decision can be changed later."""
    locked = (
        PublicReport.objects.select_for_update(of=("self",))
        .filter(moderation_rule(actor), pk=report.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    if decision == "approve":
        locked.moderation = Moderation.APPROVED
        locked.public_text = mask_personal_text(locked.description)
    elif decision == "redact":
        wanted = [s for s in spans if s]
        if not wanted:
            raise _invalid(
                _("Give the words to hide, one per line."),
                code="moderation.spans_required",
                field="spans",
            )
        masked = mask_personal_text(locked.description)
        missing = [s for s in wanted if s not in masked and s not in locked.description]
        if missing:
            raise _invalid(
                _("Not found in the text: %(spans)s") % {"spans": "、".join(missing)},
                code="moderation.span_not_found",
                field="spans",
            )
        text = locked.description
        for span in sorted(set(wanted), key=len, reverse=True):
            text = text.replace(span, REDACTED)
        locked.moderation = Moderation.REDACTED
        locked.public_text = redact(text, wanted)
    elif decision == "hide":
        locked.moderation = Moderation.HIDDEN
        locked.public_text = ""
    else:
        raise InvalidInput(_("Unknown decision."), code="moderation.bad_decision")
    locked.moderated_by_id = actor.user_id
    locked.moderated_at = timezone.now()
    locked.save(update_fields=["moderation", "public_text", "moderated_by", "moderated_at"])
    return locked


@transaction.atomic
def photo_moderate(*, actor: Actor, photo: ReportPhoto, decision: str) -> ReportPhoto:
    locked = (
        ReportPhoto.objects.select_for_update(of=("self",))
        .filter(moderation_rule(actor, "report__"), pk=photo.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    states = {"approve": Moderation.APPROVED, "hide": Moderation.HIDDEN}
    if decision not in states:
        raise InvalidInput(_("Unknown decision."), code="moderation.bad_decision")
    locked.moderation = states[decision]
    locked.moderated_by_id = actor.user_id
    locked.moderated_at = timezone.now()
    locked.save(update_fields=["moderation", "moderated_by", "moderated_at"])
    return locked


# ---- unmasking a reporter's contact ------------------------------------------------------------

UNMASK_FIELDS = ("phone", "email")


def report_contact(report: PublicReport) -> dict[str, str]:
    """The reporter's contact: what they left, or their account's."""
    phone, email = report.phone, report.email
    if report.reporter_id is not None and report.reporter is not None:
        phone = phone or report.reporter.phone
        email = email or report.reporter.email
    return {"phone": phone, "email": email}


@transaction.atomic
def contact_unmask(*, actor: Actor, report: PublicReport, field: str, reason: str) -> str:
    """The full phone or e-mail of the reporter, for the triaging township to call back;
    every unmasking is recorded (who, which report, what, why, when)."""
    from .selectors import triage_queue

    if not triage_queue(actor=actor).filter(pk=report.pk).exists():
        raise NotFound()
    if field not in UNMASK_FIELDS:
        raise InvalidInput(_("Unknown field."), code="unmask.bad_field")
    reason = clean_text(reason)
    if len(reason) < 2:
        raise _invalid(
            _("Say why you need the full contact (e.g. to call back)."),
            code="unmask.reason_required",
            field="reason",
        )
    value = report_contact(report)[field]
    if not value:
        raise NotFound()
    assert actor.user_id is not None
    organisation_id = next(
        (g.organisation_id for g in actor.grants if g.township_id == report.township_id), None
    ) or (actor.grants[0].organisation_id if actor.grants else None)
    UnmaskAudit.objects.create(
        user_id=actor.user_id,
        organisation_id=organisation_id,
        county_id=report.county_id,
        report=report,
        field=field,
        reason=reason[:200],
    )
    logging.getLogger("xianghu.security").info(
        "contact unmasked", extra={"user_id": actor.user_id, "report": report.pk, "field": field}
    )
    # The platform-wide security audit log too (core.audit), for the county's auditors.
    audit_record(
        kind=AuditKind.UNMASK,
        actor=actor,
        user=User.objects.filter(pk=actor.user_id).first(),
        obj=report,
        object_repr=f"{report.token[:8]} {field}",
        county_id=report.county_id,
        message=field,
        detail={"field": field, "reason": reason[:200]},
        survive_rollback=False,
    )
    return value
