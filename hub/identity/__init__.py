"""Identity resolution (xác định danh tính): who a judgment means when it gives no citizen ID.

Pure functions over the canonical model: ``resolve`` scores the people a search returned against the
judgment's hints, with a named reason per field, and decides; ``find_mismatches`` lists where the
agencies disagree about a person. The weights and thresholds are data (``policy.py``). The verification
service does the searching and acts on the decision.
"""

from hub.identity.mismatches import find_mismatches
from hub.identity.places import Place, place_in_text, place_of_hints, places_of
from hub.identity.policy import DEFAULT_POLICY, ScoringPolicy
from hub.identity.scorer import (
    Candidate,
    Resolution,
    birth_reason,
    name_reason,
    province_reason,
    resolve,
    score,
)

__all__ = [
    "DEFAULT_POLICY", "Candidate", "Place", "Resolution", "ScoringPolicy", "birth_reason", "find_mismatches",
    "name_reason", "place_in_text", "place_of_hints", "places_of", "province_reason", "resolve", "score",
]
