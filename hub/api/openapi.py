"""The published OpenAPI: every operation documents the problems it can answer.

FastAPI documents its own 422 shape (HTTPValidationError) and nothing for a malformed body; the hub
answers both as RFC 9457 problems. This hook rewrites the document once, so that clients and contract
testers (schemathesis runs over it in CI) see what the hub really sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from hub.api.problems import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


def install(app: FastAPI, extra_schemas: dict[str, Any] | None = None) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in (extra_schemas or {}).items():
            components.update(definition.pop("$defs", {}))
            components[name] = definition
        for methods in schema.get("paths", {}).values():
            for op in methods.values():
                responses = op.setdefault("responses", {})
                for status, text in (("400", "Problem: REQUEST_INVALID (malformed body or parameters)"),
                                     ("422", "Problem: a rule of the request failed (the code names it)")):
                    if status not in responses or "HTTPValidationError" in str(responses[status]):
                        responses[status] = _problem(text)
                    else:
                        responses[status].setdefault("content", {})[PROBLEM_MEDIA_TYPE] = {"schema": _PROBLEM_REF}
                if op.get("security"):
                    responses.setdefault("401", _problem("Problem: AUTH_REQUIRED or KEY_REVOKED"))
                    responses.setdefault("403", _problem("Problem: SCOPE_MISSING"))
                for status, response in responses.items():
                    if status.startswith(("4", "5")) and "content" in response:
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
