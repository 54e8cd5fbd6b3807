"""Evidence photos through the calls API: multipart creation and actions, the same checks
as the web pages with coded errors, download with the call's access rule, and the
address that is refused rather than cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.calls.test_api import API, ERROR_KEYS, act, body, ok, post, refused, session
from tests.calls.test_attachments import JPEG, jpeg, png, png_bytes
from xianghu.accounts.services import apikey_create
from xianghu.calls import services
from xianghu.calls.models import Attachment, Call, CallEvent
from xianghu.core.errors import InvalidInput


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def multipart(client: Client, path: str, payload: dict | None, photos=(), **parts):
    """POST `payload` as the JSON part and `photos` as files, as a phone app would."""
    data: dict = {**parts}
    if payload is not None:
        data["payload"] = json.dumps(payload)
    if photos:
        data["photos"] = list(photos)
    return client.post(f"{API}{path}", data)


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()]


def download(client: Client, url: str):
    response = client.get(url)
    content = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, content


def to_signed(world, lists) -> int:
    """A call of 王庄镇 on D1-01, dispatched to 应急管理局 and signed for (through the API)."""
    reporter = session(world, "reporter")
    cid = ok(post(reporter, "/", body(world, lists)), 201)["id"]
    ok(act(reporter, cid, "submit"))
    ok(act(session(world, "tleader"), cid, "approve"))
    operator = session(world, "operator")
    ok(act(operator, cid, "accept"))
    ok(act(operator, cid, "dispatch", lead=world.orgs["dept"].pk))
    ok(act(session(world, "handler"), cid, "sign"))
    return cid


# ---- creating a call with photos ------------------------------------------------------------


def test_a_call_is_created_with_photos_and_a_retry_adds_none(world, lists, media):
    reporter = session(world, "reporter")
    request = body(world, lists, idempotency_key="phone-1")
    r = multipart(reporter, "/", request, [png(), jpeg()])
    call = ok(r, 201)
    assert (call["state"], call["item_code"]) == ("draft", "D1-01")
    [created] = ok(reporter.get(f"{API}/{call['id']}/events"))
    assert created["action"] == "create"
    photos = created["photos"]
    assert [(p["name"], p["content_type"]) for p in photos] == [
        ("现场.png", "image/png"),
        ("ok.jpg", "image/jpeg"),
    ]
    assert photos[0]["size"] == len(png_bytes())
    assert len(photos[0]["sha256"]) == 64
    first = Attachment.objects.get(pk=photos[0]["id"])
    assert first.event.action == "create"
    assert first.uploaded_by == world.users["reporter"]
    assert photos[0]["url"] == f"{API}/{call['id']}/attachments/{first.pk}"
    # Stored outside the web root under a generated name.
    assert "现场" not in first.file.name
    assert (media / first.file.name).read_bytes() == png_bytes()

    response, content = download(reporter, photos[0]["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert content == png_bytes()
    response, content = download(reporter, photos[1]["url"])
    assert (response["Content-Type"], content) == ("image/jpeg", JPEG)

    # The retry of the same request (same key) answers with the same call, attaching
    # nothing more.
    again = ok(multipart(reporter, "/", request, [png(), jpeg()]), 200)
    assert again["id"] == call["id"]
    assert Attachment.objects.count() == 2
    assert len(stored_files(media)) == 2
    assert Call.objects.count() == 1


def test_a_system_files_a_call_with_photos_using_its_api_key(world, lists):
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="网格平台"
    )
    system = Client(enforce_csrf_checks=True, HTTP_X_API_KEY=plain)
    r = multipart(
        system,
        "/",
        body(world, lists),
        [png()],
    )
    cid = ok(r, 201)["id"]
    [photo] = Attachment.objects.filter(call_id=cid)
    assert photo.uploaded_by is None
    assert photo.organisation == world.orgs["t1"]
    response, content = download(system, f"{API}/{cid}/attachments/{photo.pk}")
    assert (response.status_code, content) == (200, png_bytes())


def test_a_refused_photo_creates_no_call(world, lists, media):
    reporter = session(world, "reporter")
    bad = SimpleUploadedFile("a.jpg", b"not an image at all", content_type="image/jpeg")
    error = refused(
        multipart(reporter, "/", body(world, lists), [png(), bad]), 400, "call.attachment_not_image"
    )
    assert "JPEG" in error["message"]
    assert not Call.objects.exists()
    assert not Attachment.objects.exists()
    assert not stored_files(media)


def test_multipart_payload_is_validated_like_json(world, lists):
    reporter = session(world, "reporter")
    # No payload part: the body is missing.
    error = refused(multipart(reporter, "/", None, [png()]), 422, "invalid_input")
    assert error["detail"]
    # The payload's shape: the same 422 as a JSON body, naming the fields.
    r = multipart(reporter, "/", {"caller_id": world.orgs["t1"].pk, "urgency": "x"}, [png()])
    error = refused(r, 422, "invalid_input")
    assert {e["loc"][-1] for e in error["detail"]} >= {"title", "description", "urgency"}
    # Not JSON at all.
    r = reporter.post(f"{API}/", {"payload": "{title: 1", "photos": [png()]})
    refused(r, 400, "bad_request")
    # A file in another part is refused, not silently dropped.
    r = multipart(reporter, "/", body(world, lists), photo=png())
    error = refused(r, 400, "call.invalid")
    assert [p["field"] for p in error["detail"]] == ["photo"]
    # The payload may also come as a file part (some clients send JSON that way).
    payload = SimpleUploadedFile(
        "payload.json",
        json.dumps(body(world, lists)).encode(),
        content_type="application/json",
    )
    ok(reporter.post(f"{API}/", {"payload": payload, "photos": [png()]}), 201)
    assert Attachment.objects.count() == 1
    assert Call.objects.count() == 1


# ---- photos with actions --------------------------------------------------------------------


def test_the_department_responds_and_completes_with_photos(world, lists):
    cid = to_signed(world, lists)
    handler = session(world, "handler")
    payload = {"data": {"mode": "on_site"}, "expected_state": "signed"}
    step = ok(multipart(handler, f"/{cid}/actions/respond", payload, [png("现场1.png")]))
    assert (step["call"]["state"], step["event"]["action"]) == ("in_progress", "respond")
    [photo] = step["event"]["photos"]
    assert photo["name"] == "现场1.png"
    respond = CallEvent.objects.get(call_id=cid, action="respond")
    assert Attachment.objects.get(pk=photo["id"]).event == respond
    assert respond.data["mode"] == "on_site"

    payload = {"data": {"result": "已清理易燃物品，整改到位。"}}
    step = ok(multipart(handler, f"/{cid}/actions/complete", payload, [png("整改.png"), jpeg()]))
    assert step["call"]["state"] == "awaiting_evaluation"
    assert [p["name"] for p in step["event"]["photos"]] == ["整改.png", "ok.jpg"]

    # The caller sees every photo in the timeline and may download them.
    reporter = session(world, "reporter")
    events = ok(reporter.get(f"{API}/{cid}/events"))
    by_action = {e["action"]: [p["name"] for p in e["photos"]] for e in events}
    assert by_action["respond"] == ["现场1.png"]
    assert by_action["complete"] == ["整改.png", "ok.jpg"]
    assert by_action["sign"] == []
    url = events[-1]["photos"][0]["url"]
    response, content = download(reporter, url)
    assert (response.status_code, content) == (200, png_bytes())


def test_a_step_that_needs_evidence_is_refused_without_a_photo(world, lists, settings):
    settings.XH_EVIDENCE_REQUIRED = ("respond:on_site", "complete")
    cid = to_signed(world, lists)
    handler = session(world, "handler")
    for r in (
        act(handler, cid, "respond", mode="on_site"),
        multipart(handler, f"/{cid}/actions/respond", {"data": {"mode": "on_site"}}),
    ):
        error = refused(r, 400, "call.evidence_required")
        assert error["detail"][0]["field"] == "photos"
    assert Call.objects.get(pk=cid).state == "signed"
    assert not CallEvent.objects.filter(call_id=cid, action="respond").exists()
    ok(multipart(handler, f"/{cid}/actions/respond", {"data": {"mode": "on_site"}}, [png()]))


def test_a_multipart_action_without_photos_is_a_plain_action(world, lists):
    cid = to_signed(world, lists)
    handler = session(world, "handler")
    step = ok(multipart(handler, f"/{cid}/actions/respond", {"data": {"mode": "contact"}}))
    assert step["event"]["photos"] == []
    assert not Attachment.objects.exists()


REFUSED = {
    "too_large": (lambda: png(), "call.attachment_too_large"),
    "not_an_image": (
        lambda: SimpleUploadedFile("scene.png", b"%PDF-1.4\n%\xe2\xe3\n", content_type="image/png"),
        "call.attachment_not_image",
    ),
    "declared_jpeg_is_png": (lambda: png("a.png", "image/jpeg"), "call.attachment_type_mismatch"),
    "named_jpg_is_png": (lambda: png("a.jpg", "image/png"), "call.attachment_type_mismatch"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_photo_writes_nothing_not_even_the_action(world, lists, settings, media, case):
    make, code = REFUSED[case]
    if case == "too_large":
        settings.XH_ATTACHMENT_MAX_BYTES = 50
    cid = to_signed(world, lists)
    events = CallEvent.objects.filter(call_id=cid).count()
    handler = session(world, "handler")
    payload = {"data": {"mode": "on_site"}}
    r = multipart(handler, f"/{cid}/actions/respond", payload, [jpeg(), make()])
    error = refused(r, 400, code)
    assert set(error) == ERROR_KEYS
    assert Call.objects.get(pk=cid).state == "signed"
    assert CallEvent.objects.filter(call_id=cid).count() == events
    assert not Attachment.objects.exists()
    assert not stored_files(media)


def test_too_many_photos_are_refused(world, lists, media):
    cid = to_signed(world, lists)
    handler = session(world, "handler")
    photos = [png(f"{i}.png") for i in range(10)]
    r = multipart(handler, f"/{cid}/actions/respond", {"data": {"mode": "on_site"}}, photos)
    refused(r, 400, "call.attachment_too_many")
    assert Call.objects.get(pk=cid).state == "signed"
    assert not Attachment.objects.exists()
    photos = [png(f"{i}.png") for i in range(9)]
    ok(multipart(handler, f"/{cid}/actions/respond", {"data": {"mode": "on_site"}}, photos))
    assert Attachment.objects.count() == 9


def test_a_flood_of_files_is_a_coded_refusal_not_an_error(world, lists, settings, monkeypatch):
    """Past Django's own cap on files in one request (checked while parsing, before ours),
    the same code as past ours."""
    from xianghu.calls import attachments

    monkeypatch.setattr(attachments, "MAX_PER_EVENT", 50)  # ours would let 13 through
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 12
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="网格平台"
    )
    system = Client(HTTP_X_API_KEY=plain)
    photos = [png(f"{i}.png") for i in range(13)]
    refused(multipart(system, "/", body(world, lists), photos), 400, "call.attachment_too_many")
    assert not Call.objects.exists()
    assert not Attachment.objects.exists()


def test_an_action_that_takes_no_photos_refuses_them(world, lists):
    reporter = session(world, "reporter")
    cid = ok(post(reporter, "/", body(world, lists)), 201)["id"]
    ok(act(reporter, cid, "submit"))
    r = multipart(session(world, "tleader"), f"/{cid}/actions/approve", None, [png()])
    error = refused(r, 400, "call.attachment_not_allowed")
    assert "respond" in error["detail"]["actions"]
    assert Call.objects.get(pk=cid).state == "submitted"
    assert not Attachment.objects.exists()


def test_a_photo_that_fails_while_saving_rolls_the_action_back(world, lists, monkeypatch, media):
    """The action and its photos are one transaction: a failure on the second photo
    leaves neither the event nor the first photo."""
    cid = to_signed(world, lists)
    original = services.attachment_save
    saved: list[int] = []

    def flaky(**kw):
        if saved:
            raise InvalidInput("磁盘已满", code="call.attachment_failed")
        saved.append(original(**kw).pk)

    monkeypatch.setattr(services, "attachment_save", flaky)
    r = multipart(
        session(world, "handler"),
        f"/{cid}/actions/respond",
        {"data": {"mode": "on_site"}},
        [png(), jpeg()],
    )
    refused(r, 400, "call.attachment_failed")
    assert saved  # the first photo was written, then rolled back
    assert not Attachment.objects.exists()
    assert Call.objects.get(pk=cid).state == "signed"
    assert not CallEvent.objects.filter(call_id=cid, action="respond").exists()


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("reporter_t2", 404, "not_found"),  # another township of the county
        ("operator_b", 404, "not_found"),  # another county's platform
        ("operator", 403, "call.not_a_party"),  # sees the call, is not its lead
    ],
)
def test_photos_on_someone_elses_call_are_refused(world, lists, media, who, status, code):
    cid = to_signed(world, lists)
    r = multipart(
        session(world, who), f"/{cid}/actions/respond", {"data": {"mode": "on_site"}}, [png()]
    )
    refused(r, status, code)
    assert Call.objects.get(pk=cid).state == "signed"
    assert not Attachment.objects.exists()
    assert not stored_files(media)


# ---- downloading ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("reporter", 200),  # the calling township
        ("village_reporter", 200),  # a village of the calling township
        ("handler", 200),  # the department it was dispatched to
        ("operator", 200),  # the county's platform
        ("assessor", 200),  # the county's assessors
        ("reporter_t2", 404),  # another township of the county
        ("police_leader", 404),  # a department it was not dispatched to
        ("operator_b", 404),  # another county's platform
        ("reporter_b", 404),
    ],
)
def test_a_photo_is_downloaded_only_by_those_who_see_the_call(world, lists, who, status):
    cid = to_signed(world, lists)
    step = ok(
        multipart(
            session(world, "handler"),
            f"/{cid}/actions/respond",
            {"data": {"mode": "on_site"}},
            [png()],
        )
    )
    url = step["event"]["photos"][0]["url"]
    response, content = download(session(world, who), url)
    assert response.status_code == status
    if status == 200:
        assert content == png_bytes()
        assert response["Cache-Control"] == "private, max-age=3600"
    else:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["code"] == "not_found"
        # Nor can they read the timeline that names the photo.
        refused(session(world, who).get(f"{API}/{cid}/events"), 404, "not_found")


def test_a_photo_is_found_only_under_its_own_call(world, lists):
    reporter = session(world, "reporter")
    with_photo = ok(multipart(reporter, "/", body(world, lists), [png()]), 201)["id"]
    other = ok(post(reporter, "/", body(world, lists)), 201)["id"]
    photo = Attachment.objects.get()
    ok_url = f"{API}/{with_photo}/attachments/{photo.pk}"
    assert download(reporter, ok_url)[0].status_code == 200
    refused(reporter.get(f"{API}/{other}/attachments/{photo.pk}"), 404, "not_found")
    refused(reporter.get(f"{API}/{with_photo}/attachments/{photo.pk + 1000}"), 404, "not_found")
    refused(Client().get(ok_url), 401, "auth.required")
    # A key of another county's township: as if the photo did not exist.
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["tb"], role="township_reporter", name="x"
    )
    refused(Client(HTTP_X_API_KEY=plain).get(ok_url), 404, "not_found")


def test_a_missing_file_is_not_found_rather_than_an_error(world, lists, media):
    reporter = session(world, "reporter")
    cid = ok(multipart(reporter, "/", body(world, lists), [png()]), 201)["id"]
    photo = Attachment.objects.get()
    (media / photo.file.name).unlink()
    refused(reporter.get(f"{API}/{cid}/attachments/{photo.pk}"), 404, "not_found")


def test_the_timeline_with_photos_has_a_fixed_number_of_queries(
    world, lists, django_assert_max_num_queries
):
    cid = to_signed(world, lists)
    handler = session(world, "handler")
    ok(multipart(handler, f"/{cid}/actions/respond", {"data": {"mode": "on_site"}}, [png()]))
    for i in range(3):
        ok(multipart(handler, f"/{cid}/actions/note", {"data": {"text": f"进展{i}"}}))
    ok(
        multipart(
            handler, f"/{cid}/actions/complete", {"data": {"result": "办结"}}, [png(), jpeg()]
        )
    )
    operator = session(world, "operator")
    ok(operator.get(f"{API}/{cid}"))  # the session's first touch
    # the actor and the session; the call; the events with their people; their photos
    with django_assert_max_num_queries(7):
        events = ok(operator.get(f"{API}/{cid}/events"))
    assert sum(len(e["photos"]) for e in events) == 3


# ---- the address --------------------------------------------------------------------------


def test_an_over_long_address_is_refused_not_cut(world, lists):
    reporter = session(world, "reporter")
    error = refused(post(reporter, "/", body(world, address="东" * 201)), 400, "call.invalid")
    assert error["detail"] == [{"field": "address", "message": "最多 200 个字符。"}]
    assert not Call.objects.exists()
    # With other problems: all of them at once.
    r = post(reporter, "/", body(world, address="东" * 300, location_code="999999999"))
    error = refused(r, 400, "call.invalid")
    assert sorted(p["field"] for p in error["detail"]) == ["address", "location"]
    # Surrounding blanks do not count; 200 characters are kept whole.
    address = "王庄镇1村" + "东" * 195
    call = ok(post(reporter, "/", body(world, address=f"  {address}  ")), 201)
    assert call["address"] == address
    assert Call.objects.get().address == address
    # Through multipart the same.
    r = multipart(reporter, "/", body(world, address="东" * 201), [png()])
    refused(r, 400, "call.invalid")
    assert Call.objects.count() == 1


# ---- the schema -----------------------------------------------------------------------------


def _refs(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.add(value)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def test_the_openapi_schema_documents_photos(world, client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path, name in [
        (f"{API}/", "CallIn"),
        (f"{API}/{{call_id}}/actions/{{action}}", "ActionIn"),
    ]:
        content = paths[path]["post"]["requestBody"]["content"]
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{name}"}
        form = content["multipart/form-data"]
        assert form["schema"]["properties"]["payload"]["$ref"] == f"#/components/schemas/{name}"
        photos = form["schema"]["properties"]["photos"]
        assert (photos["type"], photos["items"]["format"], photos["maxItems"]) == (
            "array",
            "binary",
            9,
        )
        assert form["encoding"]["payload"]["contentType"] == "application/json"
    act_doc = paths[f"{API}/{{call_id}}/actions/{{action}}"]["post"]["description"]
    for code in (
        "call.attachment_too_large",
        "call.attachment_not_image",
        "call.attachment_type_mismatch",
        "call.attachment_too_many",
        "call.attachment_not_allowed",
    ):
        assert code in act_doc
    download_op = paths[f"{API}/{{call_id}}/attachments/{{attachment_id}}"]["get"]
    assert set(download_op["responses"]["200"]["content"]) == {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
    }
    assert {"401", "404"} <= set(download_op["responses"])
    components = schema["components"]["schemas"]
    assert components["EventOut"]["properties"]["photos"]["items"] == {
        "$ref": "#/components/schemas/AttachmentOut"
    }
    assert {"id", "name", "content_type", "size", "sha256", "url"} <= set(
        components["AttachmentOut"]["properties"]
    )
    assert "address" in components["CallIn"]["properties"]
    # Every reference resolves.
    for ref in _refs(schema, set()):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[-1] in components, ref
