"""The OpenAPI document: every reference resolves, and it says what the server really does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import REQUEST_FORM, ApiClient, SignInFactory

CHANGES_409 = [
    ("post", "/api/v1/requests/{id}/cancel"),
    ("post", "/api/v1/requests/{id}/accept"),
    ("post", "/api/v1/requests/{id}/release"),
    ("post", "/api/v1/requests/{id}/messages"),
    ("post", "/api/v1/requests/{id}/outcome"),
    ("patch", "/api/v1/referrals/{id}"),
]


async def document(anonymous: ApiClient) -> dict[str, Any]:
    """The served document."""
    status, body = await anonymous.get("/api/v1/openapi.json")
    assert status == 200
    assert isinstance(body, dict)
    return body


def refs(node: Any) -> Iterator[str]:
    """Every `$ref` anywhere below `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer names (KeyError if there is none)."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


async def test_every_ref_resolves(anonymous: ApiClient) -> None:
    """Walking the whole document, each `$ref` names a schema that exists."""
    doc = await document(anonymous)
    found = list(refs(doc))
    assert found
    missing = []
    for ref in found:
        try:
            resolve(doc, ref)
        except KeyError:
            missing.append(ref)
    assert not missing, missing


async def test_operations_list_the_statuses_they_send(anonymous: ApiClient) -> None:
    """Sign-in lists 401 and 429, state changes 409, queue/next 404, bodies 413, and every
    operation that reads the store 503 with Retry-After."""
    paths = (await document(anonymous))["paths"]
    assert {"401", "429"} <= set(paths["/api/v1/login"]["post"]["responses"])
    for method, path in CHANGES_409:
        assert "409" in paths[path][method]["responses"], path
    assert "404" in paths["/api/v1/queue/next"]["post"]["responses"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), (method, path)
            if path != "/api/v1/openapi.json":
                assert "Retry-After" in responses["503"].get("headers", {}), (method, path)
    assert "Retry-After" in paths["/api/v1/login"]["post"]["responses"]["429"]["headers"]


async def test_query_parameters_come_from_the_models(anonymous: ApiClient) -> None:
    """Stats, exports, referrals and my requests list their query parameters with schemas."""
    paths = (await document(anonymous))["paths"]

    def query(path: str) -> dict[str, Any]:
        params = paths[path]["get"].get("parameters", [])
        return {p["name"]: p for p in params if p["in"] == "query"}

    stats = query("/api/v1/stats")
    assert set(stats) == {"window", "from", "to", "board", "series", "heat_map"}
    assert stats["window"]["schema"]["enum"] == ["1h", "24h", "7d", "30d"]
    assert stats["from"]["schema"] == {"type": "string", "format": "date-time"}
    assert stats["series"]["schema"]["type"] == "boolean"
    for export in ("/api/v1/stats/export.csv", "/api/v1/stats/export.fhir.ndjson"):
        assert set(query(export)) == {"window", "from", "to", "board"}
    assert query("/api/v1/referrals")["status"]["schema"]["enum"] == ["open", "overdue", "all"]
    assert query("/api/v1/requests")["scope"]["schema"]["const"] == "mine"
    assert not any(p["required"] for p in stats.values())


async def test_schema_agrees_with_the_server_on_edge_inputs(anonymous: ApiClient) -> None:
    """Consent must be true or a recorded choice, chat text needs a visible character, the
    release body may be left out (its reason is optional)."""
    doc = await document(anonymous)
    paths, schemas = doc["paths"], doc["components"]["schemas"]

    def body(method: str, path: str) -> dict[str, Any]:
        request_body: dict[str, Any] = paths[path][method]["requestBody"]
        return request_body

    form = resolve(
        doc, body("post", "/api/v1/requests")["content"]["application/json"]["schema"]["$ref"]
    )
    assert form["properties"]["consent"]["anyOf"] == [
        {"const": True},
        {"enum": ["given", "lacks_capacity", "declined"]},
    ]
    assert "consent" in form["required"]
    message = body("post", "/api/v1/requests/{id}/messages")["content"]["application/json"]
    assert resolve(doc, message["schema"]["$ref"])["properties"]["text"]["pattern"] == r"\S"
    release = body("post", "/api/v1/requests/{id}/release")
    assert release["required"] is False
    reason = resolve(doc, release["content"]["application/json"]["schema"]["$ref"])
    assert "required" not in reason and "reason" in reason["properties"]
    assert "ErrorOut" in schemas


@pytest.mark.parametrize(
    ("query", "field"),
    [("series=maybe", "series"), ("heat_map=2", "heat_map"), ("from=nope&to=x", "from")],
)
async def test_bad_stats_query_names_the_parameter(
    sign_in: SignInFactory, query: str, field: str
) -> None:
    """A query value the model refuses is a 422 whose `fields` is keyed by the parameter."""
    status, body = await (await sign_in("supervisor")).get(f"/api/v1/stats?{query}")
    assert status == 422, body
    assert field in body["error"]["fields"], body


async def test_unknown_query_parameters_are_ignored(sign_in: SignInFactory) -> None:
    """A parameter no model names (a cache buster, say) does not fail the request."""
    officer = await sign_in("officer")
    assert (await officer.get("/api/v1/requests?scope=mine&_=123"))[0] == 200
    assert (await officer.post("/api/v1/requests", REQUEST_FORM))[0] == 201
    status, body = await officer.get("/api/v1/requests?_=1")
    assert status == 200 and len(body["requests"]) == 1


async def test_audited_reads_document_the_access_reason(anonymous: ApiClient) -> None:
    """Every read declared audited lists the optional `X-Access-Reason` header, and no
    other operation does."""
    paths = (await document(anonymous))["paths"]
    found = {
        path
        for path, operations in paths.items()
        for operation in operations.values()
        if any(p["name"] == "X-Access-Reason" for p in operation.get("parameters", []))
    }
    assert {"/api/v1/requests/{id}", "/api/v1/referrals", "/api/v1/stats/export.csv"} <= found
    assert "/api/v1/queue" not in found and "/api/v1/requests/{id}/accept" not in found
