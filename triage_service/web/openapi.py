"""The OpenAPI 3.1 document, generated from the endpoint declarations and their models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from triage_service.domain.models import ErrorOut
from triage_service.web.api import Endpoint

REF = "#/components/schemas/{model}"


def openapi_document(endpoints: list[Endpoint], *, version: str) -> dict[str, Any]:
    """Paths, request bodies, answers and error shapes for every declared endpoint."""
    models: set[type[BaseModel]] = {ErrorOut}
    for e in endpoints:
        models.update(m for m in (e.body, e.answer) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schema = models_json_schema([(m, _mode(m, endpoints)) for m in ordered], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "triage-service",
            "version": version,
            "description": "Remote mental-health triage for police officers on scene.",
        },
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "triage_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def _mode(model: type[BaseModel], endpoints: list[Endpoint]) -> Any:
    return "validation" if any(e.body is model for e in endpoints) else "serialization"


def _operation(e: Endpoint) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}}}
    ok: dict[str, Any] = {"description": "OK"}
    if e.answer is not None:
        ok["content"] = {
            "application/json": {"schema": {"$ref": REF.format(model=e.answer.__name__)}}
        }
    responses: dict[str, Any] = {str(e.status): ok}
    if e.signed_in:
        responses["401"] = {"description": "Not signed in", **error}
        responses["403"] = {"description": "Wrong role or missing CSRF token", **error}
    if e.body is not None:
        responses["400"] = {"description": "Malformed JSON", **error}
        responses["422"] = {"description": "Invalid fields", **error}
    if "{id}" in e.path:
        responses["404"] = {"description": "Not found or not yours", **error}
    operation: dict[str, Any] = {"summary": e.summary, "responses": responses}
    if e.roles:
        operation["description"] = "Roles: " + ", ".join(sorted(r.value for r in e.roles))
    if e.signed_in:
        operation["security"] = [{"session": [], "csrf": []}]
    if e.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=e.body.__name__)}}
            },
        }
    if "{id}" in e.path:
        operation["parameters"] = [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        ]
    return operation
