"""Hotline pages: import with mapping and progress, the ticket list, tickets into calls,
access and masking, the status export and the JSON updates."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import World
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.core.errors import Conflict, InvalidInput, NotFound
from xianghu.integrations.hotline import selectors, services
from xianghu.integrations.hotline.models import (
    Disposition,
    ImportRun,
    ImportSource,
    RunStatus,
    Ticket,
)
from xianghu.regions.selectors import actor_for_user

HEAD = ["工单编号", "来电时间", "来电人", "来电号码", "诉求类型", "诉求内容", "事发地址"]


def upload(
    rows: list[list[str]], encoding: str = "gbk", name: str = "tickets.csv"
) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEAD)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def ticket_row(number: str, address: str = "清河县王庄镇兴隆街5号") -> list[str]:
    return [
        number,
        "2025-03-01 08:30",
        "张三丰",
        "13812345678",
        "投诉",
        f"路灯不亮 {number}",
        address,
    ]


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def make_ticket(world: World, number: str = "T1", **kw: Any) -> Ticket:
    values: dict[str, Any] = {
        "county": world.county,
        "number": number,
        "content": "王庄镇兴隆街路灯不亮，夜间出行不便",
        "caller_name": "张三丰",
        "caller_phone": "13812345678",
        "township": world.t1,
        "location": world.t1,
        "address": "王庄镇兴隆街",
    }
    values.update(kw)
    return Ticket.objects.create(**values)


def test_upload_map_import_and_progress(
    client: Client, world: World, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    world.login(client, "operator")
    response = client.post(
        reverse("integrations:hotline_import"),
        {
            "new_source": "市12345",
            "file": upload([ticket_row("W1"), ticket_row("W2"), ticket_row("W1")]),
        },
    )
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/import/{run.pk}/")
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="mapping-form"' in html
    assert '<option value="工单编号" selected>' in html
    mapping = {
        f"map_{k}": v
        for k, v in {
            "number": "工单编号",
            "content": "诉求内容",
            "received_at": "来电时间",
            "caller_phone": "来电号码",
            "address": "事发地址",
            "type": "诉求类型",
            "caller_name": "来电人",
        }.items()
    }
    with django_capture_on_commit_callbacks(execute=False) as hooks:
        response = client.post(response["Location"], mapping)
    assert response.status_code == 302
    assert hooks == []  # the task was enqueued in the request's transaction
    run.refresh_from_db()
    # The immediate task backend of the tests has run the import already.
    assert run.status == RunStatus.DONE
    assert (run.inserted, run.failed) == (2, 1)
    assert ImportSource.objects.get(name="市12345").mapping["number"] == "工单编号"
    progress = client.get(reverse("integrations:hotline_progress", args=[run.pk])).content.decode()
    assert 'data-status="done"' in progress
    assert "hx-trigger" not in progress
    assert "hotline.duplicate_in_file" in progress
    report = client.get(reverse("integrations:hotline_errors", args=[run.pk]))
    assert report.status_code == 200
    assert "W1" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert not Path(run.file_path).exists()  # the upload is removed once imported


MAPPING = {"number": "工单编号", "content": "诉求内容", "address": "事发地址"}


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_a_started_run_and_its_task_commit_together_and_start_once(
    world: World, media: Path
) -> None:
    """On the database task backend the task row is written in the start's transaction
    (a crash after the commit leaves no run queued without its task); a second start of
    the same run is refused and queues nothing."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    actor = actor_for_user(user=world.users["operator"])
    source = services.source_ensure(actor=None, county=world.county, name="12345")
    data = upload([ticket_row("S1")]).read()
    run = services.run_create(actor=actor, source=source, file_name="t.csv", chunks=[data])
    assert run.status == RunStatus.PENDING
    stale = ImportRun.objects.get(pk=run.pk)  # a second page open on the same run
    try:
        with transaction.atomic():
            services.run_start(actor=actor, run=run, mapping=MAPPING)
            [task] = DBTaskResult.objects.filter(task_path__endswith="hotline_import")
            assert task.args_kwargs["args"] == [run.pk]
            raise RuntimeError("the request fails after the start")
    except RuntimeError:
        pass
    # Rolled back together: neither a queued run nor its task.
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING
    assert not DBTaskResult.objects.exists()
    services.run_start(actor=actor, run=run, mapping=MAPPING)
    with pytest.raises(Conflict) as exc:
        services.run_start(actor=actor, run=stale, mapping=MAPPING)
    assert exc.value.code == "hotline.run_started"
    assert DBTaskResult.objects.count() == 1
    assert ImportRun.objects.get(pk=run.pk).status == RunStatus.QUEUED


