"""The call list's keyset pages (`selectors.call_page`) and the console's township and item
filters: pages follow each other without gaps or repeats (also among calls made in the
same instant), the previous page gives back the page before, a malformed cursor is the
first page, and the count stops at its cap."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from xianghu.calls import selectors, services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors
from xianghu.regions.selectors import actor_for_user

pytestmark = pytest.mark.django_db


def _numbers(html: str) -> list[str]:
    return re.findall(r'data-testid="call-row" data-number="([^"]+)"', html)


def _link(html: str, testid: str) -> dict[str, str] | None:
    match = re.search(rf'<a href="\?([^"]+)" data-testid="{testid}"', html)
    if match is None:
        return None
    query = match.group(1).replace("&amp;", "&")
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


@pytest.fixture
def many(world, lists, new_call):
    """45 calls of 王庄镇; every third pair made in the same instant (ties on time)."""
    base = timezone.now() - timedelta(days=10)
    made = []
    for n in range(45):
        call = new_call(title=f"呼叫{n:02d}")
        Call.objects.filter(pk=call.pk).update(created_at=base + timedelta(minutes=n // 2))
        made.append(call.pk)
    return made


def test_the_pages_follow_each_other_newest_first_and_back(world, client, many):
    world.login(client, "reporter")
    expected = list(
        Call.objects.filter(pk__in=many)
        .order_by("-created_at", "-pk")
        .values_list("number", flat=True)
    )
    seen: list[str] = []
    params: dict[str, str] = {"tab": "mine"}
    pages = []
    while True:
        r = client.get("/calls/", params)
        html = r.content.decode()
        pages.append((params, _numbers(html)))
        seen += _numbers(html)
        assert r.context["page"].count == 45
        assert not r.context["page"].more
        following = _link(html, "next-page")
        if following is None:
            break
        params = following
    assert seen == expected
    assert [len(numbers) for _p, numbers in pages] == [20, 20, 5]
    # From the last page, "previous" gives back the second page, and from there the first.
    html = client.get("/calls/", pages[-1][0]).content.decode()
    back = _link(html, "previous-page")
    assert back is not None
    assert _numbers(client.get("/calls/", back).content.decode()) == (pages[1][1])
    html = client.get("/calls/", back).content.decode()
    first = _link(html, "previous-page")
    assert first is not None
    html = client.get("/calls/", first).content.decode()
    assert _numbers(html) == pages[0][1]
    # The first page offers no "previous"; the links keep the tab.
    assert _link(html, "previous-page") is None
    assert pages[1][0]["tab"] == "mine"


@pytest.mark.parametrize(
    "cursor", ["", "abc", "1.2.3", "-5.3", "9" * 40 + ".1", "99999999999999999.1", "1.x"]
)
def test_a_malformed_cursor_is_the_first_page(world, client, many, cursor):
    world.login(client, "reporter")
    first = _numbers(client.get("/calls/", {"tab": "mine"}).content.decode())
    for key in ("after", "before"):
        r = client.get("/calls/", {"tab": "mine", key: cursor})
        assert r.status_code == 200
        numbers = _numbers(r.content.decode())
        # A cursor beyond every call (far future) may legitimately give nothing after
        # it: only the unreadable ones must fall back to the first page.
        if selectors._position(cursor) is None:
            assert numbers == first, (key, cursor)


def test_the_count_stops_at_its_cap(world, client, many, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 30)
    world.login(client, "reporter")
    r = client.get("/calls/", {"tab": "mine"})
    assert r.context["page"].count == 30
    assert r.context["page"].more
    assert "30" in re.search(r'data-testid="call-count">([^<]+)<', r.content.decode()).group(1)
    page = selectors.call_page(
        calls=selectors.call_list(actor=actor_for_user(user=world.users["reporter"])),
        size=20,
    )
    assert page.count == 30
    assert page.more
    monkeypatch.setattr(selectors, "COUNT_CAP", 45)
    page = selectors.call_page(
        calls=selectors.call_list(actor=actor_for_user(user=world.users["reporter"])),
        size=20,
    )
    assert page.count == 45
    assert not page.more


def test_the_operator_filters_by_township_and_item(world, client, lists, new_call, act):
    here = new_call(title="王庄镇的呼叫")
    other_item = new_call(code=None, title="清单外的呼叫")
    there, _created = services.call_create(
        actor=actor_for_user(user=world.users["reporter_t2"]),
        caller=world.orgs["t2"],
        draft=CallDraft(
            title="柳林镇的呼叫",
            description="柳林镇2村道路破损，影响通行。",
            location=world.t2,
            item=catalog_selectors.item_get(version=lists.version, code="D1-01"),
        ),
    )
    for call, key, leader in ((here, "reporter", "tleader"), (there, "reporter_t2", None)):
        act(key, call, "submit")
        if leader:
            act(leader, call, "approve")
    del other_item
    world.login(client, "operator")
    r = client.get("/calls/", {"tab": "all", "township": world.t1.code})
    html = r.content.decode()
    assert 'data-testid="filter-township"' in html
    assert 'data-testid="filter-item"' in html
    assert here.number in html
    assert there.number not in html
    assert "清单外的呼叫" in html  # 王庄镇's call outside the list
    html = client.get("/calls/", {"tab": "all", "item": "D1-01"}).content.decode()
    assert here.number in html
    assert "清单外的呼叫" not in html
    html = client.get(
        "/calls/", {"tab": "all", "township": world.t2.code, "item": "D1-01"}
    ).content.decode()
    assert here.number not in html
    # An unknown township or item filters nothing.
    html = client.get("/calls/", {"tab": "all", "township": "999", "item": "X"}).content.decode()
    assert here.number in html
    assert "清单外的呼叫" in html


def test_a_township_user_gets_no_township_filter(world, client, new_call):
    new_call()
    world.login(client, "reporter")
    html = client.get("/calls/").content.decode()
    assert 'data-testid="filter-township"' not in html


def test_the_filtered_list_queries_are_pinned(
    world, client, lists, new_call, django_assert_max_num_queries
):
    for n in range(25):
        new_call(title=f"呼叫{n}")
    world.login(client, "operator")
    # 9 as for the operator's plain list (its page, leads and count in one statement),
    # plus the filters' choices (townships; the list in force, its items and their
    # parties), the item's versions and the township's villages.
    with django_assert_max_num_queries(14):
        r = client.get("/calls/", {"tab": "all", "township": world.t1.code, "item": "D1-01"})
    assert r.status_code == 200
    assert len(r.context["rows"]) == 20


def test_a_row_shows_its_lead_and_places_read_narrow(world, client, lists, new_call, act):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk)
    world.login(client, "operator")
    r = client.get("/calls/", {"tab": "in_progress"})
    row = r.context["rows"][0]
    assert row.call.pk == call.pk
    assert row.lead == world.orgs["dept"].name
    html = r.content.decode()
    assert world.orgs["dept"].name in html
    assert call.caller.name in html
    assert "D1-01" in html
    # The rows were read narrow: the long description was not fetched.
    assert "description" in row.call.get_deferred_fields()


def test_an_empty_page_still_counts_the_list(world, many):
    """The count comes with the page's rows; a page with none (after the list's last
    call) counts the list by itself."""
    calls = selectors.call_list(actor=actor_for_user(user=world.users["reporter"]))
    oldest = Call.objects.filter(pk__in=many).order_by("created_at", "pk").first()
    assert oldest is not None
    page = selectors.call_page(calls=calls, size=20, after=selectors._cursor(oldest))
    assert (page.calls, page.count, page.more) == ([], 45, False)
    assert page.previous_cursor == ""
    first = selectors.call_page(calls=calls, size=20)
    assert (len(first.calls), first.count) == (20, 45)
