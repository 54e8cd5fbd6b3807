"""Models of the participation app, coordination area: the stakeholder registry and the
coordination of resources (needs, offers, commitments) — docs/participation.md.

Quantities are decimals in one of a small set of units; each resource kind allows a few
units (`KIND_UNITS`). A commitment counts against its need (and its offer) while it is
committed, delivered or confirmed; the services check the remaining quantities under a row
lock, and the database refuses zero or negative quantities.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ResourceKind(models.TextChoices):
    """The controlled vocabulary of capacities, needs and offers."""

    GOODS = "goods", _("Supplies")
    TRANSPORT = "transport", _("Transport")
    MEDICAL = "medical", _("Medical care")
    VOLUNTEERS = "volunteers", _("Volunteer service")
    FUNDS = "funds", _("Funds")
    VENUE = "venue", _("Venues")
    SKILLS = "skills", _("Skills")


class Unit(models.TextChoices):
    PIECE = "piece", _("pieces")
    BOX = "box", _("boxes")
    BAG = "bag", _("bags")
    TONNE = "tonne", _("tonnes")
    TRIP = "trip", _("trips")
    VEHICLE = "vehicle", _("vehicles")
    PERSON = "person", _("people")
    PERSON_DAY = "person_day", _("person-days")
    YUAN = "yuan", _("yuan")
    SQUARE_METRE = "square_metre", _("square metres")
    SITE = "site", _("sites")


# Which units each kind is counted in; the first is the default.
KIND_UNITS: dict[str, tuple[str, ...]] = {
    ResourceKind.GOODS: (Unit.PIECE, Unit.BOX, Unit.BAG, Unit.TONNE),
    ResourceKind.TRANSPORT: (Unit.TRIP, Unit.VEHICLE, Unit.TONNE),
    ResourceKind.MEDICAL: (Unit.PERSON, Unit.PERSON_DAY, Unit.BOX),
    ResourceKind.VOLUNTEERS: (Unit.PERSON, Unit.PERSON_DAY),
    ResourceKind.FUNDS: (Unit.YUAN,),
    ResourceKind.VENUE: (Unit.SQUARE_METRE, Unit.SITE),
    ResourceKind.SKILLS: (Unit.PERSON, Unit.PERSON_DAY),
}
# Units that may hold fractions; the others count whole things.
FRACTIONAL_UNITS = frozenset({Unit.TONNE, Unit.YUAN, Unit.SQUARE_METRE})


class StakeholderKind(models.TextChoices):
    SOCIAL_ORG = "social_org", _("Social organisation")
    ENTERPRISE = "enterprise", _("Enterprise")
    VOLUNTEER_TEAM = "volunteer_team", _("Volunteer team")
    VILLAGE_COMMITTEE = "village_committee", _("Village committee")
    GRID_WORKER = "grid_worker", _("Grid worker")


# Profiles their own organisation keeps; the others (villages, grid workers) are kept by
# the township and the county platform.
SELF_KEPT_KINDS = frozenset(
    {StakeholderKind.SOCIAL_ORG, StakeholderKind.ENTERPRISE, StakeholderKind.VOLUNTEER_TEAM}
)
STAFF_KEPT_KINDS = frozenset({StakeholderKind.VILLAGE_COMMITTEE, StakeholderKind.GRID_WORKER})


class Stakeholder(models.Model):
    """A profile in the stakeholder registry: an organisation (society partner or village
    committee) or a person (a grid worker, linked to a user or only named)."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The home township; empty for county-wide partners."),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=StakeholderKind.choices)
    organisation = models.OneToOneField(
        "regions.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stakeholder",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    village = models.ForeignKey(
        "regions.Region",
        verbose_name=_("village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=128)
    description = models.TextField(_("introduction"), max_length=2000, blank=True)
    skills = models.CharField(_("skills"), max_length=500, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    areas = models.ManyToManyField(
        "regions.Region", verbose_name=_("areas served"), blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stakeholder")
        verbose_name_plural = _("stakeholders")
        ordering = ["kind", "name"]
        indexes = [models.Index(fields=["county", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="grid_worker") | Q(organisation__isnull=True),
                name="stakeholder_person_has_no_organisation",
            ),
            models.CheckConstraint(
                condition=Q(kind="grid_worker") | Q(organisation__isnull=False),
                name="stakeholder_organisation_profile_has_organisation",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_person(self) -> bool:
        return self.kind == StakeholderKind.GRID_WORKER


class Capacity(models.Model):
    """What a stakeholder can provide, by resource kind (the quantity is indicative)."""

    stakeholder = models.ForeignKey(
        Stakeholder,
        verbose_name=_("stakeholder"),
        on_delete=models.CASCADE,
        related_name="capacities",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ResourceKind.choices)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("capacity")
        verbose_name_plural = _("capacities")
        ordering = ["stakeholder", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["stakeholder", "kind"], name="capacity_unique_kind"),
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gt=0),
                name="capacity_quantity_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder_id} {self.kind}"


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    CRITICAL = "critical", _("Critical")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FULFILLED = "fulfilled", _("Met")
    CLOSED = "closed", _("Closed")


class Need(models.Model):
    """A township or the county platform asks for resources."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    place = models.ForeignKey(
        "regions.Region", verbose_name=_("place"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    poster = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The township or the county platform that receives and confirms."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ResourceKind.choices)
    title = models.CharField(_("what is needed"), max_length=120)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    needed_by = models.DateField(_("needed by"))
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["county", "status", "kind"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="need_quantity_positive")
        ]

    def __str__(self) -> str:
        return self.title


class OfferStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Offer(models.Model):
    """A stakeholder offers resources for a time window in an area."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    stakeholder = models.ForeignKey(
        Stakeholder, verbose_name=_("offered by"), on_delete=models.PROTECT, related_name="offers"
    )
    area = models.ForeignKey(
        "regions.Region",
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the resources can go: the county, a township or a village."),
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ResourceKind.choices)
    title = models.CharField(_("what is offered"), max_length=120)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    available_from = models.DateField(_("available from"))
    available_to = models.DateField(_("available until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=OfferStatus.choices, default=OfferStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["county", "status", "kind"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="offer_quantity_positive"),
            models.CheckConstraint(
                condition=Q(available_to__isnull=True)
                | Q(available_to__gte=models.F("available_from")),
                name="offer_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CommitmentStatus(models.TextChoices):
    COMMITTED = "committed", _("Committed")
    DELIVERED = "delivered", _("Delivered")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


# Commitments that count against the need's (and the offer's) quantity.
ACTIVE_COMMITMENT = (
    CommitmentStatus.COMMITTED,
    CommitmentStatus.DELIVERED,
    CommitmentStatus.CONFIRMED,
)


class Commitment(models.Model):
    """A stakeholder commits part of a need: committed → delivered → confirmed by the
    receiver; cancellable while committed."""

    need = models.ForeignKey(
        Need, verbose_name=_("need"), on_delete=models.PROTECT, related_name="commitments"
    )
    offer = models.ForeignKey(
        Offer,
        verbose_name=_("offer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commitments",
    )
    stakeholder = models.ForeignKey(
        Stakeholder,
        verbose_name=_("committed by"),
        on_delete=models.PROTECT,
        related_name="commitments",
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CommitmentStatus.choices,
        default=CommitmentStatus.COMMITTED,
    )
    reason = models.CharField(_("reason for cancelling"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["need", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="commitment_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder_id} → {self.need_id}: {self.quantity}"


# The access policies of these models (registered once the classes exist).
from .coord import access as _access  # noqa: E402, F401
