"""The work pages' requests in-process (no browser): the heartbeat's JSON endpoint and its CSRF
header, minutes per task from the project's timed answers, a data-entry image's origin allowed
in that page's policy (and nothing else), and the form's refusals mapped to fields."""

from __future__ import annotations

import gzip
import re
from typing import Any

import httpx
import pytest

from tests.support.api.client import ADMIN
from web.work.forms import FIELD_HELP, AnswerForm
from web.work.task_page import _image_origin

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    found = TOKEN.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def signed_in_volunteer(client: httpx.AsyncClient, skill: str) -> None:
    token = await csrf(client, "/join")
    joined = await client.post(
        "/join",
        data={
            "csrf_token": token,
            "display_name": "Ines",
            "languages": ["en", "fr"],
            "skills": skill,
        },
    )
    assert joined.status_code == 303, joined.text
    token = await csrf(client, "/charter")
    accepted = await client.post("/charter", data={"csrf_token": token, "next": "/work"})
    assert accepted.status_code == 303


async def org_project(
    client: httpx.AsyncClient, task_type: str, payloads: list[dict[str, Any]], skill: str
) -> tuple[str, dict[str, str]]:
    made = await client.post(
        "/v1/orgs", json={"name": "Aid", "contact_email": "a@example.org"}, headers=ADMIN
    )
    org = {"Authorization": f"Bearer {made.json()['api_key']}"}
    project = await client.post(
        "/v1/projects",
        json={"name": "P", "task_type": task_type, "instructions": "Do it.", "skills": [skill]},
        headers=org,
    )
    assert project.status_code == 201, project.text
    project_id = str(project.json()["id"])
    sent = await client.post(
        f"/v1/projects/{project_id}/tasks",
        json={"tasks": [{"payload": payload} for payload in payloads]},
        headers=org,
    )
    assert sent.json()["accepted"] == len(payloads)
    return project_id, org


def moderation(i: int) -> dict[str, Any]:
    return {"content": f"Post {i}", "labels": ["ok", "spam"]}


async def test_the_heartbeat_needs_the_csrf_header_and_renews_only_my_lease(
    web: httpx.AsyncClient,
) -> None:
    project, _ = await org_project(web, "moderation", [moderation(0)], "s1")
    await signed_in_volunteer(web, "s1")
    token = await csrf(web, "/work")
    started = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    assert started.status_code == 303
    task_url = started.headers["location"]
    assert task_url.startswith(f"/work/a/{project}.")
    page = await web.get(task_url)
    assert page.status_code == 200
    assert "connect-src 'self'" in page.headers["content-security-policy"]

    refused = await web.post(task_url + "/heartbeat")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_refused"
    beat = await web.post(task_url + "/heartbeat", headers={"X-CSRF-Token": token})
    assert beat.status_code == 200, beat.text
    body = beat.json()
    assert body["expires_at_ms"] > body["now_ms"]
    assert body["capped"] is False
    unknown = await web.post(task_url + "x/heartbeat", headers={"X-CSRF-Token": token})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "assignment_not_found"

    web.cookies.clear()  # signed out: no session, no renewal
    gone = await web.post(task_url + "/heartbeat", headers={"X-CSRF-Token": token})
    assert gone.status_code == 401


async def test_minutes_per_task_are_the_median_of_the_projects_timed_answers(
    web: httpx.AsyncClient,
) -> None:
    project, _ = await org_project(web, "moderation", [moderation(i) for i in range(3)], "s2")
    for seconds in (100, 250, 290, 600, 1000):  # median 290 s: 5 minutes, rounded up
        made = await web.post(
            "/v1/volunteers", json={"display_name": "V", "languages": ["en"], "skills": ["s2"]}
        )
        me = {"Authorization": f"Bearer {made.json()['token']}"}
        await web.post("/v1/me/charter", json={"accept": True}, headers=me)
        claimed = await web.post("/v1/assignments", json={"project_id": project}, headers=me)
        submitted = await web.post(
            f"/v1/assignments/{claimed.json()['id']}/submit",
            json={"answer": {"label": "ok"}, "seconds_spent": seconds},
            headers=me,
        )
        assert submitted.status_code == 202
    await signed_in_volunteer(web, "s2")
    found = await web.get("/work")
    assert "about 5 minutes" in found.text


