"""A project past its deadline, through the API: closed, its waiting tasks expired, the lease a
volunteer held ended, new tasks and state or deadline edits refused with 409 ``project_closed``.

The API runs on Redis time; the sweep here runs with a manual clock set two hours ahead, which is
how the deadline "passes" without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis

from core.clock import ManualClock
from core.projects.deadlines import sweep_deadlines
from tests.support.api.client import Actors
from tests.support.api.ngo import new_project, submit, translation
from tests.support.board import TestBoard

pytestmark = pytest.mark.anyio


async def test_after_the_deadline_the_project_is_closed_and_its_tasks_expired(
    api: httpx.AsyncClient, actors: Actors, redis_client: redis.Redis
) -> None:
    _, org = await actors.org()
    deadline = datetime.now(UTC) + timedelta(hours=1)
    project = await new_project(api, org, deadline=deadline.isoformat(), redundancy=2)
    assert redis_client.hget(f"ruche:{{p:{project['id']}}}:project", "deadline_ms") == str(
        int(deadline.timestamp() * 1000)
    )
    await submit(api, org, project["id"], [{"payload": translation(i)} for i in range(3)])
    _, volunteer = await actors.volunteer()
    claimed = await api.post("/v1/assignments", json={}, headers=volunteer)
    assert claimed.status_code == 201, claimed.text
    assignment = claimed.json()

    later = ManualClock(time.time_ns() // 1_000_000 + 2 * 3_600_000)
    totals = sweep_deadlines(TestBoard(redis_client, clock=later))

    assert (totals.closed, totals.expired, totals.ended) == (1, 3, 1)
    fetched = (await api.get(f"/v1/projects/{project['id']}", headers=org)).json()
    assert fetched["state"] == "closed"
    assert fetched["counts"]["expired"] == 3 and fetched["counts"]["open"] == 0
    late = await api.post(
        f"/v1/assignments/{assignment['id']}/submit",
        json={"answer": {"text": "Lavez-vous les mains."}},
        headers=volunteer,
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "lease_not_live"
    assert (await api.post("/v1/assignments", json={}, headers=volunteer)).status_code == 204
    more = await api.post(
        f"/v1/projects/{project['id']}/tasks",
        json={"tasks": [{"payload": translation(9)}]},
        headers=org,
    )
    assert more.status_code == 409 and more.json()["error"]["code"] == "project_closed"
    for change in ({"state": "active"}, {"deadline": "2999-01-01T00:00:00Z"}):
        refused = await api.patch(f"/v1/projects/{project['id']}", json=change, headers=org)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "project_closed"
    renamed = await api.patch(f"/v1/projects/{project['id']}", json={"name": "Done"}, headers=org)
    assert renamed.status_code == 200 and renamed.json()["state"] == "closed"
