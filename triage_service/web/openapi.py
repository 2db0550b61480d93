"""The OpenAPI 3.1 document, generated from the endpoint declarations and their models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from triage_service.domain.answers import ErrorOut
from triage_service.web.api import Endpoint

REF = "#/components/schemas/{model}"
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]
# The app's document as JSON, once made (an empty list until the first request asks).
OPENAPI_TEXT = web.AppKey("openapi_text", list[str])


def openapi_document(endpoints: list[Endpoint], *, version: str) -> dict[str, Any]:
    """Paths, parameters, request bodies, answers and error shapes for every endpoint."""
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = {(ErrorOut, "serialization")}
    for e in endpoints:
        models.add((e.failure, "serialization"))
        if e.body is not None:
            models.add((e.body, "validation"))
        if e.answer is not None:
            models.add((e.answer, "serialization"))
    ordered = sorted(models, key=lambda m: (m[0].__name__, m[1]))
    refs, schema = models_json_schema(ordered, ref_template=REF)
    schemas: dict[str, Any] = dict(schema.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "triage-service",
            "version": version,
            "description": "Remote mental-health triage for police officers on scene.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "triage_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def _operation(e: Endpoint, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": e.summary, "responses": _responses(e, refs)}
    if e.roles:
        operation["description"] = "Roles: " + ", ".join(sorted(r.value for r in e.roles))
    if e.signed_in:
        # The CSRF header is checked on changes only.
        needs: dict[str, list[str]] = {"session": [], "csrf": []}
        if e.method == "GET":
            del needs["csrf"]
        operation["security"] = [needs]
    if e.body is not None:
        operation["requestBody"] = {
            # A body whose every field is optional may be left out: it counts as `{}`.
            "required": bool(e.body.model_json_schema().get("required")),
            "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
        }
    parameters = _path_parameters(e) + _query_parameters(e, schemas) + _header_parameters(e)
    if parameters:
        operation["parameters"] = parameters
    return operation


def _responses(e: Endpoint, refs: Refs) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": HTTPStatus(e.status).phrase}
    if e.answer is not None:
        ok["content"] = {"application/json": {"schema": refs[(e.answer, "serialization")]}}
    elif e.media is not None:
        ok["content"] = {e.media: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(status): ok for status in (e.status, *e.also_ok)}
    error = {"application/json": {"schema": refs[(e.failure, "serialization")]}}
    for status, text in sorted(_error_statuses(e).items()):
        response: dict[str, Any] = {"description": text, "content": error}
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        responses[str(status)] = response
    return responses


def _error_statuses(e: Endpoint) -> dict[int, str]:
    """The failures the declaration implies, then those the endpoint lists itself."""
    statuses: dict[int, str] = {}
    if e.signed_in:
        statuses[401] = "Not signed in"
        if e.roles or e.method != "GET":
            statuses[403] = "Wrong role or missing CSRF token"
    if e.method != "GET":
        # origin_middleware: a change sent from another site's page (sign-in included).
        found = statuses.get(403)
        statuses[403] = f"{found}, or " if found else ""
        statuses[403] += "another site's Origin (bad_origin)"
    if e.body is not None:
        statuses |= {
            400: "Malformed JSON",
            408: "The body arrived too slowly",
            413: "Body too large",
            415: "The body was not sent as application/json",
            422: "Invalid fields",
        }
    if e.query is not None:
        statuses[422] = "Invalid fields"
    if "{id}" in e.path:
        statuses[404] = "Not found or not yours"
    if e.idempotent:
        statuses[422] = "Invalid fields, or an Idempotency-Key used for another change"
    if e.store:
        statuses[503] = "The store did not answer; try again after Retry-After"
    return statuses | dict(e.errors)


def _path_parameters(e: Endpoint) -> list[dict[str, Any]]:
    """Every `{name}` of the path (a request's `id`, a consultant's `user_id`, ...)."""
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", e.path)
    ]


def _header_parameters(e: Endpoint) -> list[dict[str, Any]]:
    """The optional `Idempotency-Key` of a change that honours one, and the optional
    `X-Access-Reason` of an audited read."""
    found = []
    if e.idempotent:
        schema = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"}
        text = (
            "Same user and key: the first answer again, never a second change (kept 24 h); "
            "the key sent with another change is 422 `idempotency_key_reused`."
        )
        found.append(_header("Idempotency-Key", text, schema))
    if e.audited:
        text = f"Why the reader reads this: kept in the access log (`{e.audited}` entries)."
        found.append(_header("X-Access-Reason", text, {"type": "string"}))
    return found


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _query_parameters(e: Endpoint, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """One `in: query` parameter per field of the query model, named as sent."""
    if e.query is None:
        return []
    schema = e.query.model_json_schema(ref_template=REF, mode="validation")
    schemas.update(schema.get("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _present(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _present(prop: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without `null`: an optional parameter is left out, not null."""
    prop = {k: v for k, v in prop.items() if k != "title" and not (k == "default" and v is None)}
    options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        prop |= options[0]
    elif options:
        prop["anyOf"] = options
    return prop