async def test_find_work_lists_only_projects_with_a_task_left_for_me(
    web: httpx.AsyncClient,
) -> None:
    project, _ = await org_project(web, "moderation", [moderation(i) for i in range(2)], "s3")
    await signed_in_volunteer(web, "s3")
    found = await web.get("/work?lang=en")
    assert re.search(r"Tasks left for you</dt><dd>2<", found.text)
    # I skip both tasks (after a skip comes the next one): they are still open, for others.
    token = await csrf(web, "/work")
    started = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    task_url = started.headers["location"]
    for _ in range(2):
        assert task_url.startswith(f"/work/a/{project}.")
        token = await csrf(web, task_url + "/skip")
        skipped = await web.post(
            task_url + "/skip", data={"csrf_token": token, "reason": "too_hard"}
        )
        assert skipped.status_code == 303
        task_url = skipped.headers["location"]
    assert not task_url.startswith("/work/a/")  # none left for me: back to /work
    found = await web.get("/work?lang=en")
    assert "Start" not in found.text and "Any task" not in found.text
    assert "Nothing is left for you right now" in found.text
    assert "No project needs your languages" not in found.text
    token = await csrf(web, "/logout")
    nothing = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    assert nothing.headers["location"] == "/work?empty=1"
    # Someone new is offered both.
    web.cookies.clear()
    await signed_in_volunteer(web, "s3")
    assert re.search(r"Tasks left for you</dt><dd>2<", (await web.get("/work?lang=en")).text)


async def test_a_task_page_with_its_css_and_js_stays_within_50_kb_compressed(
    web: httpx.AsyncClient,
) -> None:
    """WEB.md's weight budget, on the heaviest page: a translation task with the workbench (its
    glossary, checks and shortcuts), in French; compressed as a server would send it (the page
    by gzip at level 6, the way a proxy does; the assets as the app serves them)."""
    payload = {
        "source_text": "Wash your hands with soap before every meal, 3 times a day, %s.",
        "source_lang": "en",
        "target_lang": "fr",
        "context": "A poster in a health centre.",
        "glossary": {"soap": "savon", "meal": "repas"},
    }
    project, _ = await org_project(web, "translation", [payload], "s4")
    await signed_in_volunteer(web, "s4")
    token = await csrf(web, "/work")
    started = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    page = await web.get(started.headers["location"] + "?lang=fr")
    assert page.status_code == 200 and "savon" in page.text
    total = len(gzip.compress(page.content, compresslevel=6))
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert len(assets) == 2, assets  # one style sheet, one script
    for url in assets:
        served = await web.get(url, headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200
        assert served.headers["content-encoding"] == "gzip"
        total += int(served.headers["content-length"])
    assert total <= 50 * 1024, total


async def test_a_data_entry_image_is_allowed_from_its_own_origin_only(
    web: httpx.AsyncClient,
) -> None:
    payload = {
        "document": {"image_url": "https://files.example.org/scan/1.png"},
        "fields": [{"name": "name", "type": "string"}],
    }
    project, _ = await org_project(web, "data_entry", [payload], "s3")
    await signed_in_volunteer(web, "s3")
    token = await csrf(web, "/work")
    started = await web.post("/work/start", data={"csrf_token": token, "project_id": project})
    page = await web.get(started.headers["location"])
    policy = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://files.example.org;" in policy
    assert "script-src 'self';" in policy
    assert 'src="https://files.example.org/scan/1.png"' in page.text


def test_an_image_origin_that_could_reach_the_policy_is_left_out() -> None:
    assert _image_origin({"document": {"image_url": "https://a.example:8443/x"}}) == (
        "https://a.example:8443"
    )
    assert _image_origin({"document": {"image_url": "https://a;script-src */"}}) is None
    assert _image_origin({"document": {"image_url": "https://user@b.example/"}}) == (
        "https://b.example"  # what the browser fetches from: the host, not the user
    )
    assert _image_origin({"document": {"image_url": "https://a b/"}}) is None
    assert _image_origin({"document": {"image_url": "javascript:alert(1)"}}) is None
    assert _image_origin({"document": {"text": "no image"}}) is None


def test_the_task_types_refusals_land_beside_their_fields() -> None:
    payload = {
        "document": {"text": "x"},
        "fields": [{"name": "e", "type": "email"}, {"name": "n", "type": "number"}],
    }
    form = AnswerForm("data_entry", {"field-0": "nope", "field-1": "12"})
    assert form.answer(payload) == {"values": {"e": "nope", "n": "12"}}
    form.refused(payload, [{"loc": ["values", "e"], "msg": "not an email", "type": "x"}])
    assert form.errors == {"field-0": FIELD_HELP["email"]}
    assert form.error is None

    blank = AnswerForm("translation", {"text": " "})
    blank.refused({}, [{"loc": ["text"], "msg": "blank", "type": "value_error"}])
    assert blank.errors == {"text": "Please write your translation."}

    label = AnswerForm("moderation", {"label": "nope", "reasons": "a\n\n b "})
    assert label.answer({}) == {"label": "nope", "reasons": ["a", "b"]}
    label.refused({}, [{"loc": ["label"], "msg": "not a label", "type": "invalid_answer"}])
    assert label.error == "Please choose one of the labels."
