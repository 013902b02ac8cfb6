"""Request ids: taken from X-Request-ID when well-formed, else made; echoed; stored in events.

The events a request's board operations append carry its id, which is how it follows the work
into the actors (tests/e2e/test_canaries.py follows one through real processes).
"""

from __future__ import annotations

import re

import httpx
import pytest
import redis

from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.ngo import new_project, submit, translation
from tests.support.streams import entries

pytestmark = pytest.mark.anyio

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_a_well_formed_request_id_is_echoed(api: httpx.AsyncClient) -> None:
    for given in ("3f2b9c1e-8d4a-4e0f-9b7a-2c5d6e7f8a9b", "req.42:edge-7", "A" * 128):
        response = await api.get("/healthz", headers={"X-Request-ID": given})
        assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", [b"", b"has space", b"a" * 129, b"-starts-with-dash", b"line\\nbreak", "é".encode()]
)
async def test_a_malformed_request_id_is_replaced(api: httpx.AsyncClient, given: bytes) -> None:
    response = await api.get("/healthz", headers={b"X-Request-ID": given})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_each_request_without_one_gets_its_own(api: httpx.AsyncClient) -> None:
    first = (await api.get("/healthz")).headers["X-Request-ID"]
    second = (await api.get("/v1/projects")).headers["X-Request-ID"]  # a 401 gets one too
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


async def test_the_events_a_request_causes_carry_its_id(
    api: httpx.AsyncClient, actors: Actors, redis_client: redis.Redis
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org, redundancy=1))["id"]
    sent = await api.post(
        f"/v1/projects/{project_id}/tasks",
        json={"tasks": [{"payload": translation(1)}]},
        headers={**org, "X-Request-ID": "bulk-1"},
    )
    assert sent.status_code == 200, sent.text
    _, volunteer = await actors.volunteer()
    claim = await api.post("/v1/assignments", json={}, headers=volunteer)
    answered = await api.post(
        f"/v1/assignments/{claim.json()['id']}/submit",
        json={"answer": {"text": "Lavez-vous les mains, 1."}},
        headers={**volunteer, "X-Request-ID": "answer-1"},
    )
    assert answered.status_code == 202, answered.text
    await submit(api, org, project_id, [{"payload": translation(2)}])  # no id given

    events = entries(redis_client, Keys().project(project_id).events)
    ids = [(fields["type"], fields.get("request_id")) for _, fields in events]
    created = [rid for kind, rid in ids if kind == "tasks.created"]
    assert created[0] == "bulk-1"
    assert GENERATED.fullmatch(created[1] or "")
    assert ("answer.submitted", "answer-1") in ids
