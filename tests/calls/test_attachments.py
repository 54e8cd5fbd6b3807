"""Evidence photos: upload with a new call or an action, checks, storage and download."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from xianghu.calls.models import Attachment, Call, CallEvent

pytestmark = pytest.mark.django_db


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bytes() -> bytes:
    """A valid 1×1 grey PNG, written by hand."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def jpeg() -> SimpleUploadedFile:
    return SimpleUploadedFile("ok.jpg", JPEG, content_type="image/jpeg")


def png(name: str = "现场.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type=content_type)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def new_call_form(world, client, lists, photos):
    world.login(client, "reporter")
    page = client.get("/calls/new/")
    form = page.context["form"]
    data = {
        "title": "河道垃圾堆积",
        "description": "王庄镇1村河道垃圾堆积。",
        "location": str(world.t1.pk),
        "urgency": "normal",
        "item": "",
        "idempotency_key": form.initial["idempotency_key"],
        "photos": photos,
    }
    return client.post("/calls/new/", data)


def test_a_photo_filed_with_a_new_call_is_stored_outside_the_web_root(world, client, lists, media):
    r = new_call_form(world, client, lists, [png()])
    assert r.status_code == 302
    call = Call.objects.get()
    photo = Attachment.objects.get()
    assert photo.call == call
    assert photo.event == CallEvent.objects.get(call=call, action="create")
    assert photo.original_name == "现场.png"
    assert photo.content_type == "image/png"
    assert photo.size == len(png_bytes())
    assert len(photo.sha256) == 64
    name = photo.file.name
    assert name.startswith("calls/")
    assert name.endswith(".png")
    assert "现场" not in name
    assert (media / name).read_bytes() == png_bytes()
    assert client.get(f"/media/{name}").status_code == 404
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert f'src="/calls/attachments/{photo.pk}/"' in html


def act_with_photos(world, client, call, action, photos, **fields):
    world.login(client, "reporter" if action == "submit" else "handler")
    data = {f"{action}-expected_state": call.state, "photos": photos}
    data.update({f"{action}-{k}": v for k, v in fields.items()})
    return client.post(f"/calls/{call.pk}/act/{action}/", data)


def dispatched(new_call, act, world):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk)
    return call


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("reporter", 200),
        ("handler", 200),
        ("operator", 200),
        ("reporter_t2", 404),
        ("operator_b", 404),
    ],
)
def test_the_photo_is_served_only_to_those_who_see_the_call(
    world, client, lists, new_call, act, user, status
):
    call = dispatched(new_call, act, world)
    act("handler", call, "sign")
    r = act_with_photos(world, client, call, "respond", [png()], mode="on_site")
    assert r.status_code == 302
    photo = Attachment.objects.get()
    assert photo.event.action == "respond"
    world.login(client, user)
    r = client.get(f"/calls/attachments/{photo.pk}/")
    assert r.status_code == status
    if status == 200:
        assert r["Content-Type"] == "image/png"
        assert r["X-Content-Type-Options"] == "nosniff"
        generated = photo.file.name.rsplit("/", 1)[-1]
        assert r["Content-Disposition"] == f'inline; filename="{generated}"'
        assert b"".join(r.streaming_content) == png_bytes()


def test_a_jpeg_is_served_as_a_jpeg(world, client, lists, new_call):
    call = new_call()
    upload = SimpleUploadedFile("x.jpeg", JPEG, content_type="image/jpeg")
    r = act_with_photos(world, client, call, "submit", [upload])
    assert r.status_code == 302
    photo = Attachment.objects.get()
    assert photo.file.name.endswith(".jpg")
    assert client.get(f"/calls/attachments/{photo.pk}/")["Content-Type"] == "image/jpeg"


