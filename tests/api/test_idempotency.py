"""Idempotency-Key on bulk submission: replay, mismatch, scoping, and concurrent retries."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.support.api.client import Actors
from tests.support.api.ngo import new_project, translation

pytestmark = pytest.mark.anyio


def batch(n: int, start: int = 0) -> dict[str, list[dict[str, object]]]:
    return {"tasks": [{"payload": translation(i)} for i in range(start, start + n)]}


async def open_count(api: httpx.AsyncClient, headers: dict[str, str], project_id: str) -> int:
    project = (await api.get(f"/v1/projects/{project_id}", headers=headers)).json()
    return int(project["counts"]["open"])


async def test_the_same_key_and_body_replay_the_first_response(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    url = f"/v1/projects/{project_id}/tasks"
    headers = {**org, "Idempotency-Key": "batch-2024-06-01"}
    body = json.dumps({"tasks": [*batch(3)["tasks"], {"payload": {"bad": 1}}]}).encode()
    headers["Content-Type"] = "application/json"

    first = await api.post(url, content=body, headers=headers)
    assert first.status_code == 200 and first.json()["accepted"] == 3
    assert "idempotent-replayed" not in first.headers
    again = await api.post(url, content=body, headers=headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await open_count(api, org, project_id) == 3


async def test_the_same_key_with_another_body_or_project_is_refused(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    other_id = (await new_project(api, org, name="Other"))["id"]
    headers = {**org, "Idempotency-Key": "k1"}
    assert (
        await api.post(f"/v1/projects/{project_id}/tasks", json=batch(2), headers=headers)
    ).status_code == 200
    for url, body in [
        (f"/v1/projects/{project_id}/tasks", batch(3)),
        (f"/v1/projects/{other_id}/tasks", batch(2)),
    ]:
        response = await api.post(url, json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert await open_count(api, org, project_id) == 2
    assert await open_count(api, org, other_id) == 0


async def test_keys_are_scoped_to_one_organisation(api: httpx.AsyncClient, actors: Actors) -> None:
    _, first = await actors.org("First")
    _, second = await actors.org("Second")
    first_project = (await new_project(api, first))["id"]
    second_project = (await new_project(api, second))["id"]
    for headers, project_id in ((first, first_project), (second, second_project)):
        response = await api.post(
            f"/v1/projects/{project_id}/tasks",
            json=batch(2),
            headers={**headers, "Idempotency-Key": "shared-name"},
        )
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers
        assert await open_count(api, headers, project_id) == 2


async def test_a_failed_request_lets_its_key_go(api: httpx.AsyncClient, actors: Actors) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    url = f"/v1/projects/{project_id}/tasks"
    headers = {**org, "Idempotency-Key": "retry-me"}
    too_many = await api.post(url, json={"tasks": [{"payload": {}}] * 10_001}, headers=headers)
    assert too_many.status_code == 422
    fixed = await api.post(url, json=batch(2), headers=headers)
    assert fixed.status_code == 200 and fixed.json()["accepted"] == 2


async def test_an_overlong_key_is_refused(api: httpx.AsyncClient, actors: Actors) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    response = await api.post(
        f"/v1/projects/{project_id}/tasks",
        json=batch(1),
        headers={**org, "Idempotency-Key": "k" * 201},
    )
    assert response.status_code == 422
    assert await open_count(api, org, project_id) == 0


# What a client is told to retry with the same key: nothing was done, or what is being done is
# not finished yet (tasks.py's description of the route).
RETRY_LATER = {503: "redis_unavailable", 409: "idempotency_in_progress"}


async def post_as_a_client_does(
    api: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST, retrying what the API says to retry later, as a client does."""
    for _ in range(30):
        response = await api.post(url, content=body, headers=headers)
        if response.status_code not in RETRY_LATER:
            return response
        assert response.json()["error"]["code"] == RETRY_LATER[response.status_code]
        await asyncio.sleep(float(response.headers.get("retry-after", 0.2)))
    raise AssertionError(f"still told to retry later after 30 tries: {response.text}")


async def test_fifty_concurrent_identical_requests_create_exactly_one_batch(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    body = json.dumps(batch(40)).encode()
    headers = {**org, "Idempotency-Key": "storm", "Content-Type": "application/json"}

    # On a starved CPU the fifty requests, in one event loop with the app, can outlast the
    # app's limits (its 2 s Redis timeouts, the 5 s wait for the first request's response):
    # those are told to retry later, and retried, with the same key. On a quiet machine none is.
    url = f"/v1/projects/{project_id}/tasks"
    responses = await asyncio.gather(
        *(post_as_a_client_does(api, url, body, headers) for _ in range(50))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["accepted"] == 40
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert await open_count(api, org, project_id) == 40
