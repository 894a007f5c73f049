"""The pro rata split, as a property: whole đồng that add up, each within 1 đồng of its exact share."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.payouts.shares import pro_rata

claims_lists = st.lists(st.integers(min_value=1, max_value=10**13), min_size=1, max_size=300)


@settings(max_examples=400, deadline=None)
@given(claims=claims_lists, data=st.data())
def test_parts_are_whole_dong_that_add_up_to_the_total_each_within_one_dong_of_its_share(
        claims: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(claims)))
    parts = pro_rata(total, claims)
    assert len(parts) == len(claims)
    assert sum(parts) == total
    for part, claim in zip(parts, claims, strict=True):
        assert isinstance(part, int) and part >= 0
        assert abs(part - Fraction(total * claim, sum(claims))) < 1


@settings(max_examples=200, deadline=None)
@given(claims=claims_lists, data=st.data())
def test_the_leftover_dong_go_to_the_largest_remainders_and_ties_to_the_earlier_creditor(
        claims: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(claims)))
    parts = pro_rata(total, claims)
    exact = [Fraction(total * c, sum(claims)) for c in claims]
    rounded_up = [i for i, (p, e) in enumerate(zip(parts, exact, strict=True)) if p > e]
    kept_down = [i for i in range(len(claims)) if i not in rounded_up]
    for up in rounded_up:
        for down in kept_down:
            up_rest, down_rest = exact[up] % 1, exact[down] % 1
            assert up_rest > down_rest or (up_rest == down_rest and up < down)


def test_three_equal_claims_share_one_dong_left_over_with_the_first() -> None:
    assert pro_rata(100, [1, 1, 1]) == [34, 33, 33]


def test_a_whole_amount_stays_whole_and_a_full_payment_pays_each_claim() -> None:
    assert pro_rata(1_000_000, [3_000_000, 1_000_000]) == [750_000, 250_000]
    assert pro_rata(4_000_000, [3_000_000, 1_000_000]) == [3_000_000, 1_000_000]


def test_largest_remainder_not_the_largest_claim_gets_the_dong() -> None:
    # exact shares 6.6, 2.2 and 1.2: the one đồng left goes to 6.6 (remainder .6), not to a larger claim
    assert pro_rata(10, [33, 11, 6]) == [7, 2, 1]


@pytest.mark.parametrize("total, claims", [(-1, [1]), (1, [-1, 2]), (5, [0, 0])])
def test_negative_amounts_or_no_claim_are_refused(total: int, claims: list[int]) -> None:
    with pytest.raises(ValueError):
        pro_rata(total, claims)
