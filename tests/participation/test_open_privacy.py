"""The privacy test of issue #8: build the demo county once, then fetch every public page
and every public JSON/CSV without logging in, and check that no unmasked phone number or
resident ID number (nor a landline or plate) appears anywhere.

One test on purpose: building the demo takes about a minute and a half, and it is built
once for the whole crawl. The crawl starts from the public entry points (the open pages,
the public lists, Open311, the co-governance pages of the other areas when their URL
names exist) and follows every link that stays on public paths.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse

from xianghu.core.masking import contains_personal_data, mask_personal_text
from xianghu.demo.county import COUNTY_CODE
from xianghu.demo.open import DEMO_ID_NUMBER, DEMO_PHONE, build_demo_open
from xianghu.regions.models import Region

# Paths a visitor without login may open; a link elsewhere is not followed.
PUBLIC_PREFIXES = (
    "/open/",
    "/catalog/",
    "/open311/v2/",
    "/participation/reports/",
    "/participation/track/",
    "/participation/resources/board/",
    "/participation/privacy/",
)
NOT_FOLLOWED = ("/open/manage/", "/open/photos/", "/participation/photos/")
MAX_PAGES = 700
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def _visible(text: str) -> str:
    """The page without the CSRF token and the request id (random letters and digits)."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", text)


def _entry_points() -> list[str]:
    urls = [
        "/open/",
        "/open311/v2/services.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
    ]
    for name in (
        "catalog:public_list",
        "participation:public_list",
        "participation:resource_board",
        "participation:privacy",
        "participation:track_lookup",
    ):
        try:
            urls.append(reverse(name))
        except NoReverseMatch:
            continue  # that area is not built (yet)
    try:
        from xianghu.participation.models import PublicReport

        for token in PublicReport.objects.values_list("token", flat=True)[:50]:
            urls.append(reverse("participation:track", kwargs={"token": token}))
    except NoReverseMatch:
        pass
    return urls


def _public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) and not path.startswith(NOT_FOLLOWED)


@pytest.mark.django_db
def test_no_public_page_or_document_shows_a_phone_or_id_number(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("demo_county", "--quiet")
    county = Region.objects.get(code=COUNTY_CODE)
    summary = build_demo_open(county=county)
    assert summary.cases == 2
    assert summary.consultations == 2
    assert summary.ranking
    # The demo does hold personal data (else the test would prove nothing) ...
    from xianghu.calls.models import Call

    assert Call.objects.filter(description__contains=DEMO_PHONE).exists()
    assert Call.objects.filter(description__contains=DEMO_ID_NUMBER).exists()
    # ... and optional builders of the other areas add theirs when present.
    for module, builder in (
        ("xianghu.demo.public", "build_demo_public"),
        ("xianghu.demo.coord", "build_demo_coord"),
    ):
        try:
            found = __import__(module, fromlist=[builder])
        except ImportError:
            continue
        getattr(found, builder)(county=county)

    client = Client()
    queue = deque(_entry_points())
    seen: set[str] = set()
    fetched = 0
    leaks: list[str] = []
    twins = 0
    while queue and fetched < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        fetched += 1
        if response.status_code != 200:
            continue
        kind = response.get("Content-Type", "")
        if not kind.startswith(("text/", "application/json", "application/xml")):
            continue
        text = _visible(response.content.decode("utf-8", errors="replace"))
        found = MOBILE.findall(text)
        if found or contains_personal_data(text):
            detail = (
                found[:3]
                or [line for line in text.splitlines() if mask_personal_text(line) != line][:3]
            )
            leaks.append(f"{url}: {detail}")
        path = urlsplit(url).path
        if not kind.startswith("text/html"):
            continue
        if path.startswith("/open/") and "format=" not in url:
            sep = "&" if "?" in url else "?"
            queue.append(f"{url}{sep}format=json")
            queue.append(f"{url}{sep}format=csv")
            twins += 2
        parser = _Links()
        parser.feed(response.content.decode("utf-8", errors="replace"))
        for href in parser.links:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc and parts.netloc != "testserver":
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if _public(parts.path) and local not in seen:
                queue.append(local)
    assert not leaks, "\n".join(leaks)
    # The crawl did reach the pages that matter.
    opened = {urlsplit(u).path for u in seen}
    for must in (
        "/open/cases/",
        "/open/notices/",
        "/open/rankings/",
        "/open/statistics/",
        "/open/consultations/",
        "/open/duties/",
        "/catalog/",
    ):
        assert must in opened, must
    assert any(p.startswith("/open/cases/3712") for p in opened)
    assert any(p.startswith("/open/consultations/") and p != "/open/consultations/" for p in opened)
    assert twins > 20
