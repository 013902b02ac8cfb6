"""The console's project forms and project page in process: a manager creates a project (each
refusal beside its field, with the API's own rules), edits its whole policy, pauses, resumes and
closes it, each change in the project's event stream with who made it; a viewer posting the
forms by hand changes nothing; a volunteer's one-tap "Instructions unclear" report reaches the
project page; the estimated finish and the review lag on the page, on a manual clock."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis

from core.board.runner import AsyncBoard
from core.clock import ManualClock
from core.insights.pace import DAY_MS
from core.settings import Settings
from tests.core.test_insights import HOUR_MS, resolve_one, split_to_review, to_midnight
from tests.support.api.client import ADMIN_TOKEN
from tests.support.board import TestBoard
from tests.support.ngo_staff import StaffScene, csrf_of, staff_scene
from tests.support.web_inprocess import InProcess, in_process
from web.ngo.views import Formats

#: The review policy's targets, at their defaults (core.projects.models.ReviewPolicy).
REVIEW_TARGETS = {"target_share": 0.1, "target_accuracy": 0.9}

pytestmark = pytest.mark.anyio

VALID = {
    "translation_memory": "1",
    "name": "Clinic leaflets",
    "task_type": "moderation",
    "instructions": "Label each post.",
    "languages": "en, fr",
    "redundancy": "1",
    "review_agreement": "0.6",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
async def site(
    redis_client: redis.Redis, redis_url: str, clock: ManualClock
) -> AsyncIterator[InProcess]:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)
    async with in_process(settings) as running:
        app = running.app
        app.state.board = AsyncBoard(app.state.redis, keys=app.state.keys, clock=clock)
        app.state.claims.board = app.state.board
        yield running


@pytest.fixture
async def scene(site: InProcess) -> AsyncIterator[StaffScene]:
    made = await staff_scene(site)
    try:
        yield made
    finally:
        await made.close()


def _new(scene: StaffScene) -> str:
    return f"/ngo/orgs/{scene.org_id}/projects/new"


async def _create(scene: StaffScene, **fields: str) -> str:
    made = await scene.people["manager"].post(_new(scene), _new(scene), {**VALID, **fields})
    assert made.status_code == 303, made.text[:2000]
    return made.headers["location"].rsplit("/", 1)[1]


async def _events(site: InProcess, project_id: str) -> list[dict[str, str]]:
    raw = await site.app.state.redis.xrange(site.app.state.keys.project(project_id).events)
    return [dict(fields) for _, fields in raw]


async def test_the_form_refuses_as_the_api_does_each_error_beside_its_field(
    scene: StaffScene,
) -> None:
    manager = scene.people["manager"]
    wrong = {
        **VALID,
        "name": "",
        "redundancy": "three",
        "max_redundancy": "",
        "lease_seconds": "5",
        "languages": "en, not a tag!",
        "deadline": "2001-01-01T10:00",
        "gold_rate": "2",
        "gold_warmup_tasks": "30",
        "gold_settle_tasks": "10",
    }
    refused = await manager.post(_new(scene), _new(scene), wrong)
    assert refused.status_code == 422
    for field in (
        "name",
        "redundancy",
        "lease_seconds",
        "languages",
        "gold_rate",
        "gold_settle_tasks",
    ):
        assert f'id="{field}-error"' in refused.text, field
    assert "Give a whole number." in refused.text
    assert "Give a number of at least 30." in refused.text
    assert 'value="three"' in refused.text  # what was typed is shown again
    # The store's own checks (a past deadline, a ceiling under the redundancy) come back too.
    late = await manager.post(_new(scene), _new(scene), {**VALID, "deadline": "2001-01-01T10:00"})
    assert late.status_code == 422 and 'id="deadline-error"' in late.text
    low = await manager.post(
        _new(scene), _new(scene), {**VALID, "redundancy": "3", "max_redundancy": "2"}
    )
    assert low.status_code == 422 and 'id="max_redundancy-error"' in low.text
    unknown = await manager.post(_new(scene), _new(scene), {**VALID, "task_type": "poetry"})
    assert unknown.status_code == 422 and 'id="task_type-error"' in unknown.text
    listed = await scene.api.get("/v1/projects", headers=scene.org_headers)
    assert listed.json()["items"] == []


async def test_a_manager_creates_edits_pauses_resumes_and_closes_a_viewer_cannot(
    site: InProcess, scene: StaffScene
) -> None:
    project_id = await _create(scene, deadline="2099-05-01T12:30", gold_rate="0.1")
    read = await scene.api.get(f"/v1/projects/{project_id}", headers=scene.org_headers)
    body = read.json()
    assert body["name"] == "Clinic leaflets" and body["languages"] == ["en", "fr"]
    assert body["review"] == {"agreement": 0.6, "spot_check_rate": 0.0, **REVIEW_TARGETS}
    assert body["deadline"].startswith("2099-05-01T12:30")
    assert body["gold_rate"] == 0.1 and body["translation_memory"] is True

    edit = f"/ngo/projects/{project_id}/edit"
    manager, viewer = scene.people["manager"], scene.people["viewer"]
    shown = await manager.client.get(edit)
    assert 'value="Clinic leaflets"' in shown.text and 'value="2099-05-01T12:30"' in shown.text
    changed = {
        **VALID,
        "name": "Leaflets, second round",
        "priority": "5",
        "lease_seconds": "900",
        "gold_rate": "0.1",
        "redundancy": "2",
        "max_redundancy": "4",
        "skills": "medical, careful",
        "impact_note": "Clinics print them.",
        "review_agreement": "",
        "review_spot_check_rate": "0,25",
        "qualification_gold_tasks": "3",
        "retention_days": "30",
        "deadline": "",
        "translation_memory": "",  # unticked: confidential texts
    }
    saved = await manager.post(edit, edit, changed)
    assert saved.status_code == 303, re.findall(
        r'field-error" id="([^"]+)"[^>]*>([^<]*)', saved.text
    )
    body = (await scene.api.get(f"/v1/projects/{project_id}", headers=scene.org_headers)).json()
    assert body["name"] == "Leaflets, second round"
    assert (body["redundancy"], body["max_redundancy"]) == (2, 4)
    assert body["skills"] == ["medical", "careful"] and body["impact_note"] == "Clinics print them."
    assert body["review"] == {"agreement": None, "spot_check_rate": 0.25, **REVIEW_TARGETS}
    assert body["qualification"]["gold_tasks"] == 3 and body["retention_days"] == 30
    assert body["deadline"] is None and body["task_type"] == "moderation"
    assert body["translation_memory"] is False

    # A viewer posting the forms by hand: refused, nothing changes.
    for action, fields in (
        (edit, {**changed, "name": "Hacked"}),
        (f"/ngo/projects/{project_id}/state", {"action": "close"}),
        (_new(scene), VALID),
    ):
        assert (await viewer.post_by_hand(action, fields)).status_code == 403
        assert (await scene.people["reviewer"].post_by_hand(action, fields)).status_code == 403
    after = (await scene.api.get(f"/v1/projects/{project_id}", headers=scene.org_headers)).json()
    assert after["name"] == "Leaflets, second round" and after["state"] == "active"
    page = await viewer.client.get(f"/ngo/projects/{project_id}")
    assert page.status_code == 200 and "Edit the project" not in page.text

    state = f"/ngo/projects/{project_id}/state"
    project_page = f"/ngo/projects/{project_id}"
    for action, expected in (("pause", "paused"), ("resume", "active"), ("close", "closed")):
        moved = await manager.post(project_page, state, {"action": action})
        assert moved.status_code == 303, (action, moved.text[:500])
        now = await scene.api.get(project_page.replace("/ngo", "/v1"), headers=scene.org_headers)
        assert now.json()["state"] == expected
    closed = await manager.client.get(project_page)
    assert "Close the project" not in closed.text and "Pause the project" not in closed.text

    audit = [e for e in await _events(site, project_id) if e.get("type") == "audit"]
    assert [e["action"] for e in audit] == [
        "project.created", "project.edited", "project.paused", "project.resumed",
        "project.closed",
    ]  # fmt: skip
    assert {e["by"] for e in audit} == {manager.volunteer_id}
    assert {e["role"] for e in audit} == {"manager"}
    assert "name" in audit[1]["fields"].split(",")


async def test_another_orgs_project_is_the_same_404_as_a_random_id(scene: StaffScene) -> None:
    project_id = await _create(scene)
    outsider = scene.people["outsider"]
    await outsider.client.get("/logout")  # the "signed in" message is shown once, here
    random_id = "prj_" + "a" * 20
    for suffix in ("", "/edit"):
        theirs = await outsider.client.get(f"/ngo/projects/{project_id}{suffix}")
        nothing = await outsider.client.get(f"/ngo/projects/{random_id}{suffix}")
        malformed = await outsider.client.get(f"/ngo/projects/nope{suffix}")
        assert theirs.status_code == nothing.status_code == malformed.status_code == 404
        # The same page, but for the address in its language link.
        same = theirs.text.replace(project_id, "X")
        assert same == nothing.text.replace(random_id, "X") == malformed.text.replace("nope", "X")
    posted = await outsider.post_by_hand(f"/ngo/projects/{project_id}/state", {"action": "close"})
    random_post = await outsider.post_by_hand(
        f"/ngo/projects/{random_id}/state", {"action": "close"}
    )
    assert posted.status_code == random_post.status_code == 404
    assert posted.text.replace(project_id, "X") == random_post.text.replace(random_id, "X")


async def _volunteer_client(site: InProcess) -> httpx.AsyncClient:
    client = site.client()
    join = await client.get("/join")
    joined = await client.post(
        "/join",
        data={"csrf_token": csrf_of(join.text), "display_name": "Ines", "languages": ["en"]},
    )
    assert joined.status_code == 303
    charter = await client.get("/charter")
    await client.post("/charter", data={"csrf_token": csrf_of(charter.text), "next": "/work"})
    return client


async def test_instructions_unclear_from_the_task_page_reaches_the_project_page(
    site: InProcess, scene: StaffScene
) -> None:
    project_id = await _create(scene)
    sent = await scene.api.post(
        f"/v1/projects/{project_id}/tasks",
        json={"tasks": [{"payload": {"content": "Is this spam?", "labels": ["ok", "spam"]}}]},
        headers=scene.org_headers,
    )
    assert sent.status_code == 200
    volunteer = await _volunteer_client(site)
    work = await volunteer.get("/work")
    started = await volunteer.post(
        "/work/start", data={"csrf_token": csrf_of(work.text), "project_id": project_id}
    )
    task_url = started.headers["location"]
    task = await volunteer.get(task_url)
    assert "Instructions unclear" in task.text
    for _ in range(2):  # a second tap records nothing more
        reported = await volunteer.post(
            task_url + "/unclear", data={"csrf_token": csrf_of(task.text)}
        )
        assert reported.status_code == 303 and reported.headers["location"] == task_url
    assert (await volunteer.post(task_url + "/unclear", data={})).status_code == 403
    page = await scene.people["viewer"].client.get(f"/ngo/projects/{project_id}")
    assert "1 volunteer said the instructions were unclear on a task." in page.text
    assert "Is this spam?" in page.text and "Ines" in page.text


async def _created_now(site: InProcess, project_id: str, clock: ManualClock) -> None:
    """The project made at the manual clock's time (the store stamps creation with the
    machine's clock; the pace counts from creation)."""
    key = site.app.state.keys.project(project_id).project
    document = json.loads(await site.app.state.redis.hget(key, "doc"))
    document["created_at_ms"] = clock.now_ms
    await site.app.state.redis.hset(key, "doc", json.dumps(document))


