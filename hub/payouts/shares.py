"""Pro rata shares in whole đồng: the largest remainder rule.

When the money recovered does not cover every claim, each creditor gets ``total × claim / Σ claims``
(Điều 47 Luật THADS: paid in proportion to the claims of the same priority). VND has no minor unit, so
each exact share is cut to whole đồng and the đồng left over are handed out one each:

1. every creditor first gets the whole part of the exact share (rounded down);
2. the đồng left over (fewer than the number of creditors) go one each to the creditors with the largest
   remainders (the fractional parts), compared exactly as fractions of Σ claims;
3. between equal remainders, the creditor listed first in the decision gets the đồng.

So the parts always add up to the total, none is negative or fractional, and each is within 1 đồng of
its exact share (below it by less than 1, or above it by less than 1 when it received a đồng).
"""

from __future__ import annotations

from collections.abc import Sequence


def pro_rata(total: int, claims: Sequence[int]) -> list[int]:
    """Split ``total`` đồng over ``claims`` (same order), by the largest remainder rule above."""
    if total < 0 or any(c < 0 for c in claims):
        raise ValueError("amounts are never negative")
    claimed = sum(claims)
    if claimed == 0:
        raise ValueError("at least one claim must be positive")
    parts = [total * c // claimed for c in claims]
    # Remainders as numerators over Σ claims: integers, so equal remainders compare equal, exactly.
    remainders = [total * c % claimed for c in claims]
    left = total - sum(parts)
    for index in sorted(range(len(claims)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    return parts
