"""What the pages read about an assignment beyond its task (``core.board.claims``): a practice
item's expected answer once it is answered, whether a project still holds a volunteer to its
qualification, and a reviewer's reopen with its comment. The projects come through the API;
the reads are the kernel's, on the same Redis."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.board.claims import Claims
from core.errors import AssignmentNotFound
from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.volunteers import Headers, Scene, answer_all, claim, moderation, translation

pytestmark = pytest.mark.anyio

WHY = "A greeting is never spam."


def claims_of(world: Scene) -> Claims:
    return Claims(world.board, world.client, Keys(), max_live=5)


async def moderation_project(world: Scene, **policy: Any) -> str:
    body = {
        "name": "Forum posts",
        "task_type": "moderation",
        "instructions": "Label the post.",
        "languages": ["en"],
        "redundancy": 1,
        **policy,
    }
    created = await world.api.post("/v1/projects", json=body, headers=world.org)
    assert created.status_code == 201, created.text
    project = str(created.json()["id"])
    items = [
        {"payload": moderation(i), "gold_answer": {"label": "ok"}, "gold_explanation": WHY}
        for i in range(2)
    ] + [{"payload": moderation(10)}]
    sent = await world.api.post(
        f"/v1/projects/{project}/tasks", json={"tasks": items}, headers=world.org
    )
    assert sent.json()["accepted"] == 3, sent.text
    return project


async def claim_and_submit(api: httpx.AsyncClient, me: Headers, label: str) -> str:
    claimed = await claim(api, me)
    assert claimed.status_code == 201, claimed.text
    assignment = str(claimed.json()["id"])
    submitted = await api.post(
        f"/v1/assignments/{assignment}/submit", json={"answer": {"label": label}}, headers=me
    )
    assert submitted.status_code == 202, submitted.text
    return assignment


async def test_a_practice_item_shows_the_expected_answer_once_answered_and_only_to_its_author(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project = await moderation_project(
        world, qualification={"gold_tasks": 2, "pass_rate": 0.5, "cooldown_seconds": 0}
    )
    claims = claims_of(world)
    me, headers = await actors.volunteer(["en"])
    other, _ = await actors.volunteer(["en"])
    assert await claims.qualifying(me, project)

    live = await claim(api, headers)
    assignment = str(live.json()["id"])
    held = await claims.get(me, assignment)
    assert held.gold
    with pytest.raises(AssignmentNotFound):  # not answered yet: nothing to reveal
        await claims.practice(me, assignment)
    submitted = await api.post(
        f"/v1/assignments/{assignment}/submit", json={"answer": {"label": "spam"}}, headers=headers
    )
    assert submitted.status_code == 202

    practice = await claims.practice(me, assignment)
    assert (practice.correct, practice.answer, practice.expected) == (
        False,
        {"label": "spam", "reasons": []},
        {"label": "ok", "reasons": []},
    )
    assert practice.explanation == WHY
    assert practice.task_type == "moderation"
    assert practice.qualification is not None
    assert practice.qualification["answered"] == 1
    with pytest.raises(AssignmentNotFound):  # another person's: the same as a random id
        await claims.practice(other, assignment)

    second = await claim_and_submit(api, headers, "ok")
    assert (await claims.practice(me, second)).correct
    # One of two right passes at 0.5: the real task comes next, and it is not gold.
    assert not await claims.qualifying(me, project)
    real = await claim(api, headers)
    assert not (await claims.get(me, str(real.json()["id"]))).gold


async def test_a_real_task_is_no_practice_item(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project = await moderation_project(world)  # no qualification, gold rate 0: real tasks
    claims = claims_of(world)
    me, headers = await actors.volunteer(["en"])
    assert not await claims.qualifying(me, project)
    assignment = await claim_and_submit(api, headers, "ok")
    with pytest.raises(AssignmentNotFound):
        await claims.practice(me, assignment)


async def test_a_reopened_task_carries_the_reviewers_comment_to_its_next_volunteer(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task] = await world.project(1, redundancy=2)
    claims = claims_of(world)
    answerers = [(await actors.volunteer())[1] for _ in range(2)]
    for headers, text in zip(answerers, ["Lavez-vous les mains.", "Lave tes mains."], strict=True):
        await answer_all(api, [headers], {"text": text})
    assert await world.open_review(project, task)
    reviewer, reviewing = await actors.volunteer()
    await world.grant(project, reviewer)
    item = (await api.post("/v1/reviews", json={}, headers=reviewing)).json()

    newcomer, headers = await actors.volunteer()
    decided = await api.post(
        f"/v1/reviews/{item['id']}/decision",
        json={"action": "reopen", "comment": "Both miss the comma."},
        headers=reviewing,
    )
    assert decided.status_code == 200, decided.text
    claimed = await claim(api, headers)
    held = await claims.get(newcomer, str(claimed.json()["id"]))
    assert held.payload == translation(0)
    reopened = await claims.reopened(held)
    assert reopened is not None
    assert reopened.comment == "Both miss the comma."
    assert reopened.at_ms > 0


async def test_a_task_never_reviewed_has_no_reopen(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    claims = claims_of(world)
    me, headers = await actors.volunteer()
    claimed = await claim(api, headers)
    assert await claims.reopened(await claims.get(me, str(claimed.json()["id"]))) is None
