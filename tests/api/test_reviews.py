"""Reviews through the API: who may review, what they see, and each decision.

Review items are opened on the board directly (the aggregation actor's job, a later issue).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
import structlog

from core.delivery.results import Result
from core.quality.outcomes import PipelineOps
from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.volunteers import (
    Headers,
    Scene,
    answer_all,
    assert_error,
    claim,
    translation,
)
from tests.support.board import TestBoard
from tests.support.streams import entries

pytestmark = pytest.mark.anyio

PRIVATE = "Kilimanjaro-5895-secret"


async def in_review(
    api: httpx.AsyncClient,
    actors: Actors,
    world: Scene,
    *,
    n_tasks: int = 1,
    answers: list[dict[str, Any]] | None = None,
    **project: Any,
) -> tuple[str, list[str], list[Headers], list[str]]:
    """A project whose tasks all got two answers and went to review.

    Returns (project id, task ids, the answerers' headers, their submission ids).
    """
    project_id, tasks = await world.project(n_tasks, redundancy=2, **project)
    answerers = [(await actors.volunteer())[1] for _ in range(2)]
    given = answers or [{"text": "Lavez-vous les mains."}, {"text": "Lave tes mains."}]
    submissions = []
    for _ in tasks:
        for headers, answer in zip(answerers, given, strict=True):
            submissions += await answer_all(api, [headers], answer)
    for task in tasks:
        assert await world.open_review(project_id, task)
    return project_id, tasks, answerers, submissions


async def reviewer(actors: Actors, world: Scene, *projects: str) -> tuple[str, Headers]:
    volunteer_id, headers = await actors.volunteer()
    for project_id in projects:
        await world.grant(project_id, volunteer_id)
    return volunteer_id, headers


async def claim_review(api: httpx.AsyncClient, headers: Headers, **body: Any) -> httpx.Response:
    return await api.post("/v1/reviews", json=body, headers=headers)


async def decide(
    api: httpx.AsyncClient, headers: Headers, review_id: str, **body: Any
) -> httpx.Response:
    return await api.post(f"/v1/reviews/{review_id}/decision", json=body, headers=headers)


# -- who may review ----------------------------------------------------------------------------


async def test_a_volunteer_without_review_rights_is_403(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await in_review(api, actors, world)
    _, plain = await actors.volunteer()
    assert_error(await claim_review(api, plain), 403, "not_a_reviewer")


async def test_reviewers_accept_the_charter_too(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, _, _, _ = await in_review(api, actors, world)
    volunteer_id, headers = await actors.volunteer(charter=False)
    await world.grant(project, volunteer_id)
    assert_error(await claim_review(api, headers), 403, "charter_not_accepted")


async def test_204_when_no_item_waits(api: httpx.AsyncClient, actors: Actors, world: Scene) -> None:
    project, _ = await world.project(1)
    _, headers = await reviewer(actors, world, project)
    response = await claim_review(api, headers)
    assert response.status_code == 204
    assert response.content == b""


async def test_a_project_the_reviewer_does_not_review_is_404(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    mine, _, _, _ = await in_review(api, actors, world)
    other, _, _, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, mine)
    bodies = [
        assert_error(await claim_review(api, headers, project_id=p), 404, "project_not_found")
        for p in (other, "prj_" + "0" * 20, "garbage")
    ]
    assert all(body == bodies[0] for body in bodies)
    claimed = await claim_review(api, headers, project_id=mine)
    assert claimed.json()["task"]["project_id"] == mine


async def test_a_reviewer_who_answered_the_task_never_gets_it(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_client: redis.Redis
) -> None:
    project, [task], answerers, _ = await in_review(api, actors, world)
    me = (await api.get("/v1/me", headers=answerers[0])).json()["id"]
    await world.grant(project, me)
    assert (await claim_review(api, answerers[0])).status_code == 204
    assert redis_client.zrange(Keys().project(project).review_queue, 0, -1) == [task]


# -- claiming an item ----------------------------------------------------------------------------


async def test_a_claimed_item_shows_the_task_and_anonymous_candidates(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task], _, submissions = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    before = datetime.now(UTC)
    response = await claim_review(api, headers)
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith(f"{project}.{task}.r")
    assert body["task"] == {
        "id": task,
        "project_id": project,
        "type": "translation",
        "payload": translation(0),
        "instructions": "Translate the sentence; keep names as they are.",
        "project_name": "Clinic leaflets",
        "organisation": "Helping Hands",
        "impact_note": None,
    }
    assert body["candidates"] == [
        {"submission_id": submissions[0], "answer": {"text": "Lavez-vous les mains."}},
        {"submission_id": submissions[1], "answer": {"text": "Lave tes mains."}},
    ]
    assert body["reason"] == "disagreement"
    expires = datetime.fromisoformat(body["expires_at"])
    assert 890 <= (expires - before).total_seconds() <= 910
    _, other = await reviewer(actors, world, project)
    assert (await claim_review(api, other)).status_code == 204  # the only item is taken
    # Its holder, claiming again (a reply lost on the way), gets it back as it was.
    again = await claim_review(api, headers)
    assert again.status_code == 201 and again.json() == body


async def test_reviews_come_from_the_highest_priority_project_first(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    low, _, _, _ = await in_review(api, actors, world, priority=1)
    high, _, _, _ = await in_review(api, actors, world, priority=9)
    _, headers = await reviewer(actors, world, low, high)
    assert (await claim_review(api, headers)).json()["task"]["project_id"] == high
    assert (await claim_review(api, headers)).json()["task"]["project_id"] == low


# -- decisions ---------------------------------------------------------------------------------


async def test_accept_resolves_the_task_with_that_submission(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task], _, submissions = await in_review(api, actors, world)
    reviewer_id, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    response = await decide(
        api, headers, item["id"], action="accept", submission_id=submissions[1], comment="ok"
    )
    assert response.status_code == 200
    assert response.json() == {"task_id": task, "state": "resolved"}
    decision = await world.board.run(world.board.ops.decision(project, task))
    assert decision is not None
    assert (decision["action"], decision["submission_id"], decision["reviewer"]) == (
        "accept", submissions[1], reviewer_id,
    )  # fmt: skip
    assert decision["answer"] == {"text": "Lave tes mains."}
    assert decision["comment"] == "ok"
    again = await decide(api, headers, item["id"], action="reject")
    error = assert_error(again, 409, "review_not_live")
    assert error["details"] == [{"review_state": "decided"}]


async def test_correct_validates_the_answer_then_resolves(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task], _, _ = await in_review(
        api, actors, world, task_type="moderation", languages=[],
        answers=[{"label": "ok"}, {"label": "spam"}],
    )  # fmt: skip
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    assert item["task"]["type"] == "moderation"
    refused = await decide(api, headers, item["id"], action="correct", answer={"label": PRIVATE})
    assert_error(refused, 422, "invalid_answer")
    assert PRIVATE not in refused.text
    assert await world.task_state(project, task) == "in_review"
    fixed = await decide(
        api, headers, item["id"], action="correct", answer={"label": "SPAM", "reasons": ["ad"]}
    )
    assert fixed.json() == {"task_id": task, "state": "resolved"}
    decision = await world.board.run(world.board.ops.decision(project, task))
    assert decision is not None
    assert decision["answer"] == {"label": "SPAM", "reasons": ["ad"]}


async def test_reopen_sends_the_task_back_for_one_more_answer(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task], answerers, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    response = await decide(api, headers, item["id"], action="reopen", comment="unsure")
    assert response.json() == {"task_id": task, "state": "collecting"}
    view = await world.board.run(world.board.ops.get_task(project, task))
    assert (view.need, view.answers) == (3, 2)
    assert (await claim(api, answerers[0])).status_code == 204  # never the same task twice
    _, newcomer = await actors.volunteer()
    assert (await claim(api, newcomer)).json()["task"]["id"] == task


async def test_reopen_is_refused_past_the_projects_ceiling(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task], _, _ = await in_review(api, actors, world, max_redundancy=2)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    error = assert_error(
        await decide(api, headers, item["id"], action="reopen"), 409, "max_redundancy_reached"
    )
    assert error["details"] == [{"max_answers": 2}]
    assert await world.task_state(project, task) == "in_review"
    rejected = await decide(api, headers, item["id"], action="reject")
    assert rejected.json() == {"task_id": task, "state": "rejected"}


async def test_reject_closes_the_task(api: httpx.AsyncClient, actors: Actors, world: Scene) -> None:
    project, [task], _, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    response = await decide(api, headers, item["id"], action="reject", comment="not a sentence")
    assert response.json() == {"task_id": task, "state": "rejected"}
    assert await world.task_state(project, task) == "rejected"


@pytest.mark.parametrize(
    "body",
    [
        {"action": "accept"},
        {"action": "correct"},
        {"action": "reject", "answer": {"text": "x"}},
        {"action": "reopen", "submission_id": "sub_x"},
        {"action": "correct", "answer": {"text": "x"}, "submission_id": "sub_x"},
        {"action": "approve"},
        {"action": "reject", "comment": "x" * 2001},
        {"action": "reject", "extra": 1},
    ],
)
async def test_decisions_that_do_not_fit_their_action_are_422(
    api: httpx.AsyncClient, actors: Actors, world: Scene, body: dict[str, Any]
) -> None:
    project, [task], _, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    assert_error(await decide(api, headers, item["id"], **body), 422, "invalid_request")
    assert await world.task_state(project, task) == "in_review"


async def test_accepting_an_unknown_submission_is_422(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task], _, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    response = await decide(
        api, headers, item["id"], action="accept", submission_id="sub_" + "0" * 20
    )
    assert_error(response, 422, "not_a_candidate")
    assert await world.task_state(project, task) == "in_review"


async def test_someone_elses_an_unknown_and_a_malformed_review_look_the_same(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_client: redis.Redis
) -> None:
    project, [task], _, _ = await in_review(api, actors, world)
    _, owner = await reviewer(actors, world, project)
    _, intruder = await reviewer(actors, world, project)
    theirs = (await claim_review(api, owner)).json()["id"]
    before = redis_client.hgetall(Keys().project(project).review_assignments)
    bodies = [
        assert_error(
            await decide(api, intruder, review_id, action="reject"), 404, "review_not_found"
        )
        for review_id in (
            theirs,
            f"{project}.{task}.r" + "0" * 26,
            f"{project}.{task}." + "0" * 26,  # an assignment id's shape
            "nonsense",
        )
    ]
    assert all(body == bodies[0] for body in bodies)
    assert redis_client.hgetall(Keys().project(project).review_assignments) == before
    assert (await decide(api, owner, theirs, action="reject")).status_code == 200


async def test_withdrawn_rights_end_the_reviewers_live_leases_and_requeue_their_items(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_client: redis.Redis
) -> None:
    project, tasks, _, _ = await in_review(api, actors, world, n_tasks=2)
    withdrawn_id, withdrawn = await reviewer(actors, world, project)
    first = (await claim_review(api, withdrawn)).json()
    second = (await claim_review(api, withdrawn)).json()
    assert {first["task"]["id"], second["task"]["id"]} == set(tasks)

    url = f"/v1/projects/{project}/reviewers/{withdrawn_id}"
    assert (await api.delete(url, headers=world.org)).status_code == 204

    for item in (first, second):
        refused = await decide(api, withdrawn, item["id"], action="reject")
        error = assert_error(refused, 409, "review_not_live")
        assert error["details"] == [{"review_state": "revoked"}]
    pk = Keys().project(project)
    assert redis_client.zcard(pk.review_leases) == 0
    # Both items wait in the queue again, for a reviewer who still has the rights.
    _, still = await reviewer(actors, world, project)
    again = {(await claim_review(api, still)).json()["task"]["id"] for _ in range(2)}
    assert again == set(tasks)
    assert (await claim_review(api, withdrawn)).status_code == 403
    revoked = [fields for _, fields in entries(redis_client, pk.events)]
    assert sum(fields["type"] == "review.revoked" for fields in revoked) == 2


# -- concurrency -------------------------------------------------------------------------------


async def test_twenty_reviewers_racing_for_five_items_get_one_each_at_most(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, tasks, _, _ = await in_review(api, actors, world, n_tasks=5)
    reviewers = [(await reviewer(actors, world, project))[1] for _ in range(20)]
    responses = await asyncio.gather(*(claim_review(api, headers) for headers in reviewers))
    won = [r.json() for r in responses if r.status_code == 201]
    assert sorted(r.status_code for r in responses) == [201] * 5 + [204] * 15
    assert sorted(item["task"]["id"] for item in won) == sorted(tasks)
    decided = await asyncio.gather(
        *(
            decide(api, headers, response.json()["id"], action="accept",
                   submission_id=response.json()["candidates"][0]["submission_id"])
            for headers, response in zip(reviewers, responses, strict=True)
            if response.status_code == 201
        )
    )  # fmt: skip
    assert [d.json()["state"] for d in decided] == ["resolved"] * 5


async def test_a_correction_failing_the_schema_says_where_not_what(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, _, _, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    response = await decide(
        api, headers, item["id"], action="correct", answer={"text": "", PRIVATE: PRIVATE}
    )
    assert_error(response, 422, "invalid_answer")
    assert PRIVATE not in response.text
    assert any(detail["loc"] == ["<value>"] for detail in response.json()["error"]["details"])


async def test_a_decision_and_the_resolution_it_leads_to_carry_its_request_id(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_client: redis.Redis
) -> None:
    project, _, _, _ = await in_review(api, actors, world)
    _, headers = await reviewer(actors, world, project)
    item = (await claim_review(api, headers)).json()
    decided = await api.post(
        f"/v1/reviews/{item['id']}/decision",
        json={"action": "reject"},
        headers={**headers, "X-Request-ID": "decision-1"},
    )
    assert decided.status_code == 200, decided.text
    events = entries(redis_client, Keys().project(project).events)
    assert [f.get("request_id") for _, f in events if f["type"] == "review.decided"] == [
        "decision-1"
    ]
    # An actor resolving a task does so under the id of the event it handles (bound by the
    # workers' middleware): the resolution's event carries it on.
    other_project, [other] = await world.project(1, redundancy=1)
    _, volunteer = await actors.volunteer()
    await answer_all(api, [volunteer], {"text": "Lavez-vous les mains."})
    board = TestBoard(redis_client)
    result = Result(other, {"text": "Lavez-vous les mains."}, 1.0, "agreement")
    with structlog.contextvars.bound_contextvars(request_id="answer-7"):
        resolved = board.run(
            PipelineOps(board.keys, board.clock).resolve_task(
                other_project, result, decision_id=f"{other}:1", answers=1
            )
        )
    assert resolved.created
    events = entries(redis_client, Keys().project(other_project).events)
    assert [f.get("request_id") for _, f in events if f["type"] == "task.resolved"] == ["answer-7"]
