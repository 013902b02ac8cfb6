"""Reputation where people see it: a project's floor keeps a volunteer whose answers are mostly
wrong away from its task type, the NGO can see why, and volunteers see their own accuracy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis

from core.quality.gold import settle_gold_answer
from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.volunteers import Headers, Scene, claim, moderation
from tests.support.board import TestBoard
from tests.support.streams import entries

pytestmark = pytest.mark.anyio

# core.quality.reputation_model.FLOOR_MIN_EVIDENCE: a floor needs this much evidence
GOLD_ANSWERED = 8


async def floored_project(world: Scene) -> str:
    created = await world.api.post(
        "/v1/projects",
        json={
            "name": "Forum posts",
            "task_type": "moderation",
            "instructions": "Label the post.",
            "languages": ["en"],
            "redundancy": 1,
            "gold_rate": 1.0,
            "reputation_floor": 0.5,
        },
        headers=world.org,
    )
    assert created.status_code == 201, created.text
    project = str(created.json()["id"])
    items: list[dict[str, Any]] = [
        {"payload": moderation(100 + i), "gold_answer": {"label": "ok"}} for i in range(12)
    ]
    items += [{"payload": moderation(i)} for i in range(3)]
    added = await world.api.post(
        f"/v1/projects/{project}/tasks", json={"tasks": items}, headers=world.org
    )
    assert added.status_code == 200 and added.json()["accepted"] == 15, added.text
    return project


async def answer_gold(api: httpx.AsyncClient, me: Headers, label: str, times: int) -> None:
    for _ in range(times):
        assignment = (await claim(api, me)).json()
        submitted = await api.post(
            f"/v1/assignments/{assignment['id']}/submit",
            json={"answer": {"label": label}},
            headers=me,
        )
        assert submitted.status_code == 202, submitted.text


def settle_gold(redis_url: str, project: str) -> None:
    """What the quality.gold actor does with each gold.answered event."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        board = TestBoard(client)
        for _, fields in entries(client, Keys().project(project).events):
            if fields["type"] == "gold.answered":
                settle_gold_answer(board, project, fields)
    finally:
        client.close()


async def test_a_volunteer_below_the_floor_is_no_longer_served_and_the_ngo_sees_why(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_url: str
) -> None:
    project = await floored_project(world)
    wrong_id, wrong = await actors.volunteer(["en"])
    right_id, right = await actors.volunteer(["en"])
    await answer_gold(api, wrong, "spam", GOLD_ANSWERED)
    await answer_gold(api, right, "ok", 2)
    settle_gold(redis_url, project)

    assert (await claim(api, wrong)).status_code == 204  # below the floor: nothing of this type
    assert (await claim(api, right)).status_code == 201

    why = await api.get(
        f"/v1/projects/{project}/volunteers/{wrong_id}/reputation", headers=world.org
    )
    assert why.status_code == 200, why.text
    standing = why.json()["standing"]
    assert why.json()["task_type"] == "moderation"
    assert standing["below_floor"] is True and standing["floor"] == 0.5
    assert standing["accuracy"] < 0.5 and standing["observations"]["gold"] == GOLD_ANSWERED
    fine = await api.get(
        f"/v1/projects/{project}/volunteers/{right_id}/reputation", headers=world.org
    )
    assert fine.json()["standing"]["below_floor"] is False


async def test_volunteers_see_their_own_accuracy(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_url: str
) -> None:
    project = await floored_project(world)
    _, newcomer = await actors.volunteer(["en"])
    _, careful = await actors.volunteer(["en"])
    await answer_gold(api, careful, "ok", 4)
    settle_gold(redis_url, project)

    fresh = (await api.get("/v1/me", headers=newcomer)).json()["accuracy"]["moderation"]
    assert fresh["prior_only"] is True
    seen = (await api.get("/v1/me", headers=careful)).json()["accuracy"]["moderation"]
    assert seen["prior_only"] is False and seen["accuracy"] > fresh["accuracy"]


async def test_only_volunteers_who_worked_on_the_project_can_be_looked_up(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project = await floored_project(world)
    stranger_id, _ = await actors.volunteer(["en"])
    _, other_org = await actors.org("Other NGO")
    worker_id, worker = await actors.volunteer(["en"])
    await answer_gold(api, worker, "ok", 1)

    path = f"/v1/projects/{project}/volunteers/{{}}/reputation"
    stranger = await api.get(path.format(stranger_id), headers=world.org)
    unknown = await api.get(path.format("vol_" + "a" * 20), headers=world.org)
    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json() == unknown.json()
    elsewhere = await api.get(path.format(worker_id), headers=other_org)
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"]["code"] == "project_not_found"
