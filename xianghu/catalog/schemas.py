"""Request and response schemas of the catalog API (/api/v1/catalog/).

Output schemas read model instances directly (`resolve_*` for related values), so that
paginated endpoints can hand ninja a queryset and only the requested page is loaded.
"""

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from xianghu.core.api import ObjectId
from xianghu.core.errors import InvalidInput

from .limits import parse_limit
from .models import (
    Admission,
    AdoptionStatus,
    AdoptionTask,
    Catalogue,
    ChangeKind,
    ChangeRequest,
    DecisionStatus,
    Item,
    ListVersion,
    PartyRole,
)


def _limit_label(value: str) -> str:
    """`5wd` → `5个工作日`; a value that cannot be read is shown as stored."""
    try:
        return parse_limit(value).label
    except InvalidInput:
        return value


# ---- catalogues and versions ------------------------------------------------------------


class CatalogueOut(Schema):
    id: int
    name: str
    level: str
    region_code: str
    region_name: str
    guidance_id: int | None
    version_in_force_id: int | None = Field(
        None, description="The version in force now; null before the first publication."
    )

    @staticmethod
    def resolve_region_code(obj: Catalogue) -> str:
        return obj.region.code

    @staticmethod
    def resolve_region_name(obj: Catalogue) -> str:
        return obj.region.name

    @staticmethod
    def resolve_version_in_force_id(obj: Catalogue) -> int | None:
        return getattr(obj, "version_in_force_id", None)


class VersionOut(Schema):
    id: int
    catalogue_id: int
    number: int
    title: str
    status: str
    valid_from: datetime | None
    valid_to: datetime | None
    published_at: datetime | None
    based_on_id: int | None = Field(None, description="The guidance version it derives from.")
    previous_id: int | None = Field(None, description="The version it replaced.")
    item_count: int

    @staticmethod
    def resolve_item_count(obj: ListVersion) -> int:
        count = getattr(obj, "item_count", None)
        return obj.items.count() if count is None else int(count)


class DomainOut(Schema):
    code: str
    name: str
    order: int
    item_count: int

    @staticmethod
    def resolve_item_count(obj: Any) -> int:
        return int(getattr(obj, "item_count", 0))


class VersionDetailOut(VersionOut):
    catalogue_name: str
    region_code: str
    note: str
    domains: list[DomainOut]

    @staticmethod
    def resolve_catalogue_name(obj: ListVersion) -> str:
        return obj.catalogue.name

    @staticmethod
    def resolve_region_code(obj: ListVersion) -> str:
        return obj.catalogue.region.code

    @staticmethod
    def resolve_domains(obj: ListVersion) -> list[Any]:
        return list(obj.domains.all())


# ---- items ------------------------------------------------------------------------------


class PartyOut(Schema):
    name: str = Field(description="The department as the list writes it.")
    role: str = Field(description="primary or assisting")
    organisation_id: int | None = Field(
        None, description="The county's organisation it resolves to (county lists only)."
    )


class ItemOut(Schema):
    id: int
    version_id: int
    code: str
    name: str
    name_en: str
    domain_code: str
    domain_name: str
    primary_level: str = Field(description="county: a department is primary; township")
    primary_duties: str
    cooperating_duties: str
    legal_basis: str
    keywords: str
    respond_limit: str = Field(description="30m, 2h, 24h, 3d or 5wd (working days)")
    respond_limit_label: str
    complete_limit: str
    complete_limit_label: str
    callable: bool
    source: str
    origin: str = Field(description="guidance, inherited, local or split")
    parent_code: str | None = Field(
        None, description="The guidance item it inherits from or is split from."
    )
    parties: list[PartyOut]

    @staticmethod
    def resolve_domain_code(obj: Item) -> str:
        return obj.domain.code

    @staticmethod
    def resolve_domain_name(obj: Item) -> str:
        return obj.domain.name

    @staticmethod
    def resolve_respond_limit_label(obj: Item) -> str:
        return _limit_label(obj.respond_limit)

    @staticmethod
    def resolve_complete_limit_label(obj: Item) -> str:
        return _limit_label(obj.complete_limit)

    @staticmethod
    def resolve_parent_code(obj: Item) -> str | None:
        return obj.parent.code if obj.parent_id and obj.parent else None

    @staticmethod
    def resolve_parties(obj: Item) -> list[Any]:
        # Primary parties first, each role in the list's order.
        return sorted(obj.parties.all(), key=lambda p: (p.role != PartyRole.PRIMARY, p.order))


