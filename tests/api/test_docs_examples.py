"""/docs examples: every route has them, and every one of them is valid.

Checked three ways: against the JSON Schema the OpenAPI document gives for that body (through
jsonschema-rs, with the document's components), against the route's own pydantic models, and
against the task types (payloads and answers). Then the per-type examples are sent through the
app on a real Redis: a project, a bulk submission, a claim and an answer made of them succeed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from api import metrics
from api.main import create_app
from api.openapi.samples import Sample, samples_of
from api.routes import (
    assignments,
    certificates,
    charter,
    health,
    invitations,
    org_limits,
    orgs,
    privacy,
    projects,
    reputation,
    results,
    reviewers,
    reviews,
    task_types,
    tasks,
    volunteers,
    webhooks,
)
from core.board.bulk import TaskItem
from core.settings import Settings
from task_types import all_types, names
from tests.support.api.client import Actors

APP: FastAPI = create_app(Settings(redis_url="redis://127.0.0.1:1/0"))  # never connected
DOCUMENT: dict[str, Any] = APP.openapi()
SAMPLES = samples_of(all_types())
BY_NAME = {sample.name: sample for sample in SAMPLES}
ROUTE_MODULES = (assignments, certificates, charter, health, invitations, org_limits, orgs,
                 privacy, projects, reputation, results, reviewers, reviews, task_types, tasks,
                 volunteers, webhooks)  # fmt: skip


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def bodies(operation: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, media type, content) of the request body and of each successful response."""
    for media, content in operation.get("requestBody", {}).get("content", {}).items():
        yield "request", media, content
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            for media, content in response.get("content", {}).items():
                yield status, media, content


# The app's own router holds the hot routes (api.routes.assignments.add_hot_routes).
ROUTERS = [APP.router, metrics.router, *(module.router for module in ROUTE_MODULES)]


def route(method: str, path: str) -> APIRoute:
    """The route behind an operation (a module missing from ROUTE_MODULES fails here)."""
    return next(
        r
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and method in (r.methods or ())
    )


ALL = [pytest.param(m, p, o, id=f"{m} {p}") for m, p, o in operations()]


def test_every_route_is_covered() -> None:
    assert len(ALL) >= 38
    # Every registered type declares an example its own rules accept (TaskType.example).
    assert len(SAMPLES) >= 3
    assert {sample.name for sample in SAMPLES} == set(names())


@pytest.mark.parametrize(("method", "path", "operation"), ALL)
def test_every_body_has_examples(method: str, path: str, operation: dict[str, Any]) -> None:
    found = list(bodies(operation))
    has_body = route(method, path).body_field is not None or "requestBody" in operation
    assert not has_body or any(where == "request" for where, _, _ in found), "no request body"
    assert any(where != "request" for where, _, _ in found) or operation["responses"].get("204"), (
        "a route answering with a body must show one"
    )
    for where, media, content in found:
        assert content.get("examples"), f"{where} {media} has no example"


@pytest.mark.parametrize(("method", "path", "operation"), ALL)
def test_every_example_fits_its_schema(method: str, path: str, operation: dict[str, Any]) -> None:
    for where, media, content in bodies(operation):
        schema = content.get("schema")
        for name, example in content["examples"].items():
            value = example["value"]
            if media == "application/json":
                assert schema is not None
                validator = jsonschema_rs.validator_for({**schema, **DOCUMENT})
                errors = [e.message for e in validator.iter_errors(value)]
                assert not errors, f"{where} example {name!r}: {errors}"
            else:
                assert isinstance(value, str) and value.endswith("\n"), f"{where} {name!r}"
                if "ndjson" in media:
                    for line in value.splitlines():
                        json.loads(line)


@pytest.mark.parametrize(("method", "path", "operation"), ALL)
def test_every_example_fits_the_routes_models(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    api_route = route(method, path)
    for where, media, content in bodies(operation):
        for name, example in content["examples"].items():
            value = example["value"]
            if where == "request" and api_route.body_field is not None:
                body_model = api_route.body_field.field_info.annotation
                assert body_model is not None, f"{method} {path}: a body without a model"
                TypeAdapter(body_model).validate_python(value)
            elif where == "request" and media.endswith("ndjson"):
                for line in value.splitlines():
                    TaskItem.model_validate_json(line)
            elif (
                where == str(api_route.status_code or 200)
                and media == "application/json"
                and api_route.response_model is not None
            ):
                TypeAdapter(api_route.response_model).validate_python(value)
            check_task_type_parts(name, value)


def check_task_type_parts(name: str, value: Any) -> None:
    """Payloads pass their type's checks, and answers their type's checks against them."""
    sample = BY_NAME.get(name.removeprefix("correct_"))
    if sample is None:
        return
    parsed = sample.task_type.parse_payload(sample.payload)
    for payload in find(value, "payload"):
        sample.task_type.parse_payload(payload)
    for answer in find(value, "answer"):
        sample.task_type.parse_answer(parsed, answer)


def find(value: Any, key: str) -> Iterator[Any]:
    """Every value under ``key`` in a JSON document (NDJSON lines included)."""
    if isinstance(value, str):
        for line in value.splitlines():
            if line.startswith("{"):
                yield from find(json.loads(line), key)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, dict):
                yield v
            else:
                yield from find(v, key)
    elif isinstance(value, list):
        for item in value:
            yield from find(item, key)


def request_example(method: str, path: str, name: str, media: str = "application/json") -> Any:
    """The value of one request example of the document."""
    body = DOCUMENT["paths"][path][method.lower()]["requestBody"]
    return body["content"][media]["examples"][name]["value"]


@pytest.mark.anyio
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
async def test_the_per_type_examples_work_through_the_app(
    api: httpx.AsyncClient, actors: Actors, sample: Sample
) -> None:
    _, org = await actors.org()
    new_project = request_example("POST", "/v1/projects", sample.name)
    made = await api.post("/v1/projects", json=new_project, headers=org)
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    tasks = "/v1/projects/{project_id}/tasks"
    bulk = request_example("POST", tasks, sample.name)
    sent = await api.post(f"/v1/projects/{project_id}/tasks", json=bulk, headers=org)
    assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
    again = await api.post(
        f"/v1/projects/{project_id}/tasks",
        content=request_example("POST", tasks, sample.name, "application/x-ndjson"),
        headers={**org, "Content-Type": "application/x-ndjson"},
    )
    assert again.status_code == 200 and again.json()["duplicates"] == 1, again.text

    _, volunteer = await actors.volunteer(["fr", "en"])
    claim = await api.post("/v1/assignments", json={"project_id": project_id}, headers=volunteer)
    assert claim.status_code == 201, claim.text
    assert claim.json()["task"]["payload"] == sample.payload
    answered = await api.post(
        f"/v1/assignments/{claim.json()['id']}/submit",
        json=request_example("POST", "/v1/assignments/{assignment_id}/submit", sample.name),
        headers=volunteer,
    )
    assert answered.status_code == 202, answered.text
