"""The printed manual (说明书) of a list item: what a township or a department keeps at
hand to run the item — its duties, who does what in which order within which time
limit and where the responsibility passes on (分界点/衔接点), and how a call about it
travels (the call route with the county's time limits).

`item_manual` builds it from the item's procedure as plain data; the HTML page and the
PDF (`manual_pdf`, `version_manuals_pdf`) render the same data, so the paper and the
screen never disagree.

The time limits of a call belong to the calls app (a county's time policy), which sits
above the lists: it registers a provider in `CALL_CLOCK_PROVIDERS` when it loads, and a
manual asks it for the county of a county list (none for a guidance catalogue).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import pdf
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

from .limits import limit_label
from .models import (
    Item,
    ItemParty,
    ListVersion,
    PartyRole,
    PrimaryLevel,
    ProcedureStep,
    ScopeLevel,
    StepParty,
)

# ---- the call clocks, supplied by the calls app --------------------------------------


@dataclass(frozen=True)
class ClockRow:
    """The limits of one urgency as labels (30分钟, 5个工作日)."""

    urgency: str
    accept: str
    sign: str
    respond: str
    complete: str


@dataclass(frozen=True)
class CallClocks:
    rows: tuple[ClockRow, ...]
    customised: bool  # the county's own time policy (False: the defaults apply)


# county region id → a function giving the clocks of a call on an item in that county
# (the county's policy read once), or None when the provider has nothing to say.
ItemClocks = Callable[[Item], CallClocks | None]
ClockProvider = Callable[[int], ItemClocks | None]
CALL_CLOCK_PROVIDERS: list[ClockProvider] = []


def _no_clocks(item: Item) -> CallClocks | None:
    return None


def _clocks_of(county_id: int | None) -> ItemClocks:
    if county_id is None:
        return _no_clocks
    for provider in CALL_CLOCK_PROVIDERS:
        clocks = provider(county_id)
        if clocks is not None:
            return clocks
    return _no_clocks


# ---- the manual ------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualStep:
    number: int
    name: str
    party: str  # the kind of party (乡镇, 平台中心, 主体责任部门, 协办部门)
    who: str  # who that is for this item (the departments' names)
    limit: str
    handoff: str


@dataclass(frozen=True)
class ItemManual:
    version: ListVersion
    item: Item
    county_name: str  # empty for a guidance catalogue
    primary_holder: str
    cooperating_holder: str
    assisting: str
    township_primary: bool
    respond: str
    complete: str
    steps: tuple[ManualStep, ...]
    route: tuple[str, ...]
    clocks: CallClocks | None
    printed_at: datetime
    keywords: tuple[str, ...] = field(default_factory=tuple)


def _party_name(party: ItemParty) -> str:
    # In a county list the party resolves to the county's organisation (its full name).
    return party.organisation.name if party.organisation is not None else party.name


def _names(item: Item, role: str) -> str:
    return "、".join(_party_name(p) for p in item.parties.all() if p.role == role)


def _platform_name(version: ListVersion) -> str:
    if version.catalogue.level != ScopeLevel.COUNTY:
        return str(OrgKind.PLATFORM_CENTRE.label)
    centre = (
        Organisation.objects.filter(
            region_id=version.catalogue.region_id,
            kind=OrgKind.PLATFORM_CENTRE,
            is_active=True,
        )
        .order_by("pk")
        .values_list("name", flat=True)
        .first()
    )
    return centre or str(OrgKind.PLATFORM_CENTRE.label)


def _route(
    item: Item, *, platform: str, primary: str, assisting: str, township: str
) -> tuple[str, ...]:
    """How a call about the item travels, as sentences for the manual."""
    if not item.callable:
        return (
            _(
                "This item is not called through the platform: the responsible party "
                "handles it directly under the list."
            ),
        )
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        lines = [
            _(
                "The township (%(township)s) holds the primary duty. It may call the county "
                "platform (%(platform)s) only to ask for assistance, never to hand the duty over."
            )
            % {"township": township, "platform": platform},
        ]
        if assisting:
            lines.append(
                _("The platform dispatches such a call to the assisting departments: %(who)s.")
                % {"who": assisting}
            )
        return tuple(lines)
    lines = [
        _("The township calls the county platform (%(platform)s) after its leader approves.")
        % {"platform": platform},
        _("The platform accepts the call and dispatches it to the primary department: %(who)s.")
        % {"who": primary},
    ]
    if assisting:
        lines.append(
            _("Assisting departments get their own dispatch: %(who)s.") % {"who": assisting}
        )
    lines.append(
        _(
            "The primary department signs for the call, contacts the township and handles it; "
            "the township evaluates the result, which closes the loop."
        )
    )
    return tuple(lines)


@dataclass(frozen=True)
class ManualContext:
    """What every manual of one version shares (read once for a whole version)."""

    platform: str
    clocks: ItemClocks


def manual_context(*, version: ListVersion) -> ManualContext:
    county = version.catalogue.region_id if version.catalogue.level == ScopeLevel.COUNTY else None
    return ManualContext(platform=_platform_name(version), clocks=_clocks_of(county))


def item_manual(
    *, version: ListVersion, item: Item, context: ManualContext | None = None
) -> ItemManual:
    """The manual of `item` of `version` (the caller has checked the version is visible;
    `item` comes with its parties and steps prefetched, see `manual_items`)."""
    context = context or manual_context(version=version)
    township = str(OrgKind.TOWNSHIP.label)
    township_primary = item.primary_level == PrimaryLevel.TOWNSHIP
    primary = township if township_primary else (_names(item, PartyRole.PRIMARY) or "—")
    assisting = _names(item, PartyRole.ASSISTING)
    who = {
        StepParty.TOWNSHIP: township,
        StepParty.PLATFORM: str(OrgKind.PLATFORM_CENTRE.label),
        StepParty.PRIMARY: primary,
        StepParty.ASSISTING: assisting,
    }
    steps = tuple(
        ManualStep(
            number=n,
            name=step.name,
            party=step.get_party_display(),
            who=who.get(StepParty(step.party), "") if step.party in StepParty.values else "",
            limit=limit_label(step.time_limit),
            handoff=step.handoff,
        )
        for n, step in enumerate(item.steps.all(), start=1)
    )
    county = version.catalogue.region if version.catalogue.level == ScopeLevel.COUNTY else None
    return ItemManual(
        version=version,
        item=item,
        county_name=county.name if county else "",
        primary_holder=primary,
        cooperating_holder=(assisting or "—") if township_primary else township,
        assisting=assisting,
        township_primary=township_primary,
        respond=limit_label(item.respond_limit),
        complete=limit_label(item.complete_limit),
        steps=steps,
        route=_route(
            item,
            platform=context.platform,
            primary=primary,
            assisting=assisting,
            township=township,
        ),
        clocks=context.clocks(item),
        printed_at=timezone.now(),
        keywords=tuple(item.keyword_list()),
    )


def manual_items(*, version: ListVersion) -> Iterable[Item]:
    """The items of a version in the list's order, ready for `item_manual`."""
    return (
        Item.objects.filter(version=version)
        .select_related("domain", "version")
        .prefetch_related(
            Prefetch("parties", queryset=ItemParty.objects.select_related("organisation")),
            Prefetch("steps", queryset=ProcedureStep.objects.order_by("order")),
        )
        .order_by("order", "code")
    )


