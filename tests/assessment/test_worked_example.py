"""The worked example of docs/scoring.md: the figures computed from real calls equal the
figures computed there by hand, and the document's table says the same."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.assessment.conftest import t
from tests.assessment.example import MARCH, NOW, build
from xianghu.assessment.metrics import metrics_for_period
from xianghu.assessment.models import DispatchFact, EventFact
from xianghu.assessment.periods import Period
from xianghu.assessment.scores import ranking_for_period, scores_for_period, subject_losses

DOC = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"

#: The figures computed by hand in docs/scoring.md, section "Worked example".
EXPECTED = {
    ("应急管理局", "received"): "5",
    ("应急管理局", "sign_rate"): "0.7500",
    ("应急管理局", "response_rate"): "0.7500",
    ("应急管理局", "completion_rate"): "0.7500",
    ("应急管理局", "overdue"): "1",
    ("应急管理局", "satisfaction_rate"): "0.8000",
    ("应急管理局", "redo_rate"): "0.2000",
    ("应急管理局", "return_rate"): "0.4000",
    ("应急管理局", "return_refusal_rate"): "0.5000",
    ("应急管理局", "red_cards"): "1",
    ("应急管理局", "supervision_orders"): "1",
    ("应急管理局", "sign_average_seconds"): "3450",
    ("应急管理局", "sign_p90_seconds"): "9000",
    ("应急管理局", "response_average_seconds"): "23400",
    ("应急管理局", "response_p90_seconds"): "68400",
    ("应急管理局", "completion_average_seconds"): "446400",
    ("应急管理局", "completion_p90_seconds"): "799200",
    ("应急管理局", "base"): "76.75",
    ("应急管理局", "penalties"): "4.00",
    ("应急管理局", "composite"): "72.75",
    ("应急管理局", "township_evaluation"): "85.00",
    ("应急管理局", "score"): "76.83",
    ("应急管理局", "rank"): "1",
    ("公安局", "score"): "100.00",
    ("公安局", "rank"): "too_few_calls",
    ("派出所", "response_rate"): "0.5000",
    ("派出所", "completion_rate"): "1.0000",
    ("派出所", "satisfaction_rate"): "0.6667",
    ("派出所", "host_satisfaction_rate"): "1.0000",
    ("派出所", "forms_average"): "72.50",
    ("派出所", "host_forms_average"): "85.00",
    ("派出所", "base"): "73.33",
    ("派出所", "composite"): "72.33",
    ("派出所", "township_evaluation"): "92.50",
    ("派出所", "score"): "84.43",
    ("派出所", "rank"): "too_few_calls",
    ("王庄镇", "calls_sent"): "8",
    ("王庄镇", "valid_call_rate"): "0.8571",
    ("王庄镇", "cooperation_rate"): "0.5000",
    ("王庄镇", "satisfaction_rate"): "1.0000",
    ("王庄镇", "score"): "79.29",
    ("王庄镇", "rank"): "1",
    ("柳林镇", "valid_call_rate"): "1.0000",
    ("柳林镇", "cooperation_rate"): "—",
    ("柳林镇", "score"): "100.00",
    ("柳林镇", "rank"): "too_few_calls",
}

SHORT = {
    "dept": "应急管理局",
    "police": "公安局",
    "agency": "派出所",
    "t1": "王庄镇",
    "t2": "柳林镇",
}


@pytest.fixture
def example(world, lists, calendar, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return build(world, lists)


def _text(value) -> str:
    return "—" if value is None else str(value)


def computed(world) -> dict[tuple[str, str], str]:
    names = {world.orgs[key].pk: short for key, short in SHORT.items()}
    metrics = {
        m.subject_id: m for m in metrics_for_period(county=world.county, period=MARCH, now=NOW)
    }
    scores = {
        s.subject_id: s for s in scores_for_period(county=world.county, period=MARCH, now=NOW)
    }
    ranks = {}
    for kind in ("department", "stationed_agency", "township"):
        ranking = ranking_for_period(county=world.county, period=MARCH, subject_kind=kind, now=NOW)
        for entry in ranking.entries:
            ranks[entry.score.subject_id] = entry.rank if entry.rank else entry.status
    out = {}
    for (short, figure), _expected in EXPECTED.items():
        pk = next(pk for pk, name in names.items() if name == short)
        m, s = metrics[pk], scores[pk]
        if figure == "satisfaction_rate":
            value = m.satisfaction.rate
        elif figure == "host_satisfaction_rate":
            value = m.host_satisfaction.rate
        elif figure.endswith(("_average_seconds", "_p90_seconds")):
            step, _, what = figure.partition("_")
            times = getattr(m, f"{step}_time")
            value = times.average_seconds if what.startswith("average") else times.p90_seconds
        elif figure == "penalties":
            value = s.penalties.points
        elif figure == "rank":
            value = ranks[pk]
        elif hasattr(s, figure) and figure not in ("volume",):
            value = getattr(s, figure)
        else:
            value = getattr(m, figure)
        out[(short, figure)] = _text(value)
    return out


def doc_table() -> dict[tuple[str, str], str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- worked-example:begin -->")[1].split("<!-- worked-example:end -->")[0]
    rows = {}
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[(cells[0], cells[1])] = cells[2]
    return rows


def test_the_document_states_the_hand_computed_figures():
    assert doc_table() == EXPECTED


def test_the_figures_from_real_calls_equal_the_hand_computed_ones(world, example):
    # The sweeps did what the example says: a red card and an order on D, E closed.
    first, second = example.sweeps
    assert [a["action"] for a in first.actions] == ["red_card", "supervise"]
    assert [a["action"] for a in second.actions] == ["auto_close"]
    assert computed(world) == EXPECTED


def test_the_losses_add_up_to_what_the_score_misses(world, example):
    losses = subject_losses(subject=world.orgs["dept"], period=MARCH, now=NOW)
    assert losses.score.score == Decimal("76.83")
    got = [(i.kind, i.reasons, i.points, i.call_id) for i in losses.items]
    d, b = example.calls["D"].pk, example.calls["B"].pk
    assert got == [
        ("satisfaction", ("unsatisfied",), Decimal("8.00"), d),
        ("completion", ("late_completion",), Decimal("5.83"), d),
        ("response", ("late_sign",), Decimal("5.00"), b),
        ("periodic_evaluation", ("2025-03",), Decimal("1.67"), None),
        ("red_card", (), Decimal("1.33"), d),
        ("refused_return", (), Decimal("0.67"), d),
        ("redo", (), Decimal("0.67"), d),
    ]
    assert losses.total == Decimal(100) - losses.score.score
    # The township: one invalid call, one two-way call without a photo.
    t1 = subject_losses(subject=world.orgs["t1"], period=MARCH, now=NOW)
    kinds = sorted((i.kind, i.reasons) for i in t1.items)
    assert kinds == [("cooperation", ("no_evidence",)), ("invalid_call", ("returned_by_platform",))]
    assert abs(t1.total - (Decimal(100) - t1.score.score)) <= Decimal("0.01")


def test_the_facts_of_the_example(world, example):
    """The episodes and events the fold made, call by call."""
    dept, police = world.orgs["dept"].pk, world.orgs["police"].pk
    c, d, h = example.calls["C"], example.calls["D"], example.calls["H"]
    episodes = list(
        DispatchFact.objects.filter(call=c)
        .order_by("start_seq")
        .values_list("subject_id", "exclusion")
    )
    assert episodes == [(dept, "return_approved"), (police, "")]
    (episode,) = DispatchFact.objects.filter(call=d)
    assert (episode.return_requests, episode.returns_refused, episode.redo_count) == (1, 1, 1)
    # The ruling's clocks, and the sign after the ruling.
    assert episode.received_at == t(2025, 3, 10, 9, 0)
    assert episode.started_at == t(2025, 3, 10, 14, 0)
    assert episode.sign_seconds == 1800
    assert DispatchFact.objects.get(call=h).exclusion == "merged"
    assert EventFact.objects.filter(call=d, kind="evaluation").count() == 2
    assert example.calls["E"].state == "closed"
    k = DispatchFact.objects.get(call=example.calls["K"])
    k2 = DispatchFact.objects.get(call=example.calls["K2"])
    assert (k.subject_id, k.evidence, k2.evidence) == (world.orgs["t1"].pk, True, False)


def test_the_quarter_counts_the_quarterly_form(world, example):
    q1 = Period.quarter(2025, 1)
    (dept,) = metrics_for_period(
        county=world.county, period=q1, subjects=[world.orgs["dept"].pk], now=NOW
    )
    assert (dept.forms, dept.forms_average) == (2, Decimal("85.00"))
    # Everything happened in March: the quarter's handling figures are March's.
    (march,) = metrics_for_period(
        county=world.county, period=MARCH, subjects=[world.orgs["dept"].pk], now=NOW
    )
    assert (dept.received, dept.response_rate, dept.completion_rate) == (
        march.received,
        march.response_rate,
        march.completion_rate,
    )
    # February: no data at all, never 0 % or 100 %.
    (feb,) = metrics_for_period(
        county=world.county, period=Period.month(2025, 2), subjects=[world.orgs["dept"].pk], now=NOW
    )
    assert not feb.has_data
    assert (feb.response_rate, feb.completion_rate, feb.satisfaction.rate) == (None, None, None)
    (score,) = scores_for_period(
        county=world.county, period=Period.month(2025, 2), subjects=[world.orgs["dept"].pk], now=NOW
    )
    assert score.score is None
