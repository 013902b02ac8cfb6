"""Erasure and deletion end to end, proved by scanning every key of the Redis server.

A real ``ruche api``, worker, relay and scheduler. An NGO with a webhook runs one project of
each built-in type (translation, data entry, moderation); three volunteers answer every task,
disagreeing on one per project, which a reviewer settles; every result reaches the NGO's
webhook. Then:

- a volunteer, who also signed in on the pages, got a certificate and reported a task's
  instructions unclear (the insights folded), erases their account, and the operator erases
  the reviewer's: their tokens stop at once, and once the scheduler is done no key, field,
  member or stream entry anywhere holds their ids or display names; every result is still there;
- the NGO deletes the moderation project: 404 at once, then no key holds its id;
- the operator deletes the organisation: its key stops at once, then no key holds its id or
  any of its projects' ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from core.board.runner import Board
from core.insights.rollup import fold_all
from core.insights.unclear import record_unclear
from tests.e2e.test_pipeline_flow import PROJECTS, TASKS_PER_TYPE, answer_for, payload
from tests.support.delivery import Receiver
from tests.support.key_scan import holding
from tests.support.live_ruche import (
    ADMIN_TOKEN,
    Cursor,
    RunningApi,
    bearer,
    sign_up,
    start,
    wait_for,
)
from tests.support.processes import stop_group
from tests.support.web_inprocess import csrf_token

NAMES = ["Erin Erasable-Quorum", "Second Volunteer", "Third Volunteer"]
REVIEWER = "Rhea Reviewer-Erasable"


@pytest.fixture
def processes(redis_url: str, tmp_path: Path) -> Iterator[None]:
    private = {"RUCHE_WEBHOOK_ALLOW_PRIVATE": "1"}
    running = [
        start(["worker", "--processes", "1", "--threads", "4"], redis_url,
              tmp_path / "worker.log", **private),
        start(["relay"], redis_url, tmp_path / "relay.log", RUCHE_RELAY_CLAIM_IDLE_SECONDS="1"),
        start(["scheduler"], redis_url, tmp_path / "scheduler.log",
              RUCHE_SCHEDULER_INTERVAL_SECONDS="0.2", **private),
    ]  # fmt: skip
    try:
        yield
    finally:
        for process in running:
            stop_group(process)


def sign_in_and_get_certificate(http: httpx.Client, token: str, name: str) -> str:
    """Sign in on the pages with the volunteer key, open "My certificate": its id."""
    html = {"Accept": "text/html"}
    login = http.get("/login", headers=html)
    signed_in = http.post(
        "/login/code",
        data={"csrf_token": csrf_token(login.text), "code": token, "next": "/me"},
        headers=html,
    )
    assert signed_in.status_code == 303, signed_in.text
    page = http.get("/me/certificate", headers=html)
    assert page.status_code == 200 and name in page.text
    found = re.search(r"/certificates/(crt_[0-9a-f]{32})", page.text)
    assert found is not None
    return found.group(1)


def wait_until_none_hold(client: redis.Redis, needles: list[str], what: str) -> None:
    """Wait for the scheduler to finish; on time-out, fail naming the keys still holding."""
    try:
        wait_for(lambda: holding(client, needles) == [], what)
    except AssertionError:
        assert holding(client, needles) == [], what


def test_erasure_and_deletion_leave_no_key_behind(
    running_api: RunningApi,
    redis_url: str,
    redis_client: redis.Redis,
    processes: None,
    tmp_path: Path,
) -> None:
    with Receiver() as receiver, httpx.Client(base_url=running_api.base_url, timeout=10) as http:
        org = http.post(
            "/v1/orgs",
            json={"name": "Helping Hands", "contact_email": "ops@example.org"},
            headers=bearer(ADMIN_TOKEN),
        )
        org_id, ngo = org.json()["id"], bearer(org.json()["api_key"])
        assert http.put("/v1/webhook", json={"url": receiver.url}, headers=ngo).is_success
        projects: dict[str, str] = {}
        for task_type, spec in PROJECTS.items():
            made = http.post("/v1/projects", json={**spec, "instructions": "Go."}, headers=ngo)
            projects[task_type] = made.json()["id"]
            tasks = [
                {"external_id": f"{task_type}-{n}", "payload": payload(task_type, n)}
                for n in range(TASKS_PER_TYPE)
            ]
            sent = http.post(
                f"/v1/projects/{projects[task_type]}/tasks", json={"tasks": tasks}, headers=ngo
            )
            assert sent.json()["accepted"] == TASKS_PER_TYPE, sent.text

        people = [sign_up(http, name) for name in NAMES]
        for who, (_, headers) in enumerate(people):
            for task_type, project_id in projects.items():
                while True:
                    claim = http.post(
                        "/v1/assignments", json={"project_id": project_id}, headers=headers
                    )
                    if claim.status_code == 204:
                        break
                    assert claim.status_code == 201, claim.text
                    body = claim.json()["task"]["payload"]
                    submitted = http.post(
                        f"/v1/assignments/{claim.json()['id']}/submit",
                        json={"answer": answer_for(task_type, body, who), "seconds_spent": 60},
                        headers=headers,
                    )
                    assert submitted.status_code == 202, submitted.text

        # The reviewer settles the disputed task of each project.
        reviewer_id, reviewer = sign_up(http, REVIEWER)
        cursors = {t: Cursor(http, pid, ngo) for t, pid in projects.items()}
        for task_type, project_id in projects.items():
            cursors[task_type].poll_until(TASKS_PER_TYPE - 1)
            granted = http.post(
                f"/v1/projects/{project_id}/reviewers",
                json={"volunteer_id": reviewer_id},
                headers=ngo,
            )
            assert granted.status_code == 201, granted.text

            def item_waiting(project_id: str = project_id) -> bool:
                counts = http.get(f"/v1/projects/{project_id}", headers=ngo).json()["counts"]
                return bool(counts["in_review"] == 1)

            wait_for(item_waiting, f"a review item in {task_type}")
            item = http.post("/v1/reviews", json={"project_id": project_id}, headers=reviewer)
            assert item.status_code == 201, item.text
            first = item.json()["candidates"][0]
            decided = http.post(
                f"/v1/reviews/{item.json()['id']}/decision",
                json={"action": "accept", "submission_id": first["submission_id"]},
                headers=reviewer,
            )
            assert decided.status_code == 200, decided.text
        for cursor in cursors.values():
            cursor.poll_until(TASKS_PER_TYPE)
        total = TASKS_PER_TYPE * len(projects)
        wait_for(lambda: len(receiver.requests) >= total, "every result delivered by webhook")

        # What the pages and the insights add: a web session, a certificate, an "instructions
        # unclear" report, the insights folded; the API counted their requests (rate limits).
        (erased_id, erased), name = people[0], NAMES[0]
        token = erased["Authorization"].removeprefix("Bearer ")
        certificate_id = sign_in_and_get_certificate(http, token, name)
        board = Board(redis_client)
        touched = board.keys.project(projects["moderation"]).touched(erased_id)
        claimed = sorted(str(t) for t in redis_client.smembers(touched))
        note = record_unclear(
            board.keys, board.clock, projects["moderation"], erased_id, claimed[0]
        )
        assert board.run(note)
        assert fold_all(board) > 0
        before = holding(redis_client, [erased_id, name])
        for what in ("certificate:", "web:session:", ":unclear", ":insights:vol", "limits:"):
            assert any(what in found for found in before), what

        # A volunteer's export: every answer, with its task and project.
        exported = http.get("/v1/me/export", headers=erased).json()
        assert len(exported["answers"]) == total
        assert {a["project_id"] for a in exported["answers"]} == set(projects.values())
        assert holding(redis_client, [erased_id, name, reviewer_id, REVIEWER])

        # Erasure: the volunteer themselves, the reviewer by the operator.
        assert http.delete("/v1/me", headers=erased).status_code == 202
        by_operator = http.delete(f"/v1/volunteers/{reviewer_id}", headers=bearer(ADMIN_TOKEN))
        assert by_operator.status_code == 202, by_operator.text
        assert http.get("/v1/me", headers=erased).status_code == 401
        assert http.get("/v1/me", headers=reviewer).status_code == 401
        gone = [erased_id, name, reviewer_id, REVIEWER]
        wait_until_none_hold(redis_client, gone, "no key holding the erased people")
        page = http.get(f"/certificates/{certificate_id}", headers={"Accept": "text/html"})
        assert page.status_code == 404
        for task_type, project_id in projects.items():
            fresh = Cursor(http, project_id, ngo).poll_until(TASKS_PER_TYPE)
            assert len(fresh) == TASKS_PER_TYPE, task_type
        assert holding(redis_client, [people[1][0], NAMES[1]])  # the others are untouched

        # The NGO deletes one project.
        moderation = projects["moderation"]
        assert http.delete(f"/v1/projects/{moderation}", headers=ngo).status_code == 202
        assert http.get(f"/v1/projects/{moderation}", headers=ngo).status_code == 404
        wait_until_none_hold(redis_client, [moderation], "no key holding the project")
        assert http.get(f"/v1/projects/{projects['translation']}", headers=ngo).is_success

        # The operator deletes the organisation.
        deleted = http.delete(f"/v1/orgs/{org_id}", headers=bearer(ADMIN_TOKEN))
        assert deleted.status_code == 202, deleted.text
        assert http.get("/v1/projects", headers=ngo).status_code == 401
        everything = [org_id, *projects.values()]
        wait_until_none_hold(redis_client, everything, "no key holding the organisation")
