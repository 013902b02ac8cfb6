"""The pages' claims pass the same gates as the API's (in process, on a real Redis): a new
version of the operator's charter is asked for again before the next task, and a new
volunteer's live-assignment cap starts at one on the pages too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN, app_client
from tests.web.test_work_requests import csrf, moderation, org_project, signed_in_volunteer

pytestmark = pytest.mark.anyio

NEW_CHARTER = "Our own charter.\n\nSecond paragraph: be kind."


@pytest.fixture
async def web(redis_client: object, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # The real default start (the suite's environment lifts it: tests/support/limits.py).
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, live_assignments_start=1)
    async with app_client(settings) as client:
        yield client


async def test_a_new_charter_version_is_asked_for_again_before_the_next_task(
    web: httpx.AsyncClient,
) -> None:
    project, _ = await org_project(web, "moderation", [moderation(i) for i in range(3)], "g1")
    await signed_in_volunteer(web, "g1")
    assert (await web.get("/work")).status_code == 200
    token = await csrf(web, "/work")
    started = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    task_url = started.headers["location"]
    assert task_url.startswith("/work/a/")

    changed = await web.put("/v1/charter", json={"text": NEW_CHARTER}, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    # (The pages share the API's copy of the version, which the change refreshed.)
    found = await web.get("/work")
    assert (found.status_code, found.headers["location"]) == (303, "/charter?next=/work")
    charter = await web.get("/charter?next=/work&lang=en")
    assert "The charter changed since you accepted it" in charter.text
    assert "<p>Second paragraph: be kind.</p>" in charter.text
    assert "I accept the charter" in charter.text
    # Skipping the task in hand leads to the charter, not to a next task.
    token = await csrf(web, task_url + "/skip")
    skipped = await web.post(task_url + "/skip", data={"csrf_token": token, "reason": "too_hard"})
    assert skipped.headers["location"] == "/charter?next=/work"

    token = await csrf(web, "/charter")
    accepted = await web.post("/charter", data={"csrf_token": token, "next": "/work"})
    assert accepted.status_code == 303
    assert (await web.get("/work")).status_code == 200
    again = await web.get("/charter?lang=en")
    assert "You accepted the charter." in again.text and "changed since" not in again.text


async def test_a_new_volunteer_holds_one_task_at_a_time_on_the_pages(
    web: httpx.AsyncClient,
) -> None:
    project, _ = await org_project(web, "moderation", [moderation(i) for i in range(3)], "g2")
    await signed_in_volunteer(web, "g2")
    token = await csrf(web, "/work")
    first = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    assert first.headers["location"].startswith("/work/a/")
    # A second "Start" while the first task is live: the cap of a volunteer with no accepted
    # answer yet is one (the API's rule), so no second lease is taken.
    second = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    assert second.status_code == 429
    assert first.headers["location"].removeprefix("/work/a/") in second.text
