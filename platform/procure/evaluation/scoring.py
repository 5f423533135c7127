"""Score arithmetic of the evaluation (pure functions, no database, no Flask).

Units
-----
* Prices are CNY amounts as ``Decimal`` (never floats); a bid price must be > 0.
* Weights are **percentage points** of a 100-point scale, as the tender stores
  them (criteria weights sum to 100). A price weight of 30 means "price counts
  30 %": domain.md's formula

      price score = benchmark / bid price × price weight × 100

  reads the weight as a fraction (0.30), so with the weight stored in points
  (30) it is ``benchmark / bid price × 30``; the lowest valid bid gets exactly
  the price weight (30.00 points), every other bid proportionally less.
* A non-price criterion is worth ``maximum`` points; each member gives a score
  in ``[0, maximum]`` with at most two decimals.

Rounding rule (the only one)
----------------------------
``ROUND_HALF_UP`` to two decimals (``0.01``) at exactly two points:

1. each bid's price score, rounded once from the exact quotient;
2. each committee criterion score (the mean of the members' scores), rounded
   once from the exact mean.

The non-price score is the sum of the rounded criterion scores and the total is
price score + non-price score: sums of two-decimal numbers are exact, so they are
never rounded again. Ranking compares these published (rounded) totals, so a
bidder can re-check its rank from the result notice.

Ranking
-------
Comprehensive scoring (综合评分法): higher total first; ties go to the lower price,
then to the earlier submission (domain.md). Lowest price (最低评标价法, 询价 …):
lower price first, ties to the earlier submission. Should two bids still be equal
(same price, same microsecond) the smaller key (bid id) goes first, only so the
order is deterministic. Ranks are 1, 2, 3 … with no shared rank.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SCORE_PLACES = Decimal("0.01")
ROUNDING = ROUND_HALF_UP
HUNDRED = Decimal(100)


class ScoringError(ValueError):
    """Inputs the arithmetic refuses (a programming or data error, not user input)."""


def round_score(value: Decimal) -> Decimal:
    """The rounding rule: ROUND_HALF_UP to 0.01."""
    return Decimal(value).quantize(SCORE_PLACES, rounding=ROUNDING)


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, float):
        raise ScoringError(f"{what} must be a Decimal, not a float")
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ScoringError(f"{what} is not a number") from exc
    if not result.is_finite():
        raise ScoringError(f"{what} is not finite")
    return result


def check_price_weight(price_weight) -> Decimal:
    weight = _decimal(price_weight, "price weight")
    if not (0 < weight <= HUNDRED):
        raise ScoringError("price weight must be in (0, 100] percentage points")
    return weight


def benchmark_price(prices: Sequence[Decimal]) -> Decimal:
    """The lowest valid bid price (评标基准价)."""
    values = [_decimal(p, "price") for p in prices]
    if not values:
        raise ScoringError("no valid bid")
    if any(p <= 0 for p in values):
        raise ScoringError("a bid price must be positive")
    return min(values)


def price_score(benchmark: Decimal, price: Decimal, price_weight: Decimal) -> Decimal:
    """benchmark / price × price weight (points), rounded by the rule."""
    benchmark = _decimal(benchmark, "benchmark")
    price = _decimal(price, "price")
    weight = check_price_weight(price_weight)
    if benchmark <= 0 or price <= 0:
        raise ScoringError("prices must be positive")
    if price < benchmark:
        raise ScoringError("the benchmark is the lowest price")
    # Multiply before dividing: one rounding only, on the exact quotient
    # (Decimal division carries 28 significant digits, far beyond 0.01).
    return round_score(benchmark * weight / price)


def is_valid_member_score(score, maximum) -> bool:
    """A member's score for a criterion: 0 ≤ score ≤ maximum, ≤ 2 decimals."""
    try:
        value = _decimal(score, "score")
        top = _decimal(maximum, "maximum")
    except ScoringError:
        return False
    if value < 0 or value > top:
        return False
    return value == value.quantize(SCORE_PLACES)


def committee_score(member_scores: Sequence[Decimal]) -> Decimal:
    """Mean of the members' scores for one criterion, rounded by the rule."""
    values = [_decimal(s, "score") for s in member_scores]
    if not values:
        raise ScoringError("no member score")
    return round_score(sum(values, Decimal(0)) / len(values))


@dataclass(frozen=True)
class Candidate:
    """A qualified bid as the arithmetic sees it."""

    key: Hashable  # the bid id
    price: Decimal
    submitted_at: datetime


@dataclass(frozen=True)
class Ranked:
    key: Hashable
    price: Decimal
    submitted_at: datetime
    rank: int
    price_score: Decimal | None = None
    criterion_scores: Mapping[Hashable, Decimal] = field(default_factory=dict)
    non_price_score: Decimal | None = None
    total: Decimal | None = None


def _tie_key(candidate: Candidate):
    return (candidate.price, candidate.submitted_at, candidate.key)


def lowest_price_ranking(candidates: Sequence[Candidate]) -> list[Ranked]:
    """Lowest price first; ties to the earlier submission."""
    benchmark_price([c.price for c in candidates])  # validates prices
    ordered = sorted(candidates, key=_tie_key)
    return [
        Ranked(key=c.key, price=c.price, submitted_at=c.submitted_at, rank=i)
        for i, c in enumerate(ordered, start=1)
    ]


def comprehensive_ranking(
    candidates: Sequence[Candidate],
    price_weight: Decimal,
    member_scores: Mapping[Hashable, Mapping[Hashable, Sequence[Decimal]]],
    criteria: Sequence[Hashable],
) -> list[Ranked]:
    """Comprehensive scoring: price score from the qualified bids' prices,
    committee score per criterion (mean of members), total, ranked.

    ``member_scores[bid key][criterion key]`` is the list of the members'
    scores; every bid must have a score list for every criterion.
    """
    benchmark = benchmark_price([c.price for c in candidates])
    rows = []
    for c in candidates:
        per_bid = member_scores.get(c.key, {})
        by_criterion = {}
        for criterion in criteria:
            if criterion not in per_bid:
                raise ScoringError(f"bid {c.key!r} has no score for {criterion!r}")
            by_criterion[criterion] = committee_score(per_bid[criterion])
        p_score = price_score(benchmark, c.price, price_weight)
        non_price = sum(by_criterion.values(), Decimal("0.00"))
        rows.append((c, p_score, by_criterion, non_price, p_score + non_price))
    rows.sort(key=lambda r: (-r[4],) + _tie_key(r[0]))
    return [
        Ranked(
            key=c.key,
            price=c.price,
            submitted_at=c.submitted_at,
            rank=i,
            price_score=p,
            criterion_scores=crit,
            non_price_score=non_price,
            total=total,
        )
        for i, (c, p, crit, non_price, total) in enumerate(rows, start=1)
    ]
