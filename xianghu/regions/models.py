from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .roles import OrgKind, RegionKind, RegionLevel, Role

region_code_validator = RegexValidator(
    r"^\d{6}(\d{3}(\d{3})?)?$",
    _("A region code has 6 (province to county), 9 (township) or 12 (village) digits."),
)


class Region(models.Model):
    """An administrative region (行政区划) identified by its GB/T 2260 code.

    Province, city and county codes have 6 digits; townships and villages use the
    statistical division codes (9 and 12 digits) that extend the county code.
    `path` lists the codes from the province down, so a subtree is one prefix query.
    """

    code = models.CharField(
        _("code"), max_length=12, unique=True, validators=[region_code_validator]
    )
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=128, db_index=True, editable=False)
    # An optional bounding box (WGS-84 degrees): where set on a county, the coordinates
    # of its calls must lie inside it (`calls.services`). All four or none.
    min_latitude = models.DecimalField(
        _("southernmost latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    max_latitude = models.DecimalField(
        _("northernmost latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    min_longitude = models.DecimalField(
        _("westernmost longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    max_longitude = models.DecimalField(
        _("easternmost longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "code"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    min_latitude__isnull=True,
                    max_latitude__isnull=True,
                    min_longitude__isnull=True,
                    max_longitude__isnull=True,
                )
                | Q(
                    # Spelt out: a comparison with NULL would let the check pass.
                    min_latitude__isnull=False,
                    max_latitude__isnull=False,
                    min_longitude__isnull=False,
                    max_longitude__isnull=False,
                    min_latitude__gte=-90,
                    max_latitude__lte=90,
                    min_latitude__lte=F("max_latitude"),
                    min_longitude__gte=-180,
                    max_longitude__lte=180,
                    min_longitude__lte=F("max_longitude"),
                ),
                name="region_bounds_all_or_none_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.path = f"{self.parent.path if self.parent else ''}{self.code}/"
        super().save(*args, **kwargs)

    def clean(self) -> None:
        bounds = self.bounds
        given = [
            b is not None
            for b in (self.min_latitude, self.max_latitude, self.min_longitude, self.max_longitude)
        ]
        if any(given) and bounds is None:
            raise ValidationError(_("Give all four limits of the bounding box, or none."))
        if bounds is not None:
            south, north, west, east = bounds
            if not (-90 <= south <= north <= 90 and -180 <= west <= east <= 180):
                raise ValidationError(
                    _("The bounding box must run from south to north and from west to east.")
                )

    @property
    def bounds(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        """(south, north, west, east), or None without a (complete) bounding box."""
        south, north = self.min_latitude, self.max_latitude
        west, east = self.min_longitude, self.max_longitude
        if south is None or north is None or west is None or east is None:
            return None
        return Decimal(south), Decimal(north), Decimal(west), Decimal(east)

    def contains_point(self, latitude: Decimal, longitude: Decimal) -> bool:
        """Whether the point lies in the bounding box (True when there is none)."""
        bounds = self.bounds
        if bounds is None:
            return True
        south, north, west, east = bounds
        return south <= latitude <= north and west <= longitude <= east

    def ancestor_codes(self) -> list[str]:
        return [c for c in self.path.split("/") if c]


class Organisation(models.Model):
    """A government body or a co-governance partner.

    `county` is the county whose platform the organisation belongs to (null for bodies
    above county level and for partners with no home county); `township` is set for
    township governments, villages and stationed agencies (their host township).
    """

    name = models.CharField(_("name"), max_length=128)
    short_name = models.CharField(_("short name"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=OrgKind.choices, db_index=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="organisations",
        help_text=_("The territory the organisation serves."),
    )
    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stationed_agencies",
        help_text=_("For a stationed agency: the county department it belongs to."),
    )
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind", "name"], name="organisation_unique_name_in_region"
            ),
            models.CheckConstraint(
                condition=~Q(kind=OrgKind.STATIONED_AGENCY)
                | (Q(parent__isnull=False) & Q(township__isnull=False)),
                name="stationed_agency_has_department_and_host",
            ),
        ]
        indexes = [models.Index(fields=["county", "kind"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_government(self) -> bool:
        from .roles import GOVERNMENT_KINDS

        return self.kind in GOVERNMENT_KINDS


class Membership(models.Model):
    """A user holds a role in an organisation (user × organisation × role)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    title = models.CharField(_("job title"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"


# ---- stationed agencies (派驻机构): head consultations and the funds arrangement
# (docs/agencies.md)


class ConsultationKind(models.TextChoices):
    APPOINTMENT = "appointment", _("Appointment of the head")
    REMOVAL = "removal", _("Removal of the head")


class TownshipOpinion(models.TextChoices):
    AGREE = "agree", _("Agree")
    RESERVATIONS = "reservations", _("Agree with reservations")
    DISAGREE = "disagree", _("Disagree")


class ConsultationDecision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class HeadConsultation(models.Model):
    """The host township's consultation on appointing or removing a stationed agency's
    head: the parent department proposes, the host township's leader gives the
    township's opinion (once), the parent department's leader decides (once, never
    before the opinion). Written only by `regions.agencies`."""

    agency = models.ForeignKey(
        Organisation,
        verbose_name=_("stationed agency"),
        on_delete=models.PROTECT,
        related_name="head_consultations",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ConsultationKind.choices)
    person_name = models.CharField(_("person"), max_length=64)
    position = models.CharField(_("position"), max_length=64, blank=True)
    proposal = models.TextField(_("proposal"))
    proposed_by_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("proposed by (organisation)"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"))
    opinion = models.CharField(
        _("township's opinion"), max_length=16, choices=TownshipOpinion.choices, blank=True
    )
    opinion_text = models.TextField(_("township's remarks"), blank=True)
    opinion_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("opinion given by (organisation)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opinion_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opinion given by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opinion_at = models.DateTimeField(_("opinion given at"), null=True, blank=True)
    decision = models.CharField(
        _("decision"), max_length=16, choices=ConsultationDecision.choices, blank=True
    )
    decision_text = models.TextField(_("reasons for the decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("head consultation")
        verbose_name_plural = _("head consultations")
        ordering = ["-proposed_at", "-pk"]
        indexes = [models.Index(fields=["agency", "-proposed_at"])]
        constraints = [
            # The opinion and the decision are each given whole (value and moment).
            models.CheckConstraint(
                condition=Q(opinion="", opinion_at__isnull=True)
                | (~Q(opinion="") & Q(opinion_at__isnull=False)),
                name="consultation_opinion_whole",
            ),
            models.CheckConstraint(
                condition=Q(decision="", decided_at__isnull=True)
                | (~Q(decision="") & Q(decided_at__isnull=False)),
                name="consultation_decision_whole",
            ),
            # Never decided before the township's opinion.
            models.CheckConstraint(
                condition=Q(decision="") | ~Q(opinion=""),
                name="consultation_decided_after_opinion",
            ),
            # One open consultation per agency and kind.
            models.UniqueConstraint(
                fields=["agency", "kind"],
                condition=Q(decision=""),
                name="consultation_one_open_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.get_kind_display()} · {self.person_name}"

    @property
    def is_open(self) -> bool:
        return not self.decision


class AgencyFunds(models.Model):
    """Whether a stationed agency's daily funds are managed by its host township (a flag
    and a note, no accounting). No row: not managed by the township. Set by the county's
    两办 through `regions.agencies.agency_funds_set`."""

    agency = models.OneToOneField(
        Organisation,
        verbose_name=_("stationed agency"),
        on_delete=models.CASCADE,
        related_name="funds_arrangement",
    )
    managed_by_township = models.BooleanField(
        _("daily funds managed by the host township"), default=False
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("agency funds arrangement")
        verbose_name_plural = _("agency funds arrangements")

    def __str__(self) -> str:
        return str(self.agency)