class StepOut(Schema):
    order: int
    name: str
    party: str = Field(description="township, platform, primary or assisting")
    time_limit: str
    handoff: str = Field(description="Where the responsibility passes on (分界点、衔接点).")


class ItemDetailOut(ItemOut):
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj: Item) -> list[Any]:
        return list(obj.steps.all())


class ItemRef(Schema):
    id: int
    code: str
    name: str


# ---- diffs ------------------------------------------------------------------------------


class FieldChangeOut(Schema):
    field: str = Field(
        description=(
            "An item field, `domain`, `primary_parties`, `assisting_parties`, or `steps`: "
            "the whole procedure, old and new each a list of "
            "{order, name, party, time_limit, handoff}."
        )
    )
    old: Any
    new: Any


class ItemChangeOut(Schema):
    code: str
    name: str
    changes: list[FieldChangeOut]


class DiffOut(Schema):
    old_id: int
    new_id: int
    added: list[ItemRef]
    removed: list[ItemRef]
    modified: list[ItemChangeOut]


# ---- duties and the guard ---------------------------------------------------------------


class AdmittedTaskOut(Schema):
    """An approved out-of-list task handed to a township (临时交办事项), for its period."""

    admission_id: int
    title: str
    content: str
    basis: str
    resources: str
    department_id: int
    department_name: str
    starts_on: date
    ends_on: date


class DutiesOut(Schema):
    organisation_id: int
    primary: list[ItemRef] = Field(description="Items where it bears the primary duty.")
    cooperating: list[ItemRef] = Field(description="Items where it cooperates or assists.")
    admitted: list[AdmittedTaskOut] = Field(
        description=(
            "For a township (or a village, by its township): the out-of-list tasks of "
            "approved admissions naming it whose period covers the date, as temporary tasks."
        ),
    )


class GuardOut(Schema):
    allowed: bool
    code: str = Field(description="Stable code of the rule that decided (docs/catalog.md).")
    message: str
    admission_id: int | None = Field(None, description="The admission that allows it, if any.")


# ---- change requests --------------------------------------------------------------------


class ChangeRequestIn(Schema):
    organisation_id: int = Field(description="The filing organisation (the caller's own).")
    version_id: int = Field(description="The version in force the change is against.")
    kind: ChangeKind
    item_code: str = Field("", description="For modify and remove: the item's code.")
    proposal: dict[str, Any] | None = Field(
        None,
        description=(
            "For add: the whole item; for modify: only the fields that change "
            "(code, domain_code, domain_name, name, name_en, primary_level, "
            "primary_departments, assisting_departments, primary_duties, "
            "cooperating_duties, legal_basis, keywords, respond_limit, complete_limit, "
            "callable, steps). `steps` replaces the whole procedure: a list of "
            "{name, party (township, platform, primary or assisting), time_limit, handoff}; "
            "without it an added item gets the default procedure and a modified item keeps "
            "its own, its steps following a changed response or completion limit."
        ),
    )
    reason: str
    legal_basis: str = ""


class DecisionIn(Schema):
    approve: bool
    opinion: str


