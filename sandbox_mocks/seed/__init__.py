"""The deterministic synthetic world shared by every sandbox mock.

One seed gives one population with valid citizen IDs, addresses across the 34 provinces (and their
pre-2025 form), bank accounts, land parcels and court judgments, consistent across agencies. The
package depends on no part of the hub: the mocks are peers of the hub, not parts of it.
"""

from sandbox_mocks.seed.records import (
    Account,
    Address,
    Citizen,
    Disposition,
    Judgment,
    JudgmentParty,
    Organisation,
    Parcel,
)
from sandbox_mocks.seed.spelling import fold, name_key, other_tone_placement, upper_ascii
from sandbox_mocks.seed.world import (
    DEFAULT_BANK_BINS,
    HARD_CASES,
    REFERENCE_DATE,
    World,
    build_world,
    normalise_serial,
    shared_world,
)

__all__ = [
    "DEFAULT_BANK_BINS",
    "HARD_CASES",
    "REFERENCE_DATE",
    "Account",
    "Address",
    "Citizen",
    "Disposition",
    "Judgment",
    "JudgmentParty",
    "Organisation",
    "Parcel",
    "World",
    "build_world",
    "fold",
    "name_key",
    "normalise_serial",
    "other_tone_placement",
    "shared_world",
    "upper_ascii",
]