async def test_the_estimated_finish_and_the_review_lag_on_a_manual_clock(
    site: InProcess, scene: StaffScene, clock: ManualClock, redis_client: redis.Redis
) -> None:
    board = TestBoard(redis_client, clock=clock)
    to_midnight(clock)
    finish_id = await _create(scene)
    await _created_now(site, finish_id, clock)
    tasks: list[dict[str, Any]] = [
        {"payload": {"content": f"Post {i}", "labels": ["ok", "spam"]}} for i in range(100)
    ]
    sent = await scene.api.post(
        f"/v1/projects/{finish_id}/tasks", json={"tasks": tasks}, headers=scene.org_headers
    )
    assert sent.json()["accepted"] == 100
    start = clock.now_ms
    for _ in range(5):  # ten results at noon of each of five days
        clock.advance(12 * 3600)
        for _ in range(10):
            resolve_one(board, finish_id)
        clock.advance(12 * 3600)
    formats = Formats("en")
    page = await scene.people["viewer"].client.get(f"/ngo/projects/{finish_id}?lang=en")
    figures = re.findall(r'ngo-figure">([^<]*)</span>([^<]*)', page.text)
    assert formats.when(start + 10 * DAY_MS) in page.text, figures  # 50 left at 10 a day
    listing = await scene.people["viewer"].client.get(f"/ngo/orgs/{scene.org_id}?lang=en")
    assert formats.when(start + 10 * DAY_MS) in listing.text

    lag_id = await _create(scene, name="Disputed", redundancy="2")
    sent = await scene.api.post(
        f"/v1/projects/{lag_id}/tasks", json={"tasks": tasks[:3]}, headers=scene.org_headers
    )
    from core.ids import new_volunteer_id

    for _ in range(3):  # review items opened an hour apart
        split_to_review(board, lag_id, (new_volunteer_id(), new_volunteer_id()))
        clock.advance(3600)
    clock.advance(2 * 3600)  # now: 5 h, 4 h and 3 h after they opened
    page = await scene.people["viewer"].client.get(f"/ngo/projects/{lag_id}?lang=en")
    assert formats.wait(5 * HOUR_MS) == "5 hours"
    assert (
        f'<span class="ngo-figure">{formats.wait(5 * HOUR_MS)}</span> the oldest has waited'
        in page.text
    )
    assert (
        f'<span class="ngo-figure">{formats.wait(4 * HOUR_MS)}</span> median wait of those waiting'
        in page.text
    )
