"""Writes of public accounts: one-time codes, registration with consent, and the
verification of organisations by the township or county.

A code is six digits sent through the notification channels (SMS for a phone, e-mail
for an address); only its keyed hash is stored, it expires after `CODE_TTL` and allows
`CODE_ATTEMPTS` wrong tries. Accounts are made through `accounts.services.user_create`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.accounts.models import User
from xianghu.accounts.services import user_create
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.masking import mask_phone
from xianghu.core.text import clean_text
from xianghu.notify import channels
from xianghu.notify.models import Notification
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel, Role
from xianghu.regions.services import membership_create, organisation_upsert

from .models_public import (
    ORGANISATION_KINDS,
    ApplicationStatus,
    CodeChannel,
    Consent,
    OrganisationApplication,
    PublicKind,
    PublicProfile,
    VerificationCode,
)

logger = logging.getLogger(__name__)
security_log = logging.getLogger("xianghu.security")

#: The version of the privacy notice (templates/participation/public/privacy.html);
#: change it with the text, so that consents say which text was agreed to.
PRIVACY_VERSION = "2025.1"
CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5
#: Roles that verify organisations: the township's staff for their township, the
#: county platform's operators for the whole county.
VERIFIER_ROLES = (Role.TOWNSHIP_LEADER, Role.TOWNSHIP_REPORTER)

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def _invalid(message: str, *, code: str, field: str) -> InvalidInput:
    return InvalidInput(message, code=code, detail=[{"field": field, "message": message}])


def contact_parse(value: str, *, field: str = "contact") -> tuple[str, str]:
    """(channel, normalised address) of a mobile number or an e-mail address."""
    text = clean_text(value).replace(" ", "").replace("-", "")
    if text.startswith("+86"):
        text = text[3:]
    if _PHONE.match(text):
        return CodeChannel.SMS, text
    if _EMAIL.match(text) and len(text) <= 254:
        return CodeChannel.EMAIL, text.lower()
    raise _invalid(
        _("Give a mainland mobile number (11 digits) or an e-mail address."),
        code="public.bad_contact",
        field=field,
    )


def _code_hash(address: str, purpose: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}|{address}|{code}".encode(), hashlib.sha256).hexdigest()


def message_send(*, channel: str, address: str, title: str, body: str, url: str = "") -> bool:
    """Send one message to an address that need not belong to an account, through the
    notification channel for it (e-mail or SMS). Returns whether it was sent."""
    sender = channels.CHANNELS["email" if channel == CodeChannel.EMAIL else "sms"]
    recipient = SimpleNamespace(
        email=address if channel == CodeChannel.EMAIL else "",
        phone=address if channel == CodeChannel.SMS else "",
    )
    message = Notification(title=title[:200], body=body, url=url, kind="public")
    try:
        outcome = sender.send(notification=message, user=recipient)
    except Exception:  # a broken channel is a failed delivery, never a crash
        logger.exception("public: channel %s failed", sender.name)
        return False
    return outcome.ok


def code_send(*, address: str, channel: str, purpose: str) -> VerificationCode:
    """Make and send a new code (earlier unused codes for the address stop working)."""
    now = timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    VerificationCode.objects.filter(address=address, purpose=purpose, used_at__isnull=True).update(
        expires_at=now
    )
    row = VerificationCode.objects.create(
        channel=channel,
        address=address,
        purpose=purpose,
        code_hash=_code_hash(address, purpose, code),
        expires_at=now + CODE_TTL,
    )
    minutes = int(CODE_TTL.total_seconds() // 60)
    title = _("Your verification code is %(code)s (valid for %(minutes)s minutes).") % {
        "code": code,
        "minutes": minutes,
    }
    body = _("Do not give this code to anybody. If you did not ask for it, ignore this message.")
    if not message_send(channel=channel, address=address, title=title, body=body):
        if settings.DEBUG:  # development without a mail server or SMS gateway
            logger.warning("public: code for %s (not sent, DEBUG): %s", address, code)
        else:
            row.delete()
            what = _("SMS") if channel == CodeChannel.SMS else _("e-mail")
            raise _invalid(
                _(
                    "The code could not be sent by %(what)s just now. Try again later or use "
                    "another contact."
                )
                % {"what": what},
                code="public.code_not_sent",
                field="contact",
            )
    return row


def code_verify(*, address: str, purpose: str, code: str) -> None:
    """Accept the latest code for the address or raise a clear `InvalidInput`.

    Wrong tries are counted (outside any transaction of the caller, so a refusal still
    counts); after `CODE_ATTEMPTS` the code is dead."""
    now = timezone.now()
    row = (
        VerificationCode.objects.filter(address=address, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if row is None or row.expires_at <= now:
        raise _invalid(
            _("The code has expired. Ask for a new one."), code="public.code_expired", field="code"
        )
    if row.attempts >= CODE_ATTEMPTS:
        raise _invalid(
            _("Too many wrong codes. Ask for a new one."),
            code="public.code_exhausted",
            field="code",
        )
    given = re.sub(r"\s", "", code or "")
    if not hmac.compare_digest(row.code_hash, _code_hash(address, purpose, given)):
        VerificationCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        left = CODE_ATTEMPTS - row.attempts - 1
        raise _invalid(
            _("The code is wrong (%(left)s tries left).") % {"left": max(left, 0)},
            code="public.code_wrong",
            field="code",
        )
    updated = VerificationCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if not updated:  # used by a concurrent request
        raise _invalid(
            _("The code has expired. Ask for a new one."), code="public.code_expired", field="code"
        )


# ---- registration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationDraft:
    name: str
    credit_code: str
    township: Region
    address: str = ""
    description: str = ""


def organisation_draft_check(
    *,
    kind: str,
    name: str,
    credit_code: str,
    township: Region | None,
    address: str,
    description: str,
) -> OrganisationDraft:
    """The organisation part of a registration, checked (fields named for the form)."""
    name = clean_text(name)[:128]
    if not name:
        raise _invalid(
            _("Give the organisation's name."), code="public.org_name_required", field="org_name"
        )
    credit_code = clean_text(credit_code).upper().replace(" ", "")
    if kind == PublicKind.ENTERPRISE and not credit_code:
        raise _invalid(
            _("An enterprise gives its unified social credit code."),
            code="public.credit_code_required",
            field="credit_code",
        )
    if credit_code and not _CREDIT_CODE.match(credit_code):
        raise _invalid(
            _("A unified social credit code has 18 characters (digits and capital letters)."),
            code="public.bad_credit_code",
            field="credit_code",
        )
    if township is None or township.level != RegionLevel.TOWNSHIP:
        raise _invalid(
            _("Choose the township where the organisation works."),
            code="public.org_township_required",
            field="org_township",
        )
    return OrganisationDraft(
        name=name,
        credit_code=credit_code,
        township=township,
        address=clean_text(address)[:200],
        description=clean_text(description)[:2000],
    )


def _county_of(region: Region) -> Region | None:
    codes = region.ancestor_codes()
    return Region.objects.filter(code__in=codes, level=RegionLevel.COUNTY).first()


@transaction.atomic
def public_account_create(
    *,
    kind: str,
    channel: str,
    address: str,
    name: str,
    password_hash: str,
    consent_version: str,
    organisation: OrganisationDraft | None = None,
) -> User:
    """The account of a verified contact (the code was checked by the caller), with its
    profile and consent; an organisation kind also files its application."""
    if kind not in PublicKind.values:
        raise InvalidInput(_("Choose who you are registering as."), code="public.bad_kind")
    if consent_version != PRIVACY_VERSION:
        raise _invalid(
            _("Please read and accept the privacy notice."),
            code="public.consent_required",
            field="consent",
        )
    if User.objects.filter(username__iexact=address).exists():
        raise Conflict(
            _("This contact is already registered. Log in instead."), code="public.registered"
        )
    user = user_create(
        username=address,
        password=None,
        name=clean_text(name)[:64],
        phone=address if channel == CodeChannel.SMS else "",
        email=address if channel == CodeChannel.EMAIL else "",
        is_public=True,
        validate_password=False,
    )
    user.password = password_hash
    user.save(update_fields=["password"])
    now = timezone.now()
    county = _county_of(organisation.township) if organisation else None
    PublicProfile.objects.create(
        user=user,
        kind=kind,
        county=county,
        phone_verified_at=now if channel == CodeChannel.SMS else None,
        email_verified_at=now if channel == CodeChannel.EMAIL else None,
    )
    Consent.objects.create(
        user=user, purpose=Consent.Purpose.REGISTRATION, version=consent_version, given_at=now
    )
    if kind in ORGANISATION_KINDS:
        if organisation is None or county is None:
            raise _invalid(
                _("Choose the township where the organisation works."),
                code="public.org_township_required",
                field="org_township",
            )
        OrganisationApplication.objects.create(
            applicant=user,
            kind=kind,
            name=organisation.name,
            credit_code=organisation.credit_code,
            county=county,
            township=organisation.township,
            address=organisation.address,
            contact_phone=user.phone,
            description=organisation.description,
        )
    security_log.info("public account created", extra={"user_id": user.pk, "kind": kind})
    return user


# ---- verification of organisations ----------------------------------------------------------


def application_rule(actor: Actor) -> Any:
    """The applications `actor` verifies, as a Q: its township's; the county's for the
    platform operators."""
    from django.db.models import Q

    rule = Q(pk__in=[])
    for grant in actor.grants_for(*VERIFIER_ROLES):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id is not None:
            rule |= Q(township_id=grant.township_id)
    for grant in actor.grants_for(Role.PLATFORM_OPERATOR):
        if grant.county_id is not None:
            rule |= Q(county_id=grant.county_id)
    return rule


def _application_for(actor: Actor, application: OrganisationApplication) -> OrganisationApplication:
    locked = (
        OrganisationApplication.objects.select_for_update(of=("self",))
        .filter(application_rule(actor), pk=application.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied(
            _("Only the township or the county platform verifies this organisation."),
            code="public.not_your_application",
        )
    if locked.status != ApplicationStatus.PENDING:
        raise Conflict(_("This application has already been decided."), code="public.decided")
    return locked


@transaction.atomic
def application_approve(*, actor: Actor, application: OrganisationApplication) -> Organisation:
    """Verify the organisation: it becomes an active organisation of the township's
    county with the applicant as its public user."""
    app = _application_for(actor, application)
    region = app.township or app.county
    org = organisation_upsert(
        name=app.name,
        kind=app.kind,
        region=region,
        credit_code=app.credit_code,
        address=app.address,
        contact_phone=app.contact_phone,
    )
    applicant = User.objects.get(pk=app.applicant_id)
    if not applicant.memberships.filter(organisation=org, role=Role.PUBLIC_USER).exists():
        membership_create(actor=None, user=applicant, organisation=org, role=Role.PUBLIC_USER)
    app.status = ApplicationStatus.APPROVED
    app.organisation = org
    app.decided_by_id = actor.user_id
    app.decided_at = timezone.now()
    app.save(update_fields=["status", "organisation", "decided_by", "decided_at"])
    from .public_reports import account_notify

    account_notify(
        user_id=app.applicant_id,
        title=_("%(name)s has been verified.") % {"name": app.name},
        body=_("Your organisation can now take part in co-governance on the platform."),
        url="/",
        key=f"org-application:{app.pk}:approved",
    )
    return org


@transaction.atomic
def application_reject(
    *, actor: Actor, application: OrganisationApplication, reason: str
) -> OrganisationApplication:
    app = _application_for(actor, application)
    reason = clean_text(reason)
    if not reason:
        raise _invalid(
            _("Give a reason for the refusal."), code="public.reason_required", field="reason"
        )
    app.status = ApplicationStatus.REJECTED
    app.reason = reason[:2000]
    app.decided_by_id = actor.user_id
    app.decided_at = timezone.now()
    app.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    from .public_reports import account_notify

    account_notify(
        user_id=app.applicant_id,
        title=_("%(name)s was not verified.") % {"name": app.name},
        body=reason,
        url="/",
        key=f"org-application:{app.pk}:rejected",
    )
    return app


def applicant_contact(application: OrganisationApplication) -> str:
    return mask_phone(application.contact_phone)
