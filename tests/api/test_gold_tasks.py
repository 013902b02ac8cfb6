"""Gold (control) tasks and qualification, through the API on a real Redis.

A gold task must look exactly like any other to the volunteer, never count as progress or
become a result, be scored when answered (with feedback), and gate a project's real tasks when
it asks for qualification.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest
import redis

from core.board.models import Claimed, GoldPolicy
from core.board.operations import BoardOps
from core.board.runner import BoardPolicy, NewTask
from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.quality.gold import settle_gold_answer
from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.volunteers import Headers, Scene, claim, moderation
from tests.support.board import TestBoard
from tests.support.streams import entries

pytestmark = pytest.mark.anyio

MODERATION: dict[str, Any] = {
    "name": "Forum posts",
    "task_type": "moderation",
    "instructions": "Label the post.",
    "languages": ["en"],
    "redundancy": 1,
}
WHY = "Greetings are fine."


async def add_tasks(world: Scene, project: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    response = await world.api.post(
        f"/v1/projects/{project}/tasks", json={"tasks": items}, headers=world.org
    )
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [], response.text
    return dict(response.json())


def gold(i: int, label: str = "ok") -> dict[str, Any]:
    return {
        "payload": moderation(100 + i),
        "gold_answer": {"label": label},
        "gold_explanation": WHY,
    }


async def new_project(world: Scene, **policy: Any) -> str:
    created = await world.api.post("/v1/projects", json={**MODERATION, **policy}, headers=world.org)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def submit(api: httpx.AsyncClient, me: Headers, assignment: str, label: str) -> None:
    response = await api.post(
        f"/v1/assignments/{assignment}/submit", json={"answer": {"label": label}}, headers=me
    )
    assert response.status_code == 202, response.text
    assert set(response.json()) == {"submission_id"}


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and value types, not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def events(redis_url: str, project: str) -> list[dict[str, str]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [fields for _, fields in entries(client, Keys().project(project).events)]
    finally:
        client.close()


async def test_a_gold_task_looks_exactly_like_any_other_task(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project = await new_project(world, gold_rate=1.0)  # every claim is gold while there is one
    await add_tasks(world, project, [gold(0), {"payload": moderation(1)}])
    _, me = await actors.volunteer(["en"])

    served = []
    for _ in range(2):
        response = await claim(api, me)
        assert response.status_code == 201, response.text
        served.append(response.json())
        again = await api.get(f"/v1/assignments/{served[-1]['id']}", headers=me)
        assert again.status_code == 200
        assert shape(again.json()) == shape(served[-1])
    gold_one, real_one = served
    assert gold_one["task"]["payload"] == moderation(100)  # the gold task came first
    assert real_one["task"]["payload"] == moderation(1)
    assert shape(gold_one) == shape(real_one)
    assert set(gold_one["task"]) == set(real_one["task"])
    assert len(gold_one["id"]) == len(real_one["id"])
    assert gold_one["task"]["instructions"] == real_one["task"]["instructions"]
    assert "gold" not in str(gold_one).lower()


async def test_gold_never_counts_as_progress_or_becomes_a_result(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_url: str
) -> None:
    project = await new_project(world, gold_rate=1.0)
    outcome = await add_tasks(world, project, [gold(0), {"payload": moderation(1)}])
    assert outcome["accepted"] == 2
    before = (await api.get(f"/v1/projects/{project}", headers=world.org)).json()
    assert before["counts"]["open"] == 1 and sum(before["counts"].values()) == 1
    assert before["gold_tasks"] == 1

    _, me = await actors.volunteer(["en"])
    assignment = (await claim(api, me)).json()
    await submit(api, me, assignment["id"], "ok")

    after = (await api.get(f"/v1/projects/{project}", headers=world.org)).json()
    assert after["counts"] == before["counts"]
    results = await api.get(f"/v1/projects/{project}/results", headers=world.org)
    assert results.json()["items"] == []
    task = await api.get(
        f"/v1/projects/{project}/tasks/{assignment['task']['id']}", headers=world.org
    )
    assert task.json()["state"] == "gold"
    kinds = Counter(e["type"] for e in events(redis_url, project))
    assert kinds["gold.answered"] == 1
    assert kinds["answer.submitted"] == 0  # nothing for the aggregation actor


async def test_a_gold_answer_is_scored_and_the_volunteer_told_why(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_url: str
) -> None:
    project = await new_project(world, gold_rate=1.0)
    await add_tasks(world, project, [gold(0, "ok"), gold(1, "spam")])
    volunteer_id, me = await actors.volunteer(["en"])
    for _ in range(2):
        assignment = (await claim(api, me)).json()
        await submit(api, me, assignment["id"], "ok")  # right once, wrong once

    answered = [e for e in events(redis_url, project) if e["type"] == "gold.answered"]
    assert sorted(e["correct"] for e in answered) == ["0", "1"]
    assert sorted(float(e["score"]) for e in answered) == [0.0, 1.0]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        board = TestBoard(client)
        for fields in answered * 2:  # the actor's work, delivered twice: one effect
            settle_gold_answer(board, project, fields)
    finally:
        client.close()

    me_now = (await api.get("/v1/me", headers=me)).json()
    feedback = [item for item in me_now["feedback"] if item["kind"] == "gold"]
    assert sorted(item["outcome"] for item in feedback) == ["correct", "incorrect"]
    wrong = next(item for item in feedback if item["outcome"] == "incorrect")
    assert wrong["expected"] == {"label": "spam", "reasons": []}
    assert wrong["explanation"] == WHY
    # What it was about: the task as they saw it, their answer and the one expected, the
    # project and its NGO, at an ISO 8601 time like every other.
    assert wrong["task"]["labels"] == ["ok", "spam"]
    assert wrong["your_answer"] == {"label": "ok", "reasons": []}
    assert wrong["final_answer"] == {"label": "spam", "reasons": []}
    assert wrong["project_name"] and wrong["organisation"] == "Helping Hands"
    assert datetime.fromisoformat(wrong["at"]).tzinfo is not None
    assert volunteer_id not in str(feedback)


async def test_a_project_asking_for_qualification_serves_only_gold_until_passed(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project = await new_project(
        world, qualification={"gold_tasks": 2, "pass_rate": 1.0, "cooldown_seconds": 3600}
    )
    await add_tasks(world, project, [{"payload": moderation(i)} for i in range(3)])
    await add_tasks(world, project, [gold(i, "ok") for i in range(4)])
    real = {moderation(i)["content"] for i in range(3)}

    _, passing = await actors.volunteer(["en"])
    for _ in range(2):
        assignment = (await claim(api, passing)).json()
        assert assignment["task"]["payload"]["content"] not in real
        await submit(api, passing, assignment["id"], "ok")
    # Qualified: real tasks from now on (gold_rate 0 after qualification).
    assignment = (await claim(api, passing)).json()
    assert assignment["task"]["payload"]["content"] in real

    _, failing = await actors.volunteer(["en"])
    for label in ("spam", "ok"):
        assignment = (await claim(api, failing)).json()
        assert assignment["task"]["payload"]["content"] not in real
        await submit(api, failing, assignment["id"], label)
    # One wrong of two at pass rate 1.0: the round failed, nothing until the cool-down ends.
    assert (await claim(api, failing)).status_code == 204


async def test_without_gold_left_a_volunteer_needing_qualification_gets_nothing(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project = await new_project(world, qualification={"gold_tasks": 1})
    await add_tasks(world, project, [{"payload": moderation(0)}])
    _, me = await actors.volunteer(["en"])
    assert (await claim(api, me)).status_code == 204


def test_the_gold_share_decays_with_experience(redis_client: redis.Redis) -> None:
    """The schedule claim.lua follows (40 % for 20 tasks, down to 10 % at 60), with the draws
    given, so each claim's decision is known: gold exactly when the draw is below the rate."""
    board = TestBoard(redis_client, clock=ManualClock())
    ops: BoardOps = board.ops
    policy = BoardPolicy(redundancy=1, gold=GoldPolicy(start_rate=0.4, end_rate=0.1))
    project = board.create_project(policy)
    board.create_tasks(project, [NewTask({"n": i}) for i in range(100)])
    golds = [NewTask({"g": i}, gold={"answer": {}, "explanation": None}) for i in range(100)]
    board.create_tasks(project, golds)
    me = new_volunteer_id()

    def is_gold(draw: float) -> bool:
        claimed = board.run(ops.claim(project, me, draws=(draw, 0.5)))
        assert isinstance(claimed, Claimed)
        gold = "g" in claimed.payload
        assert claimed.gold is gold  # the reply says so (the API relies on it: core.board.claims)
        return gold

    # seen = tasks claimed so far in the project (each claim adds one).
    assert [is_gold(0.39) for _ in range(20)] == [True] * 20  # seen 0..19: rate 0.4
    assert is_gold(0.41) is False  # seen 20: still 0.4
    # seen 21..39 decays: at seen 40 the rate is 0.25.
    for _ in range(19):
        is_gold(0.99)
    assert is_gold(0.24) is True  # seen 40: 0.25
    assert is_gold(0.26) is False  # seen 41: 0.2425
    for _ in range(18):
        is_gold(0.99)
    assert is_gold(0.099) is True  # seen 60: 0.1
    assert is_gold(0.101) is False
