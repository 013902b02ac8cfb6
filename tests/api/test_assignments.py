"""Assignments through the API: claiming what fits, the cap, heartbeats, submissions, releases.

Refusals are checked for their status and code, and for saying nothing they should not: the
same 404 body whoever's (or whatever) the assignment id, and no echo of a refused answer.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis

from core.redis.keys import Keys
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors, AppClient
from tests.support.api.volunteers import (
    GOOD_ANSWERS,
    Headers,
    Scene,
    answer_all,
    assert_error,
    claim,
    scene,
    translation,
)

pytestmark = pytest.mark.anyio

PRIVATE = "Zanzibar-4417-secret"


# -- claiming ----------------------------------------------------------------------------------


async def test_a_claim_returns_the_task_and_its_lease(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task] = await world.project(1)
    _, me = await actors.volunteer(["fr", "en"])
    before = datetime.now(UTC)
    response = await claim(api, me)
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith(f"{project}.{task}.")
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
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() is not None
    assert 590 <= (expires - before).total_seconds() <= 610


async def test_a_claim_without_a_body_is_a_claim_for_anything(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    assert (await api.post("/v1/assignments", headers=me)).status_code == 201


async def test_no_claim_before_the_charter(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_client: redis.Redis
) -> None:
    await world.project(1)
    volunteer_id, me = await actors.volunteer(charter=False)
    assert_error(await claim(api, me), 403, "charter_not_accepted")
    assert redis_client.exists(Keys().volunteer_live(volunteer_id)) == 0


async def test_204_when_nothing_fits(api: httpx.AsyncClient, actors: Actors, world: Scene) -> None:
    _, me = await actors.volunteer()
    nothing = await claim(api, me)
    assert nothing.status_code == 204
    assert nothing.content == b""
    await world.project(1)
    assert (await claim(api, me)).status_code == 201
    assert (await claim(api, me)).status_code == 204  # the only task is already theirs


@pytest.mark.parametrize(
    ("task_type", "project_languages", "volunteer_languages", "fits"),
    [
        ("translation", ["en", "fr"], ["fr", "en"], True),
        ("translation", ["en", "fr"], ["fr"], False),  # reads the source, writes the target
        ("translation", ["en", "fr"], ["en-GB", "fr-CA", "sw"], True),  # same languages
        ("translation", [], ["sw"], True),
        ("moderation", ["fr", "de"], ["fr"], True),  # the content is in one of them
        ("moderation", ["fr", "de"], ["en"], False),
        ("data_entry", ["pt-BR"], ["pt"], True),
    ],
)
async def test_projects_are_matched_on_languages(
    api: httpx.AsyncClient,
    actors: Actors,
    world: Scene,
    task_type: str,
    project_languages: list[str],
    volunteer_languages: list[str],
    fits: bool,
) -> None:
    await world.project(1, task_type=task_type, languages=project_languages)
    _, me = await actors.volunteer(volunteer_languages)
    assert (await claim(api, me)).status_code == (201 if fits else 204)


async def test_projects_are_matched_on_every_skill(
    api: httpx.AsyncClient, world: Scene, actors: Actors
) -> None:
    project, _ = await world.project(2, skills=["medical", "Legal"])
    _, partial = await actors.volunteer()
    await api.patch("/v1/me", json={"skills": ["medical"]}, headers=partial)
    assert (await claim(api, partial)).status_code == 204
    _, both = await actors.volunteer()
    await api.patch("/v1/me", json={"skills": ["legal", "MEDICAL", "it"]}, headers=both)
    assert (await claim(api, both)).json()["task"]["project_id"] == project


async def test_task_type_filter_and_priority_order(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    low, _ = await world.project(3, priority=1)
    high, _ = await world.project(3, priority=5)
    moderation, _ = await world.project(3, task_type="moderation", priority=-3)
    _, me = await actors.volunteer()
    assert (await claim(api, me)).json()["task"]["project_id"] == high
    filtered = await claim(api, me, task_types=["moderation"])
    assert filtered.json()["task"]["type"] == "moderation"
    assert filtered.json()["task"]["project_id"] == moderation
    assert (await claim(api, me, task_types=["data_entry"])).status_code == 204
    assert (await claim(api, me, project_id=low)).json()["task"]["project_id"] == low


async def test_projects_with_nothing_for_me_never_hide_one_with_work(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    """More fitting projects of higher priority than a claim tries at first, none with a task
    for me (no open task, or only one I skipped): the claim still finds the project with work."""
    for _ in range(10):
        await world.project(0, priority=5)  # finished, or not filled yet: still open
    skipped, _ = await world.project(1, priority=4)
    waiting, _ = await world.project(1, priority=0)
    _, me = await actors.volunteer()
    first = await claim(api, me, project_id=skipped)
    released = await api.post(
        f"/v1/assignments/{first.json()['id']}/release", json={"reason": "skip"}, headers=me
    )
    assert released.status_code in (200, 204), released.text
    found = await claim(api, me)
    assert found.status_code == 201, found.text
    assert found.json()["task"]["project_id"] == waiting


async def test_a_project_the_volunteer_cannot_see_is_404(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    german, _ = await world.project(1, languages=["en", "de"])
    paused, _ = await world.project(1)
    await world.pause(paused)
    _, me = await actors.volunteer(["en", "fr"])
    bodies = [
        assert_error(await claim(api, me, project_id=project_id), 404, "project_not_found")
        for project_id in (german, paused, "prj_" + "0" * 20, "not a project")
    ]
    assert all(body == bodies[0] for body in bodies)


async def test_a_paused_project_serves_no_one(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, _ = await world.project(2)
    await world.pause(project)
    _, me = await actors.volunteer()
    assert (await claim(api, me)).status_code == 204


# -- the live-assignment cap ---------------------------------------------------------------------


@pytest.fixture
async def capped(make_client: AppClient, redis_url: str, redis_client: redis.Redis) -> Any:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, max_live_assignments=2)
    async with make_client(settings) as client:
        yield client


async def test_claims_past_the_cap_are_429_until_a_slot_is_given_back(
    capped: httpx.AsyncClient, redis_url: str
) -> None:
    actors = Actors(capped)
    _, org = await actors.org()
    async with scene(capped, redis_url, org) as world:
        await world.project(5)
        _, me = await actors.volunteer()
        first = (await claim(capped, me)).json()["id"]
        second = (await claim(capped, me)).json()["id"]
        error = assert_error(await claim(capped, me), 429, "too_many_assignments")
        assert error["details"] == [{"live": 2}]
        done = await capped.post(
            f"/v1/assignments/{first}/submit", json={"answer": GOOD_ANSWERS["translation"]},
            headers=me,
        )  # fmt: skip
        assert done.status_code == 202
        third = (await claim(capped, me)).json()["id"]
        assert_error(await claim(capped, me), 429, "too_many_assignments")
        released = await capped.post(
            f"/v1/assignments/{second}/release", json={"reason": "no_time"}, headers=me
        )
        assert released.status_code == 204
        assert (await claim(capped, me)).status_code == 201
        live = (await capped.get("/v1/me/assignments", headers=me)).json()["items"]
        assert third in {item["id"] for item in live}
        assert len(live) == 2


async def test_the_claim_past_the_default_cap_says_when_to_retry(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, _ = await world.project(10)
    await world.short_leases(project, seconds=300)
    _, me = await actors.volunteer()
    for _ in range(Settings().max_live_assignments):
        assert (await claim(api, me)).status_code == 201
    refused = await claim(api, me)
    assert_error(refused, 429, "too_many_assignments")
    # When the soonest of the volunteer's leases runs out (a slot frees by itself then).
    assert 290 <= int(refused.headers["retry-after"]) <= 300


async def test_an_expired_lease_frees_its_slot_by_itself(
    capped: httpx.AsyncClient, redis_url: str
) -> None:
    actors = Actors(capped)
    _, org = await actors.org()
    async with scene(capped, redis_url, org) as world:
        project, _ = await world.project(5)
        await world.short_leases(project, seconds=1)
        _, me = await actors.volunteer()
        for _ in range(2):
            assert (await claim(capped, me)).status_code == 201
        assert (await claim(capped, me)).status_code == 429
        time.sleep(1.05)
        assert (await claim(capped, me)).status_code == 201


async def test_concurrent_claims_of_one_volunteer_never_pass_the_cap(
    capped: httpx.AsyncClient, redis_url: str, redis_client: redis.Redis
) -> None:
    actors = Actors(capped)
    _, org = await actors.org()
    async with scene(capped, redis_url, org) as world:
        project, _ = await world.project(20)
        volunteer_id, me = await actors.volunteer()
        responses = await asyncio.gather(*(claim(capped, me) for _ in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 201] + [429] * 10
    won = sorted(r.json()["id"] for r in responses if r.status_code == 201)
    entries = redis_client.zrange(Keys().volunteer_live(volunteer_id), 0, -1)
    assert sorted(entries) == won
    # Claims refused at the cap were handed back unseen: only the two won are live or touched.
    pk = Keys().project(project)
    assert sorted(redis_client.zrange(pk.leases, 0, -1)) == won
    touched = redis_client.smembers(pk.touched(volunteer_id))
    assert touched == {assignment.split(".")[1] for assignment in won}


async def test_a_claim_that_finds_nothing_gives_its_reservation_back(
    api: httpx.AsyncClient, actors: Actors, world: Scene, redis_client: redis.Redis
) -> None:
    await world.project(1)
    volunteer_id, me = await actors.volunteer()
    assert (await claim(api, me)).status_code == 201
    for _ in range(3):
        assert (await claim(api, me)).status_code == 204
    assert len(redis_client.zrange(Keys().volunteer_live(volunteer_id), 0, -1)) == 1


# -- working on an assignment ------------------------------------------------------------------


async def test_heartbeat_extends_the_lease(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    claimed = (await claim(api, me)).json()
    time.sleep(0.01)
    beat = await api.post(f"/v1/assignments/{claimed['id']}/heartbeat", headers=me)
    assert beat.status_code == 200
    assert beat.json()["capped"] is False
    assert datetime.fromisoformat(beat.json()["expires_at"]) > datetime.fromisoformat(
        claimed["expires_at"]
    )
    live = (await api.get("/v1/me/assignments", headers=me)).json()["items"]
    assert [item["expires_at"] for item in live] == [beat.json()["expires_at"]]


async def test_a_holder_can_read_their_assignment_again_and_nobody_else_can(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    _, other = await actors.volunteer()
    claimed = (await claim(api, me)).json()
    again = await api.get(f"/v1/assignments/{claimed['id']}", headers=me)
    assert again.status_code == 200
    assert again.json() == {**claimed, "expires_at": again.json()["expires_at"]}
    assert_error(
        await api.get(f"/v1/assignments/{claimed['id']}", headers=other),
        404, "assignment_not_found",
    )  # fmt: skip


async def test_the_live_list_shows_ids_and_expiries_without_payloads(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    _, tasks = await world.project(2)
    _, me = await actors.volunteer()
    first = (await claim(api, me)).json()
    second = (await claim(api, me)).json()
    items = (await api.get("/v1/me/assignments", headers=me)).json()["items"]
    assert {item["id"] for item in items} == {first["id"], second["id"]}
    assert all(set(item) == {"id", "project_id", "task_id", "expires_at"} for item in items)
    assert {item["task_id"] for item in items} == set(tasks)
    await api.post(
        f"/v1/assignments/{first['id']}/submit",
        json={"answer": GOOD_ANSWERS["translation"]},
        headers=me,
    )
    items = (await api.get("/v1/me/assignments", headers=me)).json()["items"]
    assert [item["id"] for item in items] == [second["id"]]


async def test_submit_then_every_later_call_on_the_lease_is_409(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    answer = {"answer": GOOD_ANSWERS["translation"], "seconds_spent": 42.5}
    submitted = await api.post(f"/v1/assignments/{assignment}/submit", json=answer, headers=me)
    assert submitted.status_code == 202
    assert submitted.json()["submission_id"].startswith("sub_")
    for action, body in (("submit", answer), ("release", {"reason": "x"}), ("heartbeat", None)):
        error = assert_error(
            await api.post(f"/v1/assignments/{assignment}/{action}", json=body, headers=me),
            409, "lease_not_live",
        )  # fmt: skip
        assert error["details"] == [{"assignment_state": "submitted"}]


async def test_release_gives_the_task_back_with_a_reason(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    _, [task] = await world.project(1, redundancy=1)
    _, me = await actors.volunteer()
    _, other = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    assert (await claim(api, other)).status_code == 204  # the only slot is taken
    for body in ({"reason": ""}, {"reason": "x" * 501}, {}):
        refused = await api.post(f"/v1/assignments/{assignment}/release", json=body, headers=me)
        assert refused.status_code == 422
    released = await api.post(
        f"/v1/assignments/{assignment}/release", json={"reason": "not_my_language"}, headers=me
    )
    assert released.status_code == 204
    assert released.content == b""
    error = assert_error(
        await api.post(
            f"/v1/assignments/{assignment}/submit",
            json={"answer": GOOD_ANSWERS["translation"]}, headers=me,
        ),
        409, "lease_not_live",
    )  # fmt: skip
    assert error["details"] == [{"assignment_state": "released"}]
    assert (await claim(api, other)).json()["task"]["id"] == task
    assert (await claim(api, me)).status_code == 204  # never the same task twice


@pytest.mark.parametrize(
    "answer", [{"text": ""}, GOOD_ANSWERS["translation"]], ids=["bad answer", "good answer"]
)
async def test_an_expired_lease_refuses_the_submission_with_409(
    api: httpx.AsyncClient, actors: Actors, world: Scene, answer: dict[str, Any]
) -> None:
    # A bad answer: the dead lease is refused first. A good one to a lease claimed in this
    # process skips the lease read (core.board.claims): the submit script refuses it the same way.
    project, _ = await world.project(1)
    await world.short_leases(project, seconds=1)
    _, me = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    time.sleep(1.05)
    error = assert_error(
        await api.post(
            f"/v1/assignments/{assignment}/submit", json={"answer": answer}, headers=me
        ),
        409, "lease_not_live",
    )  # fmt: skip
    assert error["details"] == [{"assignment_state": "expired"}]
    assert_error(
        await api.post(f"/v1/assignments/{assignment}/heartbeat", headers=me),
        409, "lease_not_live",
    )  # fmt: skip


def _calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


async def test_the_process_that_served_a_claim_submits_it_without_reading_it_back(
    api: httpx.AsyncClient,
    actors: Actors,
    world: Scene,
    make_client: AppClient,
    redis_url: str,
    redis_client: redis.Redis,
) -> None:
    """The same answers, submitted in the process that served the claim and in another one:
    the other one reads the lease, the task and the project back (4 HGETs more, nothing else),
    and both store the same validated answer."""
    project, tasks = await world.project(2, task_type="moderation")
    _, here = await actors.volunteer()
    _, there = await actors.volunteer()
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)
    async with make_client(settings) as elsewhere:
        spent = []
        for client, me in ((api, here), (elsewhere, there)):
            assignment = (await claim(api, me)).json()["id"]
            before = _calls(redis_client, "hget")
            submitted = await client.post(
                f"/v1/assignments/{assignment}/submit",
                json={"answer": {"label": " spam "}}, headers=me,
            )  # fmt: skip
            assert submitted.status_code == 202, submitted.text
            spent.append(_calls(redis_client, "hget") - before)
    here_hgets, there_hgets = spent
    assert there_hgets == here_hgets + 4
    answers = [
        entry["answer"]
        for task in tasks
        for entry in await world.board.run(world.board.ops.answers(project, task))
    ]
    assert answers == [{"label": "spam", "reasons": []}] * 2


async def test_someone_elses_an_unknown_and_a_malformed_assignment_look_the_same(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task] = await world.project(1)
    _, owner = await actors.volunteer()
    _, intruder = await actors.volunteer()
    theirs = (await claim(api, owner)).json()["id"]
    unknown = f"{project}.{task}." + "0" * 26
    malformed = ["nonsense", f"{project}.{task}", "x" * 300, theirs + "0"]
    calls = [
        ("heartbeat", None),
        ("submit", {"answer": GOOD_ANSWERS["translation"]}),
        ("release", {"reason": "skip"}),
    ]
    bodies = []
    for assignment_id in [theirs, unknown, *malformed]:
        for action, body in calls:
            response = await api.post(
                f"/v1/assignments/{assignment_id}/{action}", json=body, headers=intruder
            )
            bodies.append(assert_error(response, 404, "assignment_not_found"))
        response = await api.get(f"/v1/assignments/{assignment_id}", headers=intruder)
        bodies.append(assert_error(response, 404, "assignment_not_found"))
    assert all(body == bodies[0] for body in bodies)
    # and the owner's lease is untouched by all of that
    again = await api.post(
        f"/v1/assignments/{theirs}/submit",
        json={"answer": GOOD_ANSWERS["translation"]},
        headers=owner,
    )
    assert again.status_code == 202


BAD_ANSWERS: list[tuple[str, dict[str, Any], str]] = [
    ("translation", {"text": "   " + "\u2003"}, "text"),
    ("translation", {"txt": PRIVATE}, "txt"),  # a made-up key is named, its value is not
    ("moderation", {"label": PRIVATE}, "label"),
    ("moderation", {"label": "ok", "reasons": [PRIVATE, 7], "extra": PRIVATE}, "reasons"),
    ("data_entry", {"values": {"name": "Ada", "email": PRIVATE}}, "email"),
    ("data_entry", {"values": {"name": "Ada", "nickname": PRIVATE}}, "nickname"),
    ("data_entry", {"values": {"email": "ada@example.org"}}, "name"),
]


@pytest.mark.parametrize(("task_type", "answer", "where"), BAD_ANSWERS)
async def test_bad_answers_are_422_with_details_that_never_echo_them(
    api: httpx.AsyncClient,
    actors: Actors,
    world: Scene,
    task_type: str,
    answer: dict[str, Any],
    where: str,
) -> None:
    await world.project(1, task_type=task_type)
    _, me = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    response = await api.post(
        f"/v1/assignments/{assignment}/submit", json={"answer": answer}, headers=me
    )
    error = assert_error(response, 422, "invalid_answer")
    assert error["details"]
    assert any(where in map(str, detail["loc"]) for detail in error["details"])
    assert PRIVATE not in response.text
    assert "Zanzibar" not in response.text
    assert "<value>" not in response.text  # the field is named, not hidden
    # the lease is still live: a good answer goes through
    good = await api.post(
        f"/v1/assignments/{assignment}/submit",
        json={"answer": GOOD_ANSWERS[task_type]},
        headers=me,
    )
    assert good.status_code == 202


async def test_an_unknown_label_names_the_field_and_the_labels_not_the_value(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1, task_type="moderation")
    _, me = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    response = await api.post(
        f"/v1/assignments/{assignment}/submit", json={"answer": {"label": PRIVATE}}, headers=me
    )
    [detail] = assert_error(response, 422, "invalid_answer")["details"]
    assert detail["loc"] == ["label"]
    assert detail["msg"].startswith("the value given is not one of the labels: ")
    assert PRIVATE not in response.text


async def test_the_source_sentence_unchanged_is_refused_as_its_translation(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    claimed = (await claim(api, me)).json()
    source = claimed["task"]["payload"]["source_text"]
    response = await api.post(
        f"/v1/assignments/{claimed['id']}/submit",
        json={"answer": {"text": "  " + source.upper() + " "}},
        headers=me,
    )
    [detail] = assert_error(response, 422, "invalid_answer")["details"]
    assert detail["loc"] == ["text"]
    assert detail["msg"].startswith("this is the source text unchanged; translate it into ")
    good = await api.post(
        f"/v1/assignments/{claimed['id']}/submit",
        json={"answer": GOOD_ANSWERS["translation"]},
        headers=me,
    )
    assert good.status_code == 202


async def test_the_stored_answer_is_the_validated_one(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task] = await world.project(1, task_type="moderation")
    _, me = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    await api.post(
        f"/v1/assignments/{assignment}/submit",
        json={"answer": {"label": " spam "}, "seconds_spent": 30},
        headers=me,
    )
    [entry] = await world.board.run(world.board.ops.answers(project, task))
    assert entry["answer"] == {"label": "spam", "reasons": []}
    assert entry["seconds_spent"] == 30


async def test_submit_refuses_a_malformed_body(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    assignment = (await claim(api, me)).json()["id"]
    for body in ({}, {"answer": "text"}, {"answer": {}, "seconds_spent": -1}):
        response = await api.post(f"/v1/assignments/{assignment}/submit", json=body, headers=me)
        assert response.status_code == 422


async def test_redundant_answers_fill_the_task_and_nobody_answers_twice(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, [task] = await world.project(1, redundancy=3)
    volunteers: list[Headers] = [(await actors.volunteer())[1] for _ in range(4)]
    await answer_all(api, volunteers[:3], GOOD_ANSWERS["translation"])
    assert await world.task_state(project, task) == "aggregating"
    assert (await claim(api, volunteers[3])).status_code == 204
    assert (await claim(api, volunteers[0])).status_code == 204


async def test_only_the_holder_ever_sees_a_payload(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(1)
    _, me = await actors.volunteer()
    source = translation(0)["source_text"]
    claimed = await claim(api, me)
    assert source in claimed.text
    for path in ("/v1/me", "/v1/me/assignments"):
        assert source not in (await api.get(path, headers=me)).text
