"""The score arithmetic of domain.md "Price score", with worked examples checked
by hand (each comment shows the computation)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from procure.evaluation import scoring
from procure.evaluation.scoring import Candidate

T0 = datetime(2026, 10, 20, 2, 0, tzinfo=timezone.utc)


def cand(key, price, minutes=0):
    return Candidate(key=key, price=D(price), submitted_at=T0 + timedelta(minutes=minutes))


# --- price score ---------------------------------------------------------------


def test_price_score_formula_worked_example():
    # Price weight 30 (percentage points), prices 80,000 / 100,000 / 95,000 CNY.
    # benchmark = lowest valid price = 80,000
    #   80,000:  80,000 / 80,000  × 30 = 30
    #  100,000:  80,000 / 100,000 × 30 = 24
    #   95,000:  80,000 / 95,000  × 30 = 25.2631578… → 25.26
    prices = [D("80000.00"), D("100000.00"), D("95000.00")]
    benchmark = scoring.benchmark_price(prices)
    assert benchmark == D("80000.00")
    assert [scoring.price_score(benchmark, p, D(30)) for p in prices] == [
        D("30.00"),
        D("24.00"),
        D("25.26"),
    ]


def test_price_weight_is_in_percentage_points():
    # With weight 10 points the lowest bid gets 10.00 points, not 1000 or 0.10.
    assert scoring.price_score(D(50000), D(50000), D(10)) == D("10.00")
    # 50,000 / 62,500 × 10 = 0.8 × 10 = 8.00
    assert scoring.price_score(D(50000), D("62500"), D(10)) == D("8.00")


def test_price_score_rounds_half_up_once():
    # 11,000 / 16,000 × 30 = 0.6875 × 30 = 20.625 exactly: half-up gives 20.63
    # (half-even or truncation would give 20.62).
    assert scoring.price_score(D(11000), D(16000), D(30)) == D("20.63")


def test_benchmark_is_the_lowest_price_and_prices_must_be_positive():
    assert scoring.benchmark_price([D("300"), D("120.50"), D("121")]) == D("120.50")
    with pytest.raises(scoring.ScoringError):
        scoring.benchmark_price([D("100"), D("0")])
    with pytest.raises(scoring.ScoringError):
        scoring.benchmark_price([])
    with pytest.raises(scoring.ScoringError):
        scoring.price_score(D(100), D(90), D(30))  # a price below the benchmark


@pytest.mark.parametrize("weight", [D(0), D(-5), D("100.01")])
def test_price_weight_range(weight):
    with pytest.raises(scoring.ScoringError):
        scoring.price_score(D(100), D(100), weight)


def test_floats_are_refused():
    with pytest.raises(scoring.ScoringError):
        scoring.price_score(D(100), 100.0, D(30))
    with pytest.raises(scoring.ScoringError):
        scoring.committee_score([8.5, D(9)])


# --- committee score -------------------------------------------------------------


def test_committee_score_is_the_mean_of_members():
    # (8 + 9 + 9) / 3 = 26 / 3 = 8.666… → 8.67
    assert scoring.committee_score([D(8), D(9), D(9)]) == D("8.67")
    # (20 + 16) / 2 = 18
    assert scoring.committee_score([D(20), D(16)]) == D("18.00")


def test_committee_score_rounds_half_up():
    # (8.23 + 8.50) / 2 = 16.73 / 2 = 8.365 exactly: half-up 8.37 (half-even 8.36)
    assert scoring.committee_score([D("8.23"), D("8.50")]) == D("8.37")


@pytest.mark.parametrize(
    "score,maximum,ok",
    [
        (D("0"), D(20), True),
        (D("20"), D(20), True),
        (D("12.25"), D(20), True),
        (D("20.01"), D(20), False),  # above the criterion's range
        (D("-0.01"), D(20), False),  # below it
        (D("12.255"), D(20), False),  # more than two decimals
        ("abc", D(20), False),
        (D("NaN"), D(20), False),
    ],
)
def test_member_score_range(score, maximum, ok):
    assert scoring.is_valid_member_score(score, maximum) is ok


# --- totals and ranking ------------------------------------------------------------


def test_total_is_the_sum_of_rounded_parts():
    # Weight 30; A at 80,000 is the benchmark, B at 95,000:
    #   B price score 80,000/95,000 × 30 = 25.263157… → 25.26
    #   B criterion "service": members 8, 8, 9 → 25/3 = 8.333… → 8.33
    #   B total = 25.26 + 8.33 = 33.59  (rounding the exact sum 33.596… would give 33.60)
    #   A: 30.00 + (10+10+10)/3 = 30.00 + 10.00 = 40.00
    ranked = scoring.comprehensive_ranking(
        [cand("A", "80000"), cand("B", "95000")],
        D(30),
        {"A": {"service": [D(10)] * 3}, "B": {"service": [D(8), D(8), D(9)]}},
        ["service"],
    )
    b = next(r for r in ranked if r.key == "B")
    assert b.price_score == D("25.26")
    assert b.criterion_scores == {"service": D("8.33")}
    assert b.non_price_score == D("8.33")
    assert b.total == D("33.59")
    assert [(r.key, r.rank, r.total) for r in ranked] == [("A", 1, D("40.00")), ("B", 2, D("33.59"))]


def test_higher_total_wins_even_at_a_higher_price():
    # Weight 30. A 80,000 → 30.00 price; B 100,000 → 24.00 price.
    # Non-price (one criterion of 70): A (50+50)/2 = 50 → total 80.00;
    # B (60+61)/2 = 60.5 → total 84.50. B ranks first.
    ranked = scoring.comprehensive_ranking(
        [cand("A", "80000"), cand("B", "100000")],
        D(30),
        {"A": {"q": [D(50), D(50)]}, "B": {"q": [D(60), D(61)]}},
        ["q"],
    )
    assert [(r.key, r.total) for r in ranked] == [("B", D("84.50")), ("A", D("80.00"))]


def test_tie_on_total_goes_to_the_lower_price():
    # Weight 30. A 100,000 → 80,000/100,000 × 30 = 24.00; non-price 66 → 90.00.
    #            B  80,000 → 30.00;                        non-price 60 → 90.00.
    # Equal totals: B (lower price) first, although A submitted earlier and
    # comes first in the input.
    ranked = scoring.comprehensive_ranking(
        [cand("A", "100000", minutes=0), cand("B", "80000", minutes=30)],
        D(30),
        {"A": {"q": [D(66), D(66)]}, "B": {"q": [D(60), D(60)]}},
        ["q"],
    )
    assert [(r.key, r.rank, r.total) for r in ranked] == [("B", 1, D("90.00")), ("A", 2, D("90.00"))]


def test_tie_on_total_and_price_goes_to_the_earlier_submission():
    # Same price 90,000 (both 30.00), same non-price 50 → both 80.00.
    # B submitted 10 minutes before A: B first, whatever the input order.
    for order in (["A", "B"], ["B", "A"]):
        bids = {"A": cand("A", "90000", minutes=20), "B": cand("B", "90000", minutes=10)}
        ranked = scoring.comprehensive_ranking(
            [bids[k] for k in order],
            D(30),
            {"A": {"q": [D(50)]}, "B": {"q": [D(50)]}},
            ["q"],
        )
        assert [(r.key, r.rank) for r in ranked] == [("B", 1), ("A", 2)]


def test_missing_criterion_score_is_refused():
    with pytest.raises(scoring.ScoringError):
        scoring.comprehensive_ranking([cand("A", "1")], D(30), {"A": {}}, ["q"])


def test_lowest_price_ranking():
    # 95,000 / 80,000 / 100,000 / 80,000 (later): the two at 80,000 tie on price,
    # the earlier submission (D at minute 5 before B at minute 9) goes first.
    ranked = scoring.lowest_price_ranking(
        [cand("A", "95000", 1), cand("B", "80000", 9), cand("C", "100000", 2), cand("D", "80000", 5)]
    )
    assert [(r.key, r.rank) for r in ranked] == [("D", 1), ("B", 2), ("A", 3), ("C", 4)]
    assert all(r.total is None and r.price_score is None for r in ranked)