def test_running_progress_polls(client: Client, world: World) -> None:
    source = services.source_ensure(actor=None, county=world.county, name="12345")
    run = ImportRun.objects.create(
        source=source, file_name="x.csv", status=RunStatus.RUNNING, file_size=1000, bytes_read=250
    )
    world.login(client, "operator")
    html = client.get(reverse("integrations:hotline_progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'value="25"' in html


def test_list_masks_the_caller_and_filters(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        make_ticket(world, f"L{i}")
    make_ticket(world, "OTHER", county=world.other_county, township=None, location=None)
    world.login(client, "operator")
    with django_assert_max_num_queries(12):
        html = client.get(reverse("integrations:hotline_list")).content.decode()
    assert html.count('data-testid="ticket-row"') == 5
    assert "138****5678" in html
    assert "13812345678" not in html
    assert "张*丰" in html
    assert "OTHER" not in html
    html = client.get(reverse("integrations:hotline_list"), {"q": "L3"}).content.decode()
    assert html.count('data-testid="ticket-row"') == 1


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        ("operator", True),
        ("admin", True),
        ("assessor", True),
        ("reporter", False),  # not handed to the township yet
        ("handler", False),
        ("operator_b", False),
        ("volunteer", False),
        ("citizen", False),
        ("nomember", False),
    ],
)
def test_who_sees_a_ticket(client: Client, world: World, user: str, sees: bool) -> None:
    ticket = make_ticket(world)
    world.login(client, user)
    response = client.get(reverse("integrations:hotline_detail", args=[ticket.pk]))
    assert response.status_code == (200 if sees else 404)
    actor = actor_for_user(user=world.users[user])
    assert selectors.tickets_visible(actor=actor).filter(pk=ticket.pk).exists() is sees


@pytest.mark.parametrize("user", ["reporter", "assessor", "citizen", "handler", "operator_b"])
def test_only_the_platform_imports_and_converts(client: Client, world: World, user: str) -> None:
    ticket = make_ticket(world)
    world.login(client, user)
    if user != "operator_b":  # who imports into their own county
        assert client.get(reverse("integrations:hotline_import")).status_code == 404
    response = client.post(
        reverse("integrations:hotline_to_call", args=[ticket.pk]), {"mode": "call"}
    )
    assert response.status_code in (403, 404)
    if user != "operator_b":
        assert client.get(reverse("integrations:hotline_export", args=["csv"])).status_code == 404
    ticket.refresh_from_db()
    assert ticket.call_id is None


def test_ticket_into_a_draft_call_keeps_the_link(client: Client, world: World) -> None:
    ticket = make_ticket(world)
    world.login(client, "operator")
    response = client.post(
        reverse("integrations:hotline_to_call", args=[ticket.pk]), {"mode": "call"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    call = ticket.call
    assert call is not None
    assert ticket.disposition == Disposition.CALL
    assert call.state == State.DRAFT
    assert call.caller == world.orgs["t1"]
    assert call.created_by_id == world.users["operator"].pk
    assert ticket.number in call.description
    assert "13812345678" not in call.description
    # Again: the same call, never a second.
    client.post(reverse("integrations:hotline_to_call", args=[ticket.pk]), {"mode": "call"})
    assert Call.objects.count() == 1
    # The township now sees the ticket; its staff submit the draft as usual.
    world.login(client, "reporter")
    assert client.get(reverse("integrations:hotline_detail", args=[ticket.pk])).status_code == 200
    # Dispatching a draft that was made from the ticket submits it.
    world.login(client, "operator")
    client.post(reverse("integrations:hotline_to_call", args=[ticket.pk]), {"mode": "dispatch"})
    call.refresh_from_db()
    ticket.refresh_from_db()
    assert call.state == State.SUBMITTED
    assert ticket.disposition == Disposition.DISPATCHED


def test_dispatch_straight_to_a_chosen_township(world: World) -> None:
    ticket = make_ticket(world, township=None, location=None)
    actor = actor_for_user(user=world.users["operator"])
    with pytest.raises(InvalidInput) as refused:
        services.ticket_to_call(actor=actor, ticket=ticket)
    assert refused.value.code == "hotline.township_required"
    call = services.ticket_to_call(actor=actor, ticket=ticket, dispatch=True, township=world.t2)
    assert call.state == State.SUBMITTED
    assert call.caller == world.orgs["t2"]
    ticket.refresh_from_db()
    assert ticket.township == world.t2
    assert ticket.disposition == Disposition.DISPATCHED
    again = services.ticket_to_call(actor=actor, ticket=ticket, dispatch=True)
    assert again.pk == call.pk
    assert Call.objects.count() == 1


def test_another_countys_operator_cannot_convert(world: World) -> None:
    ticket = make_ticket(world)
    with pytest.raises(NotFound):
        services.ticket_to_call(actor=actor_for_user(user=world.users["operator_b"]), ticket=ticket)


def test_status_export_and_updates_api(client: Client, world: World) -> None:
    handled = make_ticket(world, "S1")
    make_ticket(world, "S2")
    services.ticket_to_call(actor=actor_for_user(user=world.users["operator"]), ticket=handled)
    world.login(client, "operator")
    response = client.get(reverse("integrations:hotline_export", args=["csv"]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("number,disposition,call_number,call_state")
    assert len(lines) == 2
    assert lines[1].startswith("S1,call,")
    assert "138****5678" in lines[1]
    assert "13812345678" not in text
    xlsx = client.get(reverse("integrations:hotline_export", args=["xlsx"]))
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    data = client.get("/api/v1/integrations/hotline/updates").json()
    assert [d["number"] for d in data] == ["S1"]
    assert data[0]["call_state"] == "draft"
    assert data[0]["caller_phone"] == "138****5678"
    everything = client.get("/api/v1/integrations/hotline/updates?all=true").json()
    assert sorted(d["number"] for d in everything) == ["S1", "S2"]
    world.login(client, "reporter")
    assert client.get("/api/v1/integrations/hotline/updates").status_code == 403


def test_call_events_are_pushed_back_as_ticket_status(
    world: World, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from xianghu.notify import services as notify_services
    from xianghu.notify.models import Webhook, WebhookDelivery

    monkeypatch.setattr(notify_services, "_enqueue_delivery", lambda *a, **k: None)
    Webhook.objects.create(
        organisation=world.orgs["platform"],
        url="https://hotline.example/status",
        secret="x",
        events=["hotline.ticket_status"],
    )
    ticket = make_ticket(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_to_call(
            actor=actor_for_user(user=world.users["operator"]), ticket=ticket, dispatch=True
        )
    deliveries = list(WebhookDelivery.objects.filter(event="hotline.ticket_status"))
    assert len(deliveries) == 2  # create and submit
    payload = deliveries[-1].payload
    assert payload["number"] == "T1"
    assert payload["caller_phone"] == "138****5678"
    assert payload["call_state"] in ("draft", "submitted")
