"""Responsibility lists (属地管理清单).

A `Catalogue` is the list of one scope (the province's guidance catalogue, a city's or a
county's list). It is never edited in place: every change produces a new `ListVersion`
(draft → published → superseded), and the version in force at an instant is the
published or superseded one whose [valid_from, valid_to) contains it. Items, their
parties and their procedure steps belong to one version and are copied forward.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ScopeLevel(models.TextChoices):
    PROVINCE = "province", _("Province guidance catalogue")
    CITY = "city", _("City list")
    COUNTY = "county", _("County list")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


class PrimaryLevel(models.TextChoices):
    COUNTY = "county", _("County department is primary")
    TOWNSHIP = "township", _("Township is primary")


class ItemOrigin(models.TextChoices):
    """Where a derived list's item comes from, relative to its guidance version."""

    GUIDANCE = "guidance", _("Guidance item")
    INHERITED = "inherited", _("Inherited")
    LOCAL = "local", _("Local addition")
    SPLIT = "split", _("Split finer")


class PartyRole(models.TextChoices):
    PRIMARY = "primary", _("Primary responsibility")
    ASSISTING = "assisting", _("Assisting")


class StepParty(models.TextChoices):
    TOWNSHIP = "township", _("Township")
    PLATFORM = "platform", _("Platform centre")
    PRIMARY = "primary", _("Primary party")
    ASSISTING = "assisting", _("Assisting departments")