REFUSED = {
    "too_large": (lambda: png(), "call.attachment_too_large"),
    "text_named_jpg": (
        lambda: SimpleUploadedFile("a.jpg", b"just some text", content_type="image/jpeg"),
        "call.attachment_not_image",
    ),
    "png_declared_jpeg": (lambda: png("a.png", "image/jpeg"), "call.attachment_type_mismatch"),
    "png_named_jpg": (lambda: png("a.jpg", "image/png"), "call.attachment_type_mismatch"),
    "pdf": (
        lambda: SimpleUploadedFile(
            "a.pdf", b"%PDF-1.4\n%\xe2\xe3\n", content_type="application/pdf"
        ),
        "call.attachment_not_image",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_photo_writes_nothing_not_even_the_event(
    world, client, lists, new_call, settings, media, case
):
    make, code = REFUSED[case]
    if case == "too_large":
        settings.XH_ATTACHMENT_MAX_BYTES = 50
    call = new_call()
    events = CallEvent.objects.filter(call=call).count()
    r = act_with_photos(world, client, call, "submit", [jpeg(), make()])
    assert r.status_code == 400
    assert code.startswith("call.attachment_")
    assert [f for f in r.context["forms"] if f.non_field_errors()]
    call.refresh_from_db()
    assert call.state == "draft"
    assert CallEvent.objects.filter(call=call).count() == events
    assert not Attachment.objects.exists()
    assert not list(media.rglob("*.*"))


@pytest.mark.parametrize("case", REFUSED)
def test_the_service_refuses_with_its_code(world, new_call, settings, case):
    from xianghu.calls.attachments import attachment_save
    from xianghu.core.errors import InvalidInput
    from xianghu.regions.selectors import actor_for_user

    make, code = REFUSED[case]
    if case == "too_large":
        settings.XH_ATTACHMENT_MAX_BYTES = 50
    upload = make()
    call = new_call()
    with pytest.raises(InvalidInput) as exc:
        attachment_save(
            actor=actor_for_user(user=world.users["reporter"]), call=call, upload=upload
        )
    assert exc.value.code == code
    assert not Attachment.objects.exists()


def test_a_refused_photo_on_a_new_call_creates_no_call(world, client, lists):
    bad = SimpleUploadedFile("a.jpg", b"not an image", content_type="image/jpeg")
    r = new_call_form(world, client, lists, [bad])
    assert r.status_code == 400
    assert not Call.objects.exists()
    assert not Attachment.objects.exists()


def test_more_than_nine_photos_are_refused(world, client, lists, new_call, media):
    call = new_call()
    r = act_with_photos(world, client, call, "submit", [png(f"{i}.png") for i in range(10)])
    assert r.status_code == 400
    assert not Attachment.objects.exists()
    call.refresh_from_db()
    assert call.state == "draft"
    r = act_with_photos(world, client, call, "submit", [png(f"{i}.png") for i in range(9)])
    assert r.status_code == 302
    assert Attachment.objects.count() == 9


def test_the_service_refuses_a_tenth_photo_on_one_event(world, new_call):
    from xianghu.calls.attachments import attachment_save
    from xianghu.core.errors import InvalidInput
    from xianghu.regions.selectors import actor_for_user

    call = new_call()
    actor = actor_for_user(user=world.users["reporter"])
    event = CallEvent.objects.get(call=call)
    for i in range(9):
        attachment_save(actor=actor, call=call, upload=png(f"{i}.png"), event=event)
    with pytest.raises(InvalidInput) as exc:
        attachment_save(actor=actor, call=call, upload=png(), event=event)
    assert exc.value.code == "call.attachment_too_many"


def test_someone_who_cannot_see_the_call_cannot_attach(world, new_call):
    from xianghu.calls.attachments import attachment_save
    from xianghu.core.errors import NotFound
    from xianghu.regions.selectors import actor_for_user

    call = new_call()
    with pytest.raises(NotFound):
        attachment_save(
            actor=actor_for_user(user=world.users["reporter_t2"]), call=call, upload=png()
        )