# ---- the PDF ---------------------------------------------------------------------------


def _version_line(version: ListVersion) -> str:
    valid = (
        timezone.localtime(version.valid_from).strftime("%Y-%m-%d") if version.valid_from else "—"
    )
    return _("%(title)s (version %(number)s, %(status)s, in force from %(date)s)") % {
        "title": version.title,
        "number": version.number,
        "status": version.get_status_display(),
        "date": valid,
    }


def _blocks(manual: ItemManual) -> list[pdf.Block]:
    item = manual.item
    blocks: list[pdf.Block] = [
        pdf.Heading(f"{item.code} {item.name}", level=2),
        pdf.Facts(
            [
                (_("Item code"), item.code),
                (_("Item name"), item.name),
                (_("Domain"), item.domain.name),
                (_("List"), _version_line(manual.version)),
                (_("Primary responsibility"), manual.primary_holder),
                (_("Cooperating responsibility"), manual.cooperating_holder),
                (_("Assisting departments"), manual.assisting or "—"),
                (_("Respond within"), manual.respond or "—"),
                (_("Complete within"), manual.complete or "—"),
            ]
        ),
        pdf.Heading(_("Duties"), level=3),
        pdf.Para(
            _("Primary duties (%(who)s): %(duties)s")
            % {"who": manual.primary_holder, "duties": item.primary_duties or "—"}
        ),
        pdf.Para(
            _("Cooperating duties (%(who)s): %(duties)s")
            % {"who": manual.cooperating_holder, "duties": item.cooperating_duties or "—"}
        ),
        pdf.Heading(_("Legal basis"), level=3),
        pdf.Para(item.legal_basis or "—"),
        pdf.Heading(_("Procedure"), level=3),
    ]
    if manual.steps:
        blocks.append(
            pdf.Table(
                header=[
                    _("No."),
                    _("Step"),
                    _("Responsible"),
                    _("Time limit"),
                    _("Hand-off point"),
                ],
                rows=[
                    [str(s.number), s.name, s.who or s.party, s.limit or "—", s.handoff or "—"]
                    for s in manual.steps
                ],
                widths=[0.07, 0.28, 0.22, 0.13, 0.30],
            )
        )
    else:
        blocks.append(pdf.Para(_("No procedure is recorded for this item."), style="muted"))
    blocks += [pdf.Heading(_("Call route"), level=3), pdf.Bullets(list(manual.route))]
    if manual.clocks is not None and item.callable:
        blocks.append(
            pdf.Table(
                header=[
                    _("Urgency"),
                    _("Platform accepts and dispatches"),
                    _("Department signs"),
                    _("Respond"),
                    _("Complete"),
                ],
                rows=[
                    [r.urgency, r.accept, r.sign, r.respond, r.complete] for r in manual.clocks.rows
                ],
                widths=[0.16, 0.24, 0.2, 0.2, 0.2],
            )
        )
        blocks.append(pdf.Para(clock_note(manual), style="small"))
    return blocks


