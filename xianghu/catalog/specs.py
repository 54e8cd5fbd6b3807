"""Plain, validated descriptions of list items, as importers produce them and the
version services consume them (no database objects)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The township government as the lists name it (primary party of township items,
# cooperating party of county items). Never resolved to one organisation: it stands
# for "the township whose territory it is".
TOWNSHIP_PARTY = "乡镇人民政府(街道办事处)"
TOWNSHIP_PARTY_ALIASES = frozenset(
    {
        TOWNSHIP_PARTY,
        "乡镇人民政府（街道办事处）",
        "乡镇人民政府",
        "乡镇政府",
        "乡镇（街道）",
        "乡镇(街道)",
    }
)


# The fields of an item that a change request may propose, in the order forms and pages
# show them. Departments are lists of names as the list writes them.
PROPOSAL_FIELDS = (
    "code",
    "domain_code",
    "domain_name",
    "name",
    "name_en",
    "primary_level",
    "primary_departments",
    "assisting_departments",
    "primary_duties",
    "cooperating_duties",
    "legal_basis",
    "keywords",
    "respond_limit",
    "complete_limit",
    "callable",
    "steps",
)

# A proposed procedure (`steps`): a list of {name, party, time_limit, handoff}, party one
# of StepParty's values; it replaces the item's whole procedure.
STEP_FIELDS = ("name", "party", "time_limit", "handoff")


@dataclass(frozen=True, slots=True)
class PartySpec:
    name: str  # as the list writes it, e.g. 应急管理局
    organisation_id: int | None = None  # the county's organisation, in a county list


@dataclass(frozen=True, slots=True)
class StepSpec:
    name: str
    party: str  # StepParty value
    time_limit: str = ""
    handoff: str = ""


@dataclass(frozen=True, slots=True)
class ItemSpec:
    code: str
    domain_code: str
    domain_name: str
    name: str
    primary_level: str  # PrimaryLevel value
    primary_duties: str
    respond_limit: str  # normalised, e.g. "24h", "5wd"
    complete_limit: str
    name_en: str = ""
    cooperating_duties: str = ""
    legal_basis: str = ""
    keywords: str = ""
    callable: bool = True
    source: str = ""
    primary: tuple[PartySpec, ...] = ()  # empty for township-primary items
    assisting: tuple[PartySpec, ...] = ()
    steps: tuple[StepSpec, ...] = field(default=())
    row: int | None = None  # where it came from, for error reports
    # True when the source had no procedure for the item and `steps` are
    # `io.default_steps`: a version service may carry the steps of the same item over
    # from an earlier version instead (docs/catalog.md, "Procedures").
    default_procedure: bool = False