class ChangeRequestOut(Schema):
    id: int
    catalogue_id: int
    base_version_id: int
    kind: ChangeKind
    item_code: str
    proposal: dict[str, Any]
    reason: str
    legal_basis: str
    organisation_id: int
    organisation_name: str
    filed_by_id: int | None
    filed_at: datetime
    status: DecisionStatus
    decided_by_id: int | None
    decided_at: datetime | None
    opinion: str
    result_version_id: int | None = Field(None, description="The version an approval made.")

    @staticmethod
    def resolve_organisation_id(obj: ChangeRequest) -> int:
        return obj.filed_by_org_id

    @staticmethod
    def resolve_organisation_name(obj: ChangeRequest) -> str:
        return obj.filed_by_org.name


# ---- admissions -------------------------------------------------------------------------


class AdmissionIn(Schema):
    department_id: int
    title: str
    content: str
    basis: str
    resources: str = Field("", description="What comes with the task (费随事转).")
    township_ids: list[int]
    starts_on: date
    ends_on: date


class OrganisationRef(Schema):
    id: int
    name: str


class AdmissionOut(Schema):
    id: int
    catalogue_id: int
    department_id: int
    department_name: str
    title: str
    content: str
    basis: str
    resources: str
    townships: list[OrganisationRef]
    starts_on: date
    ends_on: date
    filed_by_id: int | None
    filed_at: datetime
    status: DecisionStatus
    decided_by_id: int | None
    decided_at: datetime | None
    opinion: str

    @staticmethod
    def resolve_department_name(obj: Admission) -> str:
        return obj.department.name

    @staticmethod
    def resolve_townships(obj: Admission) -> list[Any]:
        return list(obj.townships.all())


# ---- guidance adoption ------------------------------------------------------------------


class AdoptionTaskOut(Schema):
    """One change of a new guidance version for a derived list to adopt or decline."""

    id: int
    catalogue_id: int
    county_code: str
    county_name: str
    guidance_old_id: int = Field(description="The guidance version the change is from.")
    guidance_new_id: int = Field(description="The new guidance version that made it.")
    kind: ChangeKind = Field(description="The item was added, modified or removed.")
    item_code: str
    item_name: str
    changes: list[FieldChangeOut] = Field(
        description="For a modification: each changed field, as in the diff."
    )
    status: AdoptionStatus
    decided_by_id: int | None
    decided_at: datetime | None
    reason: str = Field(description="Why it was declined, or the note on adopting it.")
    change_request_id: int | None = Field(
        None, description="The approved change request that took it into the list."
    )
    result_version_id: int | None = Field(
        None, description="The list's version in force after adopting it."
    )
    created_at: datetime

    @staticmethod
    def resolve_county_code(obj: AdoptionTask) -> str:
        return obj.catalogue.region.code

    @staticmethod
    def resolve_county_name(obj: AdoptionTask) -> str:
        return obj.catalogue.region.name

    @staticmethod
    def resolve_guidance_old_id(obj: AdoptionTask) -> int:
        return obj.update.old_id

    @staticmethod
    def resolve_guidance_new_id(obj: AdoptionTask) -> int:
        return obj.update.new_id


class AdoptionDecisionIn(Schema):
    adopt: bool = Field(description="true: adopt into the list; false: decline.")
    reason: str = Field(
        "", description="Required to decline (why not); an optional note when adopting."
    )


class AdoptIn(Schema):
    task_ids: list[ObjectId] = Field(description="Open changes of one list, adopted together.")
    note: str = ""


class AdoptOut(Schema):
    version_id: int = Field(description="The list's version in force afterwards.")
    tasks: list[AdoptionTaskOut]


class AdoptionStatusOut(Schema):
    catalogue_id: int
    county_code: str
    county_name: str
    open: int
    adopted: int
    declined: int
    total: int
    percent_decided: int
    up_to_date: bool = Field(
        description="Every change of every guidance version since the list's own is decided."
    )
    guidance_version_id: int | None = Field(None, description="The guidance version in force.")
    based_on_id: int | None = Field(
        None, description="The guidance version the list in force derives from."
    )
