"""Orphaned photo files: found under MEDIA_ROOT/calls/ with real files, deleted only when
no attachment references them and they are older than the grace period."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.calls.conftest import as_
from tests.calls.test_attachments import png
from xianghu.calls.attachments import attachment_save, attachments_cleanup
from xianghu.calls.tasks import attachments_cleanup as cleanup_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def age(path: Path, hours: float) -> Path:
    """Set the file's modification time `hours` into the past."""
    moment = (timezone.now() - timedelta(hours=hours)).timestamp()
    os.utime(path, (moment, moment))
    return path


def orphan(media: Path, name: str, hours: float, data: bytes = b"x" * 10) -> Path:
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return age(path, hours)


@pytest.fixture
def files(world, new_call, media):
    """Two referenced photos (one old), two old orphans in two months, a fresh orphan,
    and a file outside calls/."""
    call = new_call()
    kept_old = attachment_save(actor=as_(world, "reporter"), call=call, upload=png())
    kept_new = attachment_save(actor=as_(world, "reporter"), call=call, upload=png())
    age(media / kept_old.file.name, 24 * 30)
    return {
        "kept_old": media / kept_old.file.name,
        "kept_new": media / kept_new.file.name,
        "old": orphan(media, "calls/2025/02/aaaa.jpg", 48),
        "older": orphan(media, "calls/2024/12/bbbb.png", 24 * 60, b"y" * 25),
        "fresh": orphan(media, "calls/2025/03/cccc.jpg", 2),
        "elsewhere": orphan(media, "exports/report.xlsx", 24 * 90),
    }


def test_only_old_unreferenced_files_are_deleted(files):
    report = attachments_cleanup()
    assert sorted(o.name for o in report.orphans) == [
        "calls/2024/12/bbbb.png",
        "calls/2025/02/aaaa.jpg",
    ]
    assert (report.deleted, report.bytes, report.examined, report.errors) == (2, 35, 5, [])
    assert not files["old"].exists()
    assert not files["older"].exists()
    for kept in ("kept_old", "kept_new", "fresh", "elsewhere"):
        assert files[kept].exists(), kept
    # Nothing is left to do.
    again = attachments_cleanup()
    assert (again.orphans, again.deleted) == ([], 0)


def test_a_dry_run_lists_and_deletes_nothing(files):
    report = attachments_cleanup(dry_run=True)
    assert len(report.orphans) == 2
    assert report.deleted == 0
    assert all(path.exists() for path in files.values())


def test_the_grace_period(files):
    # An hour of grace: the 2-hour-old orphan goes too.
    report = attachments_cleanup(grace=timedelta(hours=1))
    assert report.deleted == 3
    assert not files["fresh"].exists()
    with pytest.raises(ValueError, match="grace period"):
        attachments_cleanup(grace=timedelta(hours=-1))


def test_without_a_calls_folder_there_is_nothing_to_do(media):
    report = attachments_cleanup()
    assert (report.examined, report.orphans, report.errors) == (0, [], [])


def test_the_command(files):
    out = io.StringIO()
    call_command("attachments_cleanup", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "calls/2025/02/aaaa.jpg" in text
    assert "calls/2024/12/bbbb.png" in text
    assert files["old"].exists()
    out = io.StringIO()
    call_command("attachments_cleanup", "--grace-hours", "72", stdout=out)
    assert "calls/2024/12/bbbb.png" in out.getvalue()
    assert "calls/2025/02/aaaa.jpg" not in out.getvalue()
    assert not files["older"].exists()
    assert files["old"].exists()
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(CommandError):
            call_command("attachments_cleanup", "--grace-hours", bad)


def test_the_task(files):
    result = cleanup_task.call()
    assert sorted(result["orphans"]) == ["calls/2024/12/bbbb.png", "calls/2025/02/aaaa.jpg"]
    assert result["deleted"] == 2
    assert result["grace_seconds"] == 24 * 3600


def test_names_are_looked_up_in_batches(files, monkeypatch, django_assert_num_queries):
    from xianghu.calls import attachments

    monkeypatch.setattr(attachments, "_BATCH", 1)
    # Three old files under calls/ (one referenced): one lookup each.
    with django_assert_num_queries(3):
        report = attachments_cleanup()
    assert report.deleted == 2
    assert files["kept_old"].exists()
