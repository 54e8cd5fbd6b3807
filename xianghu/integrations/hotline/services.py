"""Writes of the hotline: sources, import runs, pushed tickets, tickets into calls."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import State
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.masking import mask_personal_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel, Role
from xianghu.regions.selectors import grant_for

from .importer import UPLOAD_DIR, OrmWriter, media_path
from .models import Disposition, Encoding, ImportRun, ImportSource, RunStatus, Ticket
from .rows import FIELDS, RowError, RowParser, TicketRow

MAX_UPLOAD_BYTES = 2 << 30  # 2 GiB: a million tickets as CSV are about 400 MB


def _require_manager(actor: Actor, county: Region) -> None:
    if not (actor.is_superuser or county.pk in access_counties(actor)):
        raise PermissionDenied(
            _("Only the county's platform centre handles hotline tickets."),
            code="hotline.forbidden",
        )


def access_counties(actor: Actor) -> frozenset[int]:
    from .access import manager_counties

    return manager_counties(actor)


# ---- sources ------------------------------------------------------------------------------


def source_ensure(
    *,
    actor: Actor | None,
    county: Region,
    name: str,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    secret: str | None = None,
) -> ImportSource:
    """The county's source of this name, created when new (with a webhook secret);
    `mapping`, `encoding` and `secret`, when given, replace the saved ones. `actor` None:
    a trusted caller (a management command)."""
    if actor is not None:
        _require_manager(actor, county)
    name = name.strip()[:100]
    if not name:
        raise InvalidInput(_("Give the source a name."), code="hotline.source_name_required")
    if encoding is not None and encoding not in Encoding.values:
        raise InvalidInput(_("Unknown encoding."), code="hotline.bad_encoding_choice")
    clean_mapping = None
    if mapping is not None:
        unknown = sorted(set(mapping) - set(FIELDS))
        if unknown:
            raise InvalidInput(
                _("Unknown ticket fields: %s") % ", ".join(unknown), code="hotline.bad_mapping"
            )
        clean_mapping = {k: str(v).strip()[:100] for k, v in mapping.items() if str(v).strip()}
    source, created = ImportSource.objects.get_or_create(
        county=county,
        name=name,
        defaults={"webhook_secret": secret or secrets.token_hex(32)},
    )
    changed = []
    if clean_mapping is not None and clean_mapping != source.mapping:
        source.mapping = clean_mapping
        changed.append("mapping")
    if encoding is not None and encoding != source.encoding:
        source.encoding = encoding
        changed.append("encoding")
    if secret and not created and secret != source.webhook_secret:
        source.webhook_secret = secret
        changed.append("webhook_secret")
    if changed:
        source.save(update_fields=changed)
    return source


# ---- import runs ---------------------------------------------------------------------------


def run_create(
    *,
    actor: Actor,
    source: ImportSource,
    file_name: str,
    chunks: Iterable[bytes],
) -> ImportRun:
    """Store an uploaded file (streamed to MEDIA_ROOT) as a run awaiting its mapping."""
    access.require(actor, "manage", source)
    relative = f"{UPLOAD_DIR}/{uuid.uuid4().hex}{Path(file_name).suffix.lower()[:8]}"
    path = media_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                path.unlink(missing_ok=True)
                raise InvalidInput(
                    _("The file is larger than 2 GB; split it."), code="hotline.file_too_large"
                )
            out.write(chunk)
    return ImportRun.objects.create(
        source=source,
        file_name=Path(file_name).name[:255],
        file_path=str(path),
        file_size=size,
        started_by_id=actor.user_id,
    )


def run_for_file(*, source: ImportSource, path: Path) -> ImportRun:
    """A run of a file on disk (the management command); the file stays where it is."""
    return ImportRun.objects.create(
        source=source,
        file_name=path.name[:255],
        file_path=str(path.resolve()),
        file_size=path.stat().st_size,
        status=RunStatus.QUEUED,
    )


@transaction.atomic
def run_start(*, actor: Actor, run: ImportRun, mapping: Mapping[str, str]) -> ImportRun:
    """Save the mapping on the source and queue the import (a django-tasks task), once:
    of two starts at the same moment one is refused."""
    access.require(actor, "manage", run)
    started = ImportRun.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
        status=RunStatus.QUEUED
    )
    if not started:
        raise Conflict(_("This import has already been started."), code="hotline.run_started")
    run.status = RunStatus.QUEUED
    source_ensure(actor=actor, county=run.source.county, name=run.source.name, mapping=mapping)
    from .tasks import hotline_import

    # Enqueued in this transaction: on the database task backend the task commits with
    # the run's status, so no run stays queued for ever because the process died between
    # the commit and an after-commit enqueue (on RQ the task is sent at the commit).
    hotline_import.enqueue(run.pk)
    return run


# ---- pushed tickets ------------------------------------------------------------------------


@dataclass
class PushResult:
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)


def tickets_push(*, source: ImportSource, tickets: list[Any]) -> PushResult:
    """Tickets pushed by the source's webhook (JSON objects with the field names as keys):
    each is checked like a file row and upserted by number; the last of one number wins."""
    result = PushResult()
    parser = RowParser(source.county)
    rows: dict[str, TicketRow] = {}
    for index, item in enumerate(tickets):
        if not isinstance(item, dict):
            result.errors.append(
                RowError(index, "", "hotline.bad_ticket", _("A ticket must be a JSON object."))
            )
            continue
        parsed = parser.parse(index, item)
        if isinstance(parsed, list):
            result.errors.extend(parsed)
        else:
            rows[parsed.number] = parsed
    if rows:
        with transaction.atomic():
            written = OrmWriter(None, source.county_id, source.pk).write(
                list(rows.values()), timezone.now()
            )
        result.inserted, result.updated = written.inserted, written.updated
        result.numbers = list(rows)
    return result


# ---- tickets into calls --------------------------------------------------------------------


def township_organisation(township: Region) -> Organisation:
    org = Organisation.objects.filter(
        kind=OrgKind.TOWNSHIP, township=township, is_active=True
    ).first()
    if org is None:
        raise Conflict(
            _("%(township)s has no township government on the platform.")
            % {"township": township.name},
            code="hotline.no_township_organisation",
        )
    return org


def _idempotency_key(ticket: Ticket) -> str:
    key = f"hotline-{ticket.number}"
    if len(key) > 64:
        key = "hotline-" + hashlib.sha256(ticket.number.encode()).hexdigest()[:48]
    return key


def _draft(ticket: Ticket, location: Region) -> CallDraft:
    first_line = ticket.content.strip().splitlines()[0] if ticket.content.strip() else ""
    title = (ticket.title or first_line[:60] or _("12345 ticket %s") % ticket.number)[:120]
    origin = _("From 12345 hotline ticket %(number)s (%(type)s%(category)s).") % {
        "number": ticket.number,
        "type": ticket.get_type_display(),
        "category": f", {ticket.category}" if ticket.category else "",
    }
    room = 4000 - len(origin) - 2
    # The caller's numbers stay on the ticket (the platform centre's); the call, seen by
    # the township and the departments, gets them masked.
    return CallDraft(
        title=mask_personal_text(title)[:120],
        description=mask_personal_text(f"{ticket.content.strip()[:room]}\n\n{origin}")[:4000],
        location=location,
        urgency=ticket.urgency,
        address=ticket.address,
    )


def _on_behalf(actor: Actor, township: Organisation) -> Actor:
    """The operator acting for the township (the call's caller) in this one service."""
    return Actor.build(
        user_id=actor.user_id,
        grants=[grant_for(organisation=township, role=Role.TOWNSHIP_REPORTER)],
        display_name=actor.display_name,
    )


def ticket_to_call(
    *, actor: Actor, ticket: Ticket, dispatch: bool = False, township: Region | None = None
) -> Call:
    """Turn a ticket about a township's territory into a call of that township.

    The platform operator makes the call on the township's behalf: the call's caller is
    the township government, its creator the operator. Without `dispatch` the call stays
    a draft the township's staff complete (list item, place) and submit; with `dispatch`
    it is submitted at once and waits for the township leader's approval. Both are
    idempotent: the key is derived from the ticket number, and a ticket keeps its one
    call."""
    access.require(actor, "manage", ticket)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.call_id is not None:
            call = Call.objects.select_related("caller").get(pk=locked.call_id)
            if dispatch and locked.disposition != Disposition.DISPATCHED:
                if call.state != State.DRAFT:
                    raise Conflict(
                        _("The ticket is already the call %(number)s.") % {"number": call.number},
                        code="hotline.already_a_call",
                    )
                call_services.call_transition(
                    actor=_on_behalf(actor, call.caller), call=call, action="submit"
                )
                locked.disposition = Disposition.DISPATCHED
                locked.save(update_fields=["disposition", "updated_at"])
            return call
        place = township or locked.location or locked.township
        if place is None:
            raise InvalidInput(
                _("Choose the township: the ticket's place is not known."),
                code="hotline.township_required",
            )
        county = Region.objects.only("path").get(pk=locked.county_id)
        if not place.path.startswith(county.path) or place.level not in (
            RegionLevel.TOWNSHIP,
            RegionLevel.VILLAGE,
        ):
            raise InvalidInput(
                _("Choose a township of the county."), code="hotline.township_required"
            )
        town = place if place.level == RegionLevel.TOWNSHIP else place.parent
        assert town is not None
        org = township_organisation(town)
        on_behalf = _on_behalf(actor, org)
        try:
            call, _created = call_services.call_create(
                actor=on_behalf,
                caller=org,
                draft=_draft(locked, place),
                idempotency_key=_idempotency_key(locked),
            )
            if dispatch and call.state == State.DRAFT:
                call_services.call_transition(actor=on_behalf, call=call, action="submit")
        except IntegrityError:  # pragma: no cover - a unique call per ticket
            raise Conflict(
                _("The ticket already has a call."), code="hotline.already_a_call"
            ) from None
        locked.call = call
        locked.township = town
        locked.location = place
        locked.disposition = Disposition.DISPATCHED if dispatch else Disposition.CALL
        locked.save(update_fields=["call", "township", "location", "disposition", "updated_at"])
    ticket.refresh_from_db()
    return call
