"""A task type is one module: a plugin defined only in the tests
(tests/support/plugin_task_type.py) and installed from its entry point goes the whole way, with
nothing else edited.

Listed by ``/v1/task-types``, shown in the ``/docs`` examples (its own sample), a project of it
created, tasks submitted in bulk (JSON and NDJSON), claimed only by volunteers who read every
language the project lists (the type says so), answered, aggregated by the pipeline's own step
into results the NGO reads; and no PO/XLIFF export (the type lists no catalog format).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

import task_types
from core.board.runner import Board
from core.quality.aggregation import aggregate_task
from task_types import registry
from tests.support import plugin_task_type
from tests.support.api.client import Actors
from tests.support.plugin_task_type import NAME

pytestmark = pytest.mark.anyio

EXAMPLE = plugin_task_type.TASK_TYPE.example
assert EXAMPLE is not None


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin installed like any package advertising a task type; the process's registry
    loaded afresh (and the previous one put back afterwards)."""
    site = tmp_path / "site"
    info = site / "ngo_pair_check-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ngo-pair-check\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[ruche.task_types]\n{NAME} = tests.support.plugin_task_type:TASK_TYPE\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_default", None)
    assert task_types.get(NAME) is plugin_task_type.TASK_TYPE
    assert not registry.default_registry().is_builtin(NAME)
    yield


def examples_of(document: dict[str, Any], method: str, path: str, where: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    body = operation["requestBody"] if where == "request" else operation["responses"][where]
    found: dict[str, Any] = body["content"]["application/json"]["examples"]
    return found


async def test_a_plugin_type_goes_from_project_to_results_with_only_its_module(
    installed: None, api: httpx.AsyncClient, actors: Actors, redis_client: redis.Redis
) -> None:
    listed = {t["name"]: t for t in (await api.get("/v1/task-types")).json()}
    assert listed[NAME]["contribution_unit"] == "pairs checked"
    assert set(listed[NAME]["payload_schema"]["properties"]) == {"first", "second"}
    assert listed[NAME]["sensitive_fields"] == ["first", "second"]

    document = (await api.get("/openapi.json")).json()
    new_project = examples_of(document, "post", "/v1/projects", "request")[NAME]["value"]
    assert new_project["task_type"] == NAME and new_project["languages"] == ["fr", "en"]
    bulk = examples_of(document, "post", "/v1/projects/{project_id}/tasks", "request")[NAME]
    assert bulk["value"]["tasks"][0]["payload"] == EXAMPLE.payload
    submit_path = "/v1/assignments/{assignment_id}/submit"
    answer = examples_of(document, "post", submit_path, "request")[NAME]["value"]["answer"]
    assert answer == EXAMPLE.answer
    results_path = "/v1/projects/{project_id}/results"
    shown = examples_of(document, "get", results_path, "200")[NAME]["value"]["items"][0]
    assert shown["answer"] == {"same": True}
    types_shown = examples_of(document, "get", "/v1/task-types", "200")["default"]["value"]
    assert NAME in {t["name"] for t in types_shown}

    _, org = await actors.org()
    # No spot check: every agreed task is resolved, none sampled for a reviewer.
    spec = {**new_project, "redundancy": 2, "review": {"spot_check_rate": 0.0}}
    made = await api.post("/v1/projects", json=spec, headers=org)
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    tasks_path = f"/v1/projects/{project_id}/tasks"
    first = await api.post(tasks_path, json=bulk["value"], headers=org)
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
    line = json.dumps({"external_id": "pair-8", "payload": {"first": "Merci.", "second": "Hi."}})
    second = await api.post(
        tasks_path, content=line, headers={**org, "Content-Type": "application/x-ndjson"}
    )
    assert second.status_code == 200 and second.json()["accepted"] == 1, second.text
    task_ids = {first.json()["task_ids"][0]: True, second.json()["task_ids"][0]: False}

    # The type needs every language the project lists: French alone is not enough.
    _, french_only = await actors.volunteer(["fr"])
    refused = await api.post("/v1/assignments", json={}, headers=french_only)
    assert refused.status_code == 204, refused.text

    for _ in range(2):
        _, volunteer = await actors.volunteer(["fr-CA", "en"])
        for _ in task_ids:
            claim = await api.post("/v1/assignments", json={}, headers=volunteer)
            assert claim.status_code == 201, claim.text
            assert claim.json()["task"]["type"] == NAME
            same = claim.json()["task"]["payload"] == EXAMPLE.payload
            sent = await api.post(
                f"/v1/assignments/{claim.json()['id']}/submit",
                json={"answer": {"same": same}, "seconds_spent": 12},
                headers=volunteer,
            )
            assert sent.status_code == 202, sent.text

    board = Board(redis_client)
    for task_id in task_ids:  # what the tasks.aggregate actor runs on answer.submitted
        done = aggregate_task(board, project_id, task_id)
        assert done.outcome.value == "resolved", done

    results = (await api.get(f"/v1/projects/{project_id}/results", headers=org)).json()["items"]
    assert {r["task_id"]: r["answer"] for r in results} == {
        task_id: {"same": same} for task_id, same in task_ids.items()
    }
    assert {r["method"] for r in results} == {"agreement"}
    po = await api.get(f"/v1/projects/{project_id}/export?format=po", headers=org)
    assert po.status_code == 422 and po.json()["error"]["code"] == "unsupported_format"
