"""Agency ids of the Conventions. Banks are one agency each, named by BIN."""

from __future__ import annotations

CORE_AGENCIES = ("court", "procuracy", "population", "land", "postal")
# The sandbox's banks: Vietcombank, BIDV, Agribank. A deployment adds banks in its agencies file.
SANDBOX_BANK_BINS = ("970436", "970418", "970405")


def bank_agency(bin_code: str) -> str:
    return f"bank-{bin_code}"


def sandbox_agencies() -> list[str]:
    return ["hub", *CORE_AGENCIES, *(bank_agency(b) for b in SANDBOX_BANK_BINS)]