def clock_note(manual: ItemManual) -> str:
    """The line under the time limits: whose they are."""
    if manual.clocks is not None and manual.clocks.customised:
        return _("Time limits of the county's time policy (%(county)s).") % {
            "county": manual.county_name
        }
    return _("Default time limits (the county has not set its own time policy).")


def _footer(version: ListVersion, printed_at: datetime) -> str:
    return _("%(list)s v%(number)s · printed %(at)s") % {
        "list": version.catalogue.name,
        "number": version.number,
        "at": timezone.localtime(printed_at).strftime("%Y-%m-%d %H:%M"),
    }


def manual_pdf(manual: ItemManual) -> bytes:
    """One item's manual as an A4 PDF."""
    title = _("Manual: %(code)s %(name)s") % {
        "code": manual.item.code,
        "name": manual.item.name,
    }
    return pdf.render_pdf(
        title=title,
        subject=manual.version.title,
        blocks=[pdf.Heading(_("Item manual"), level=1), *_blocks(manual)],
        footer=_footer(manual.version, manual.printed_at),
    )


def version_manuals_pdf(*, version: ListVersion, manuals: Sequence[ItemManual]) -> bytes:
    """The manuals of every item of a version, one after another, in one PDF."""
    printed_at = manuals[0].printed_at if manuals else timezone.now()
    blocks: list[pdf.Block] = [
        pdf.Heading(_("Item manuals"), level=1),
        pdf.Para(_version_line(version), style="strong"),
        pdf.Para(
            _("%(count)s items, printed %(at)s")
            % {
                "count": len(manuals),
                "at": timezone.localtime(printed_at).strftime("%Y-%m-%d %H:%M"),
            },
            style="muted",
        ),
    ]
    for manual in manuals:
        blocks += [pdf.Spacer(6), *_blocks(manual)]
    return pdf.render_pdf(
        title=_("Item manuals: %(title)s") % {"title": version.title},
        subject=version.title,
        blocks=blocks,
        footer=_footer(version, printed_at),
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def manual_filename(item_code: str) -> str:
    """An ASCII file name for a download (a code with other characters is folded)."""
    return f"manual-{_UNSAFE.sub('_', item_code).strip('_') or 'item'}.pdf"
