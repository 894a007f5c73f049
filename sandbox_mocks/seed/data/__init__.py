"""Code lists and name parts of the sandbox world, kept as TOML.

A package (not a bare folder) so that the files ship as package data with the wheel. The facts are
copies: the mocks are peers of the hub and may not read ``hub``'s own data files.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``<name>.toml`` of this package; cached, so callers must not mutate it."""
    return tomllib.loads(resources.files(__name__).joinpath(f"{name}.toml").read_text("utf-8"))
