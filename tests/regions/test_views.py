"""The organisation directory and detail pages."""

from __future__ import annotations

import re

from tests import factories as f


def test_directory_lists_own_county_with_bounded_queries(
    world, client, django_assert_max_num_queries
):
    for n in range(3, 40):
        f.township_gov(f.township(world.county, n))
    world.login(client, "operator")
    with django_assert_max_num_queries(10):
        r = client.get("/orgs/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "清河县应急管理局" in html
    assert "柳河县" not in html


def test_directory_filters_with_htmx_partial(world, client):
    world.login(client, "operator")
    r = client.get("/orgs/?kind=stationed_agency", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "<html" not in html  # a fragment for htmx
    assert world.orgs["agency"].name in html
    assert world.orgs["dept"].name not in html
    r = client.get("/orgs/?q=应急")
    assert world.orgs["dept"].name in r.content.decode()
    assert world.orgs["police"].name not in r.content.decode()


def test_bad_filter_values_are_ignored_not_errors(world, client):
    world.login(client, "operator")
    assert client.get("/orgs/?kind=<script>&page=abc").status_code == 200


def test_detail_shows_masked_members_to_those_allowed(world, client):
    world.login(client, "tleader")
    html = client.get(f"/orgs/{world.orgs['t1'].pk}/").content.decode()
    assert 'data-testid="members"' in html
    phone = world.users["reporter"].phone
    assert phone not in html
    assert f"{phone[:3]}****{phone[-4:]}" in html


def test_detail_hides_members_from_others(world, client):
    world.login(client, "reporter_t2")
    r = client.get(f"/orgs/{world.orgs['t1'].pk}/")
    assert r.status_code == 200
    assert 'data-testid="members"' not in r.content.decode()


def test_other_county_object_is_a_chinese_404(world, client):
    world.login(client, "operator")
    forbidden = client.get(f"/orgs/{world.orgs['dept_b'].pk}/")
    missing = client.get("/orgs/999999/")
    assert forbidden.status_code == missing.status_code == 404
    assert "页面或对象不存在，或您无权访问" in forbidden.content.decode()

    def unmasked(html: bytes) -> str:
        # The CSRF token is masked anew per response and the language form echoes the path.
        html_text = re.sub(r'"X-CSRFToken": "[^"]+"|value="[^"]{64}"', "", html.decode())
        return re.sub(r'name="next" value="[^"]*"', "", html_text)

    assert unmasked(forbidden.content) == unmasked(missing.content)
