"""The public list of task types, and the OpenAPI document of the NGO routes."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_task_types_are_listed_with_their_schemas_without_a_token(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/v1/task-types")
    assert response.status_code == 200
    by_name = {t["name"]: t for t in response.json()}
    assert {"translation", "data_entry", "moderation"} <= set(by_name)
    translation = by_name["translation"]
    assert "source_text" in translation["payload_schema"]["properties"]
    assert "text" in translation["answer_schema"]["properties"]
    assert translation["contribution_unit"]


async def test_every_ngo_route_is_documented_with_its_response_and_error_shape(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    expected = {
        ("post", "/v1/orgs"),
        ("get", "/v1/org"),
        ("post", "/v1/org/keys"),
        ("get", "/v1/org/keys"),
        ("delete", "/v1/org/keys/{key_id}"),
        ("post", "/v1/projects"),
        ("get", "/v1/projects"),
        ("get", "/v1/projects/{project_id}"),
        ("patch", "/v1/projects/{project_id}"),
        ("post", "/v1/projects/{project_id}/tasks"),
        ("get", "/v1/projects/{project_id}/tasks/{task_id}"),
        ("get", "/v1/projects/{project_id}/results"),
        ("get", "/v1/projects/{project_id}/export"),
        ("put", "/v1/webhook"),
        ("get", "/v1/webhook"),
        ("get", "/v1/webhook/deliveries"),
        ("post", "/v1/webhook/deliveries/{delivery_id}/redeliver"),
        ("post", "/v1/projects/{project_id}/reviewers"),
        ("delete", "/v1/projects/{project_id}/reviewers/{volunteer_id}"),
        ("get", "/v1/task-types"),
    }
    for method, path in expected:
        operation = spec["paths"][path][method]
        success = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        assert success, (method, path)
        for status, response in success.items():
            if status != "204":
                assert response.get("content"), (method, path)
        if path != "/v1/task-types":
            assert "401" in operation["responses"], (method, path)
    bulk = spec["paths"]["/v1/projects/{project_id}/tasks"]["post"]
    assert set(bulk["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert "10,000" in bulk["description"] and "Idempotency-Key" in bulk["description"]
