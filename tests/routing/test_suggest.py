"""route_suggest: the answer for good and bad input, with and without a usable model."""

from __future__ import annotations

import pytest

from xianghu.routing import engine, selectors
from xianghu.routing.models import RoutingModel
from xianghu.routing.selectors import Status, route_suggest

STRAW = "王庄镇张村麦地里有人焚烧秸秆，浓烟很大，网格员劝阻不听"


def test_suggests_items_with_departments_and_reasons(world, trained):
    s = route_suggest(county=world.county, text=STRAW, township=world.t1)
    assert s.ok
    assert not s.outside_list
    assert s.item_code == "D2-09"
    assert s.model_version == trained.version
    assert len(s.candidates) == 3
    top = s.top
    assert top.confidence >= s.candidates[1].confidence
    # a township item: the township is primary, the county departments assist
    assert [d.role for d in top.departments] == ["township", "assisting"]
    assert top.departments[1].organisation_id == world.orgs["dept"].pk
    assert "秸秆" in "".join(top.matched)
    assert top.explanation.startswith("Matched: ") or top.explanation  # translated or not
    assert top.clause


def test_k_limits_the_candidates(world, trained):
    assert len(route_suggest(county=world.county, text=STRAW, k=1).candidates) == 1
    assert len(route_suggest(county=world.county, text=STRAW, k=99).candidates) == 5


def test_a_text_outside_the_list(world, trained):
    s = route_suggest(county=world.county, text="村民想咨询城乡居民医保怎么缴费，去哪里办")
    assert s.ok
    assert s.outside_list
    assert s.item_code == ""
    assert s.candidates  # still shown, for the person to choose
    assert s.message


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("", Status.EMPTY),
        ("   ，。！  ", Status.EMPTY),
        ("hello, the water pipe is broken", Status.NOT_CHINESE),
        ("%$#@ 12345 ???", Status.NOT_CHINESE),
        ("村" * 50, Status.UNREADABLE),
    ],
)
def test_bad_text_gets_no_suggestion_and_a_reason(world, trained, text, status):
    s = route_suggest(county=world.county, text=text)
    assert s.status == status
    assert not s.candidates
    assert s.message


def test_a_very_long_text_is_cut_and_says_so(world, trained):
    s = route_suggest(county=world.county, text=STRAW + "情况说明" * 1000)
    assert s.ok
    assert s.truncated
    assert s.notes
    assert s.item_code == "D2-09"


def test_a_county_without_a_list(world, trained):
    s = route_suggest(county=world.other_county, text=STRAW)
    assert s.status == Status.NO_LIST
    assert s.message


def test_a_county_without_a_model(world, lists):
    s = route_suggest(county=world.county, text=STRAW)
    assert s.status == Status.NO_MODEL
    assert not s.candidates
    assert world.county.name in s.message


def test_a_model_of_an_older_schema_is_ignored(world, trained):
    RoutingModel.objects.filter(pk=trained.pk).update(schema=engine.SCHEMA_VERSION - 1)
    selectors.CACHE.clear()
    s = route_suggest(county=world.county, text=STRAW)
    assert s.status == Status.OUTDATED
    assert not s.candidates
    assert s.message


def test_damaged_model_bytes_are_ignored(world, trained):
    RoutingModel.objects.filter(pk=trained.pk).update(data=b"garbage")
    selectors.CACHE.clear()
    assert route_suggest(county=world.county, text=STRAW).status == Status.OUTDATED


def test_a_model_of_another_list_version_is_used_but_marked(world, trained):
    RoutingModel.objects.filter(pk=trained.pk).update(list_version=None)
    s = route_suggest(county=world.county, text=STRAW)
    assert s.ok
    assert s.stale


def test_only_callable_items_of_the_version_in_force(world, lists, trained):
    lists.version.items.filter(code="D2-09").update(callable=False)
    selectors.CACHE.clear()
    s = route_suggest(county=world.county, text=STRAW, k=10)
    assert "D2-09" not in [c.code for c in s.candidates]
