"""A boolean is not a number: ``true`` is refused where an integer or a rate is wanted.

pydantic's lax mode took ``true`` as 1 (and ``false`` as 0) for a project's redundancy or
priority, a task's priority, a lease's length, a rate, a weekly goal, the seconds spent on an
answer, and ``1`` as ``true`` for the charter's acceptance. Each is now refused with 422
``invalid_request`` at the field (``int_type``, ``float_type``, ``bool_type``); numbers keep
working, an integer included where a rate (a float) is wanted.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api.client import Actors
from tests.support.api.volunteers import GOOD_ANSWERS, Scene, claim

pytestmark = pytest.mark.anyio

NEW = {"name": "P", "task_type": "translation", "instructions": "Translate."}


def refused_at(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    return [(".".join(map(str, d["loc"][1:])), d["type"]) for d in details]


async def test_booleans_are_not_numbers_on_any_route(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project_id, _ = await world.project(2)
    _, me = await actors.volunteer()
    project_fields: dict[str, tuple[Any, str]] = {
        "redundancy": (True, "int_type"),
        "priority": (True, "int_type"),
        "lease_seconds": (True, "int_type"),
        "max_redundancy": (True, "int_type"),
        "gold_rate": (False, "float_type"),
        "reputation_floor": (True, "float_type"),
        "review": ({"spot_check_rate": True}, "float_type"),
        "gold": ({"warmup_tasks": True}, "int_type"),
        "qualification": ({"gold_tasks": True}, "int_type"),
    }
    for field, (value, kind) in project_fields.items():
        created = await api.post("/v1/projects", json={**NEW, field: value}, headers=world.org)
        [(where, got)] = refused_at(created)
        assert (where.split(".")[0], got) == (field, kind), created.text
        edited = await api.patch(
            f"/v1/projects/{project_id}", json={field: value}, headers=world.org
        )
        [(where, got)] = refused_at(edited)
        assert (where.split(".")[0], got) == (field, kind), edited.text

    goal = await api.put("/v1/me/goal", json={"weekly_minutes": True}, headers=me)
    assert refused_at(goal) == [("weekly_minutes", "int_type")]
    charter = await api.post("/v1/me/charter", json={"accept": 1}, headers=me)
    assert refused_at(charter) == [("accept", "bool_type")]
    held = (await claim(api, me)).json()["id"]
    answer = GOOD_ANSWERS["translation"]
    submitted = await api.post(
        f"/v1/assignments/{held}/submit",
        json={"answer": answer, "seconds_spent": True},
        headers=me,
    )
    assert refused_at(submitted) == [("seconds_spent", "float_type")]

    bulk = await api.post(
        f"/v1/projects/{project_id}/tasks",
        json={"tasks": [{"payload": {"source_text": "Hi", "source_lang": "en",
                                     "target_lang": "fr"}, "priority": True}]},
        headers=world.org,
    )  # fmt: skip
    assert bulk.status_code == 200, bulk.text
    [rejected] = bulk.json()["rejected"]
    assert [(e["loc"], e["type"]) for e in rejected["errors"]] == [(["priority"], "int_type")]


async def test_numbers_still_work(api: httpx.AsyncClient, actors: Actors, world: Scene) -> None:
    created = await api.post(
        "/v1/projects",
        json={**NEW, "redundancy": 2, "priority": -3, "gold_rate": 0, "review": {
            "spot_check_rate": 1}},
        headers=world.org,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert (created.json()["gold_rate"], created.json()["priority"]) == (0.0, -3)
    project_id, _ = await world.project(1)
    _, me = await actors.volunteer()
    held = (await claim(api, me, project_id=project_id)).json()["id"]
    submitted = await api.post(
        f"/v1/assignments/{held}/submit",
        json={"answer": GOOD_ANSWERS["translation"], "seconds_spent": 12},
        headers=me,
    )
    assert submitted.status_code == 202, submitted.text
