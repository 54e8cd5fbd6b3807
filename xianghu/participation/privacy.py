"""Personal data held by participation (docs/privacy.md): reporters' contact, the
addresses one-time codes were sent to, stakeholders' and applicants' contact, residents
named in consultations, consents. Registered with `core.privacy` (discovered by name)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from xianghu.calls.workflow import TERMINAL
from xianghu.core.privacy.registry import PersonalDataKind, register

from .models import PublicReport, ReportStatus
from .models_coord import Stakeholder
from .models_open import ConsultationComment, ConsultationParticipant
from .models_public import ApplicationStatus, Consent, OrganisationApplication, VerificationCode


def _report_closed(cutoff: datetime, prefix: str = "") -> Q:
    """A report is closed when it was declined, or its call ended (closed, merged,
    withdrawn), before `cutoff`."""
    return Q(**{f"{prefix}status": ReportStatus.REJECTED, f"{prefix}decided_at__lt": cutoff}) | Q(
        **{
            f"{prefix}status": ReportStatus.ACCEPTED,
            f"{prefix}call__state__in": TERMINAL,
            f"{prefix}call__state_changed_at__lt": cutoff,
        }
    )


def _report_expired(cutoff: datetime) -> Q:
    # A merged report is followed through the report it was merged into: its reporter is
    # told when that one closes, so the contact is kept until then.
    merged = Q(status=ReportStatus.MERGED, decided_at__lt=cutoff) & (
        _report_closed(cutoff, "merged_into__") | Q(merged_into__isnull=True)
    )
    return _report_closed(cutoff) | merged


register(
    PersonalDataKind(
        key="participation.report_contact",
        model=PublicReport,
        fields=("phone", "email"),
        purpose="Calling the reporter back and telling them how their report goes.",
        retention_setting="XH_RETENTION_REPORT_CONTACT_DAYS",
        default_days=365,
        expired=_report_expired,
        owner=lambda s: Q(phone__in=s.phones) | s.email_q("email") | Q(reporter_id__in=s.user_ids),
        export_fields=(
            "created_at",
            "status",
            "description",
            "address",
            "phone",
            "email",
            "reporter",
            "call",
            "rating",
            "rating_comment",
        ),
    )
)

register(
    PersonalDataKind(
        key="participation.verification_address",
        model=VerificationCode,
        fields=("address",),
        purpose="Sending a one-time code and limiting how often one is sent.",
        retention_setting="XH_RETENTION_VERIFICATION_ADDRESS_DAYS",
        default_days=30,
        expired=lambda cutoff: Q(created_at__lt=cutoff),
        owner=lambda s: Q(address__in=s.phones) | s.email_q("address"),
        export_fields=("channel", "address", "purpose", "created_at", "used_at"),
    )
)

register(
    PersonalDataKind(
        key="participation.stakeholder_contact",
        model=Stakeholder,
        fields=("contact_name", "contact_phone"),
        purpose="Reaching a partner or grid worker of the stakeholder registry.",
        retention_setting="XH_RETENTION_STAKEHOLDER_CONTACT_DAYS",
        default_days=365,
        # Only profiles switched off: an active profile's contact is in use.
        expired=lambda cutoff: Q(is_active=False, updated_at__lt=cutoff),
        owner=lambda s: Q(contact_phone__in=s.phones) | Q(user_id__in=s.user_ids),
        export_fields=("kind", "name", "contact_name", "contact_phone", "is_active", "updated_at"),
    )
)

register(
    PersonalDataKind(
        key="participation.application_contact",
        model=OrganisationApplication,
        fields=("contact_phone",),
        purpose="Verifying an organisation registered by a public account.",
        retention_setting="XH_RETENTION_APPLICATION_CONTACT_DAYS",
        default_days=365,
        # A verified application's contact became the organisation's; a refused one's
        # is no longer needed once the refusal can no longer be disputed.
        expired=lambda cutoff: Q(status=ApplicationStatus.REJECTED, decided_at__lt=cutoff),
        owner=lambda s: Q(contact_phone__in=s.phones) | Q(applicant_id__in=s.user_ids),
        export_fields=("kind", "name", "address", "contact_phone", "status", "created_at"),
    )
)

# Kept with the record they belong to (no retention): exported on request.
register(
    PersonalDataKind(
        key="participation.consultation_participant",
        model=ConsultationParticipant,
        fields=("name",),
        purpose="The participants of a consultation (part of its record).",
        owner=lambda s: Q(user_id__in=s.user_ids),
        export_fields=("consultation", "kind", "name", "added_at"),
    )
)

register(
    PersonalDataKind(
        key="participation.consultation_comment",
        model=ConsultationComment,
        fields=(),
        purpose="What a participant said in a consultation (part of its record).",
        owner=lambda s: Q(author_id__in=s.user_ids),
        export_fields=("consultation", "text", "created_at"),
    )
)

register(
    PersonalDataKind(
        key="participation.consent",
        model=Consent,
        fields=(),
        purpose="Proof of the consent to the privacy notice.",
        owner=lambda s: (
            Q(user_id__in=s.user_ids) | Q(report__phone__in=s.phones) | s.email_q("report__email")
        ),
        export_fields=("purpose", "version", "report", "given_at"),
    )
)
