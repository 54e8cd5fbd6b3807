"""Evidence photos of calls (docs/workflow.md, "Evidence (photos)").

A photo is checked before anything is written: its size, that its bytes really are an
image of an accepted type (sniffed from the magic bytes, never trusted from the upload),
and that the declared content type and the file name's extension do not say otherwise.
It is stored under a generated name (`models.attachment_upload_to`) with its SHA-256.

`attachments_cleanup` deletes the files under `calls/` that no `Attachment` references
(an upload whose action was refused or rolled back after the file was written) once they
are older than a grace period, so that a file whose row is not committed yet is never
removed (`manage.py attachments_cleanup`, and daily from the worker).
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db.models import FileField
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import InvalidInput, NotFound

from .models import Attachment, Call, CallEvent

logger = logging.getLogger(__name__)

MAX_PER_EVENT = 9
# The actions whose forms take photos (and a new call).
PHOTO_ACTIONS = ("submit", "respond", "complete")

_EXTENSIONS = {
    "image/jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "image/png": {"png"},
    "image/webp": {"webp"},
    "image/gif": {"gif"},
}
_DECLARED_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
_UNDECLARED = {"", "application/octet-stream"}


def sniff(head: bytes) -> str | None:
    """The image type of these first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def clean_name(name: str | None) -> str:
    """The user's file name as shown: no directories, no control characters, ≤ 120."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    return base.strip()[:120]


def _read_head(upload: UploadedFile) -> bytes:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return head


def attachment_check(upload: UploadedFile) -> str:
    """Check one photo; return its sniffed content type or raise a coded `InvalidInput`."""
    limit = int(settings.XH_ATTACHMENT_MAX_BYTES)
    if (upload.size or 0) > limit:
        raise InvalidInput(
            _("The photo is too large (at most %(mb)s MB).") % {"mb": round(limit / 1048576, 1)},
            code="call.attachment_too_large",
        )
    sniffed = sniff(_read_head(upload))
    if sniffed is None:
        raise InvalidInput(
            _("The file is not a photo (JPEG, PNG, WebP or GIF)."),
            code="call.attachment_not_image",
        )
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    declared = _DECLARED_ALIASES.get(declared, declared)
    name = clean_name(upload.name)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if (declared not in _UNDECLARED and declared != sniffed) or (
        ext and ext not in _EXTENSIONS[sniffed]
    ):
        raise InvalidInput(
            _("The file lies about its type: its content is not what its name or type say."),
            code="call.attachment_type_mismatch",
        )
    return sniffed


def attachments_check(uploads: Sequence[UploadedFile]) -> None:
    """Check a batch of photos for one event before anything is written."""
    if len(uploads) > MAX_PER_EVENT:
        raise _too_many()
    for upload in uploads:
        attachment_check(upload)


def _too_many() -> InvalidInput:
    return InvalidInput(
        _("At most %(n)s photos can be attached at a time.") % {"n": MAX_PER_EVENT},
        code="call.attachment_too_many",
    )


def _organisation_id(actor: Actor, call: Call, event: CallEvent | None) -> int | None:
    if event is not None and event.actor_org_id is not None:
        return event.actor_org_id
    for grant in actor.grants:
        if grant.organisation_id == call.caller_id:
            return grant.organisation_id
    return actor.grants[0].organisation_id if actor.grants else None


def attachment_save(
    *, actor: Actor, call: Call, upload: UploadedFile, event: CallEvent | None = None
) -> Attachment:
    """Store one photo of `call`, attached with `event`. Call it inside the transaction
    of the action so that a refused photo writes nothing."""
    if not access.can(actor, "view", call):
        raise NotFound()
    if event is not None and event.call_id != call.pk:
        raise InvalidInput(code="call.invalid")
    sniffed = attachment_check(upload)
    if Attachment.objects.filter(call=call, event=event).count() >= MAX_PER_EVENT:
        raise _too_many()
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    attachment = Attachment(
        call=call,
        event=event,
        uploaded_by_id=actor.user_id,
        organisation_id=_organisation_id(actor, call, event),
        original_name=clean_name(upload.name),
        content_type=sniffed,
        size=upload.size or 0,
        sha256=digest.hexdigest(),
    )
    attachment.file.save("photo", upload, save=False)
    attachment.save()
    return attachment


# ---- orphaned files ------------------------------------------------------------------------

#: The folder of the storage that holds the photos (`models.attachment_upload_to`).
ATTACHMENT_ROOT = "calls"
#: A file younger than this is never removed: its row may not be committed yet.
DEFAULT_GRACE = timedelta(hours=24)
# How many names are looked up in one query.
_BATCH = 500


@dataclass(frozen=True)
class OrphanFile:
    name: str  # the storage name, e.g. calls/2024/10/<hex>.jpg
    size: int
    modified: datetime


@dataclass
class CleanupReport:
    """What one cleanup found (and, unless `dry_run`, deleted)."""

    dry_run: bool
    grace: timedelta
    examined: int = 0
    orphans: list[OrphanFile] = field(default_factory=list)
    deleted: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.orphans)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON (the task's return value)."""
        return {
            "dry_run": self.dry_run,
            "grace_seconds": int(self.grace.total_seconds()),
            "examined": self.examined,
            "orphans": [o.name for o in self.orphans],
            "bytes": self.bytes,
            "deleted": self.deleted,
            "errors": list(self.errors),
        }


def _storage() -> Storage:
    file_field = Attachment._meta.get_field("file")
    assert isinstance(file_field, FileField)
    return file_field.storage


def _files(storage: Storage, folder: str) -> Iterator[str]:
    """Every file name under `folder` of the storage, depth first."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}"
    for sub in sorted(folders):
        yield from _files(storage, f"{folder}/{sub}")


def _old_files(
    storage: Storage, *, before: datetime, report: CleanupReport
) -> Iterator[OrphanFile]:
    for name in _files(storage, ATTACHMENT_ROOT):
        report.examined += 1
        try:
            modified = storage.get_modified_time(name)
            if modified < before:
                yield OrphanFile(name=name, size=storage.size(name), modified=modified)
        except OSError as exc:  # vanished meanwhile, unreadable: never stops the rest
            report.errors.append(f"{name}: {type(exc).__name__}")


def attachments_cleanup(
    *, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None, dry_run: bool = False
) -> CleanupReport:
    """Delete the files under `calls/` that no attachment references and that were last
    modified more than `grace` before `now` (default: the current time); with `dry_run`,
    only list them. Names are looked up in batches of old files, so the cost follows the
    files on disk, not the rows in the table."""
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    now = now or timezone.now()
    storage = _storage()
    report = CleanupReport(dry_run=dry_run, grace=grace)
    batch: list[OrphanFile] = []

    def flush() -> None:
        referenced = set(
            Attachment.objects.filter(file__in=[o.name for o in batch]).values_list(
                "file", flat=True
            )
        )
        for orphan in batch:
            if orphan.name in referenced:
                continue
            report.orphans.append(orphan)
            if dry_run:
                continue
            try:
                storage.delete(orphan.name)
            except OSError as exc:
                report.errors.append(f"{orphan.name}: {type(exc).__name__}")
            else:
                report.deleted += 1
        batch.clear()

    for old in _old_files(storage, before=now - grace, report=report):
        batch.append(old)
        if len(batch) >= _BATCH:
            flush()
    if batch:
        flush()
    if report.deleted or report.errors:
        logger.info(
            "attachments cleanup: %s orphaned files deleted (%s bytes), %s errors",
            report.deleted,
            report.bytes,
            len(report.errors),
        )
    return report