class Catalogue(models.Model):
    name = models.CharField(_("name"), max_length=128)
    level = models.CharField(_("level"), max_length=16, choices=ScopeLevel.choices)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    guidance = models.ForeignKey(
        "self",
        verbose_name=_("guidance catalogue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="derived",
        help_text=_("The province or city catalogue this list derives from."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("catalogue")
        verbose_name_plural = _("catalogues")
        constraints = [
            models.UniqueConstraint(fields=["region", "level"], name="catalogue_one_per_region")
        ]

    def __str__(self) -> str:
        return self.name


class ListVersion(models.Model):
    catalogue = models.ForeignKey(
        Catalogue, verbose_name=_("catalogue"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version number"))
    title = models.CharField(_("title"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    based_on = models.ForeignKey(
        "self",
        verbose_name=_("guidance version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="derived_versions",
        help_text=_("For a derived list: the guidance version it was derived from."),
    )
    previous = models.ForeignKey(
        "self",
        verbose_name=_("previous version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("list version")
        verbose_name_plural = _("list versions")
        ordering = ["catalogue", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "number"], name="version_unique_number"),
            models.UniqueConstraint(
                fields=["catalogue"],
                condition=Q(status="published"),
                name="version_one_published",
            ),
        ]
        indexes = [models.Index(fields=["catalogue", "status", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.catalogue.name} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class Domain(models.Model):
    version = models.ForeignKey(
        ListVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="domains"
    )
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=64)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
        ordering = ["version", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="domain_unique_code")
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One duty of the list (事项), in one version."""

    version = models.ForeignKey(
        ListVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="items"
    )
    domain = models.ForeignKey(
        Domain, verbose_name=_("domain"), on_delete=models.RESTRICT, related_name="items"
    )
    code = models.CharField(_("code"), max_length=32)
    order = models.PositiveIntegerField(_("order"), default=0)
    name = models.CharField(_("item name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    primary_level = models.CharField(
        _("primary level"), max_length=16, choices=PrimaryLevel.choices
    )
    primary_duties = models.TextField(_("primary duties"))
    cooperating_duties = models.TextField(_("cooperating duties"), blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    keywords = models.CharField(_("keywords"), max_length=500, blank=True)
    respond_limit = models.CharField(_("respond within"), max_length=16)
    complete_limit = models.CharField(_("complete within"), max_length=16)
    callable = models.BooleanField(_("callable"), default=True)
    source = models.CharField(_("source"), max_length=8, blank=True)
    origin = models.CharField(
        _("origin"), max_length=16, choices=ItemOrigin.choices, default=ItemOrigin.GUIDANCE
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("guidance item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_items",
        help_text=_("For an inherited or split item: the item of the guidance version."),
    )

    class Meta:
        verbose_name = _("list item")
        verbose_name_plural = _("list items")
        ordering = ["version", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="item_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def keyword_list(self) -> list[str]:
        return [
            k for k in self.keywords.replace("，", ",").replace("、", ",").split(",") if k.strip()
        ]


class ItemParty(models.Model):
    """A department named by an item: its primary party or an assisting one.

    `name` is the department as the list writes it (短名, e.g. 应急管理局); in a county's
    list `organisation` is the county's real organisation it resolves to.
    """

    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="parties"
    )
    role = models.CharField(_("role"), max_length=16, choices=PartyRole.choices)
    name = models.CharField(_("name"), max_length=128)
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="list_parties",
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("item party")
        verbose_name_plural = _("item parties")
        ordering = ["item", "role", "order"]
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self) -> str:
        return f"{self.item.code} {self.get_role_display()}: {self.name}"


class ProcedureStep(models.Model):
    """One step of an item's procedure: who does it, within what, and where the
    responsibility passes on (责任链条的分界点、衔接点)."""

    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="steps"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("step"), max_length=100)
    party = models.CharField(_("responsible party"), max_length=16, choices=StepParty.choices)
    time_limit = models.CharField(_("time limit"), max_length=16, blank=True)
    handoff = models.CharField(_("hand-off point"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("procedure step")
        verbose_name_plural = _("procedure steps")
        ordering = ["item", "order"]
        constraints = [models.UniqueConstraint(fields=["item", "order"], name="step_unique_order")]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class RemovedItem(models.Model):
    """A guidance item a derived list does not take over, and why."""

    version = models.ForeignKey(
        ListVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="removed"
    )
    guidance_item = models.ForeignKey(
        Item, verbose_name=_("guidance item"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("removed item")
        verbose_name_plural = _("removed items")
        constraints = [
            models.UniqueConstraint(fields=["version", "guidance_item"], name="removed_unique_item")
        ]

    def __str__(self) -> str:
        return f"{self.guidance_item.code}: {self.reason}"


class ChangeKind(models.TextChoices):
    ADD = "add", _("Add an item")
    MODIFY = "modify", _("Modify an item")
    REMOVE = "remove", _("Remove an item")


class DecisionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Reviewed(models.Model):
    """Who filed a request and how the 编办 decided it (once, with an opinion)."""

    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DecisionStatus.choices,
        default=DecisionStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    opinion = models.TextField(_("opinion"), blank=True)

    class Meta:
        abstract = True


class ChangeRequest(Reviewed):
    """A request to change a published list (清单动态管理), decided by the 编办."""

    catalogue = models.ForeignKey(
        Catalogue, verbose_name=_("catalogue"), on_delete=models.CASCADE, related_name="changes"
    )
    base_version = models.ForeignKey(
        ListVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ChangeKind.choices)
    item_code = models.CharField(_("item code"), max_length=32, blank=True)
    proposal = models.JSONField(_("proposed item"), default=dict, blank=True)
    reason = models.TextField(_("reason"))
    legal_basis = models.TextField(_("legal basis"), blank=True)
    filed_by_org = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("filed by organisation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    result_version = models.ForeignKey(
        ListVersion,
        verbose_name=_("resulting version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-filed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.item_code or self.proposal.get('name', '')}"


class Admission(Reviewed):
    """A county department's request to hand townships a task outside the list
    (清单外交办事项准入); only approved admissions reach townships, for their period."""

    catalogue = models.ForeignKey(
        Catalogue, verbose_name=_("catalogue"), on_delete=models.CASCADE, related_name="admissions"
    )
    department = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("requesting department"),
        on_delete=models.PROTECT,
        related_name="admissions",
    )
    title = models.CharField(_("task"), max_length=200)
    content = models.TextField(_("content"))
    basis = models.TextField(_("basis"))
    resources = models.TextField(
        _("resources that come with it"),
        blank=True,
        help_text=_("费随事转: funds, staff, equipment."),
    )
    townships = models.ManyToManyField(
        "regions.Organisation", verbose_name=_("target townships"), related_name="+"
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    class Meta:
        verbose_name = _("admission of an out-of-list task")
        verbose_name_plural = _("admissions of out-of-list tasks")
        ordering = ["-filed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="admission_period_order"
            )
        ]

    def __str__(self) -> str:
        return self.title


class AdoptionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("adoption", "Open")
    ADOPTED = "adopted", pgettext_lazy("adoption", "Adopted")
    DECLINED = "declined", pgettext_lazy("adoption", "Declined")


class GuidanceUpdate(models.Model):
    """A new guidance version reaching a derived list: what changed from the guidance
    version before it, one `AdoptionTask` per change (docs/catalog.md, "Guidance
    versions and adoption"). One per derived list and new guidance version."""

    catalogue = models.ForeignKey(
        Catalogue,
        verbose_name=_("catalogue"),
        on_delete=models.CASCADE,
        related_name="guidance_updates",
    )
    old = models.ForeignKey(
        ListVersion,
        verbose_name=_("earlier guidance version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    new = models.ForeignKey(
        ListVersion,
        verbose_name=_("new guidance version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("guidance update")
        verbose_name_plural = _("guidance updates")
        ordering = ["catalogue", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "new"], name="guidance_update_once")
        ]

    def __str__(self) -> str:
        return f"{self.catalogue.name}: v{self.old.number} → v{self.new.number}"


class AdoptionTask(models.Model):
    """One change of a new guidance version (an item added, modified or removed) that
    the derived list's 编办 adopts into the list or declines with a reason."""

    update = models.ForeignKey(
        GuidanceUpdate,
        verbose_name=_("guidance update"),
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    catalogue = models.ForeignKey(
        Catalogue,
        verbose_name=_("catalogue"),
        on_delete=models.CASCADE,
        related_name="adoption_tasks",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ChangeKind.choices)
    item_code = models.CharField(_("item code"), max_length=32)
    item_name = models.CharField(_("item name"), max_length=200)
    changes = models.JSONField(
        _("changed fields"),
        default=list,
        blank=True,
        help_text=_("For a modification: each changed field with its old and new value."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AdoptionStatus.choices, default=AdoptionStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(
        _("reason"),
        blank=True,
        help_text=_("Why the change was declined, or a note on adopting it."),
    )
    change_request = models.ForeignKey(
        ChangeRequest,
        verbose_name=_("change request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    result_version = models.ForeignKey(
        ListVersion,
        verbose_name=_("resulting version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("adoption task")
        verbose_name_plural = _("adoption tasks")
        ordering = ["update", "kind", "item_code"]
        constraints = [
            models.UniqueConstraint(fields=["update", "item_code"], name="adoption_task_once"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(decided_at__isnull=False),
                name="adoption_task_decided_at",
            ),
        ]
        indexes = [models.Index(fields=["catalogue", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.item_code}"

    @property
    def is_open(self) -> bool:
        return self.status == AdoptionStatus.OPEN
