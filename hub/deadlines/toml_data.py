"""Reading the deadline data files: the packaged default or a deployment's own, with clear errors."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.errors import InvalidValue

M = TypeVar("M", bound=BaseModel)


def load_model(model: type[M], path: Path | None, packaged: str, *, rule: str) -> M:
    """Validate ``path`` (or the file ``packaged`` shipped beside this module) as ``model``.

    Every failure becomes one InvalidValue naming the file and each offending field, because these
    files are edited by hand at deployment and the person fixing them needs the exact place.
    """
    source = packaged if path is None else str(path)
    try:
        if path is None:
            text = resources.files(__package__).joinpath(packaged).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        raw: dict[str, Any] = tomllib.loads(text)
        return model.model_validate(raw)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidValue(f"cannot read {source}: {exc}", code="REQUEST_INVALID", rule=rule) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidValue(f"{source}: not valid TOML: {exc}", code="REQUEST_INVALID", rule=rule) from exc
    except ValidationError as exc:
        raise InvalidValue(f"{source}: {summarise(exc)}", code="REQUEST_INVALID", rule=rule) from exc


def summarise(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}" for err in exc.errors()
    )
