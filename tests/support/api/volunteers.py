"""Helpers for the volunteer and reviewer API tests.

An organisation sets the scene through its own routes (projects, tasks, review grants); what no
route does yet (opening a review, which the aggregation actor will do; shortening a lease below
the API's minimum; the stats the stats actor will write) goes straight to the board.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import redis.asyncio

from core.board.operations import text
from core.board.runner import AsyncBoard, BoardPolicy
from core.redis.keys import Keys

Headers = dict[str, str]

PROJECT: dict[str, Any] = {
    "name": "Clinic leaflets",
    "task_type": "translation",
    "instructions": "Translate the sentence; keep names as they are.",
    "languages": ["en", "fr"],
}


def translation(i: int = 0) -> dict[str, Any]:
    return {"source_text": f"Wash your hands, {i}.", "source_lang": "en", "target_lang": "fr"}


def moderation(i: int = 0) -> dict[str, Any]:
    return {"content": f"Post number {i}", "labels": ["ok", "spam"]}


def data_entry(i: int = 0) -> dict[str, Any]:
    return {
        "document": {"text": f"Form {i}: Ada, ada@example.org"},
        "fields": [
            {"name": "name", "type": "string", "required": True},
            {"name": "email", "type": "email"},
        ],
    }


PAYLOADS = {"translation": translation, "moderation": moderation, "data_entry": data_entry}
GOOD_ANSWERS: dict[str, dict[str, Any]] = {
    "translation": {"text": "Lavez-vous les mains."},
    "moderation": {"label": "ok"},
    "data_entry": {"values": {"name": "Ada", "email": "ada@example.org"}},
}


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


class Scene:
    """An organisation with projects, through the API, plus direct board access for the rest."""

    def __init__(self, api: httpx.AsyncClient, client: redis.asyncio.Redis) -> None:
        self.api = api
        self.client = client
        self.keys = Keys()
        self.board = AsyncBoard(client)
        self.org: Headers = {}

    async def project(self, n_tasks: int = 1, **fields: Any) -> tuple[str, list[str]]:
        """A new project of the scene's organisation with ``n_tasks`` tasks of its type."""
        body = {**PROJECT, **fields}
        created = await self.api.post("/v1/projects", json=body, headers=self.org)
        assert created.status_code == 201, created.text
        project_id = str(created.json()["id"])
        return project_id, await self.tasks(project_id, n_tasks, body["task_type"])

    async def tasks(self, project_id: str, n: int, task_type: str = "translation") -> list[str]:
        """Submit ``n`` tasks through the API; returns every task id of the project."""
        if n == 0:
            return []
        tasks = [{"payload": PAYLOADS[task_type](i)} for i in range(n)]
        response = await self.api.post(
            f"/v1/projects/{project_id}/tasks", json={"tasks": tasks}, headers=self.org
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == n, response.text
        created = await self.client.hkeys(self.keys.project(project_id).tasks)
        return sorted(text(task_id) for task_id in created)

    async def grant(self, project_id: str, volunteer_id: str) -> None:
        response = await self.api.post(
            f"/v1/projects/{project_id}/reviewers",
            json={"volunteer_id": volunteer_id},
            headers=self.org,
        )
        assert response.status_code == 201, response.text

    async def pause(self, project_id: str) -> None:
        response = await self.api.patch(
            f"/v1/projects/{project_id}", json={"state": "paused"}, headers=self.org
        )
        assert response.status_code == 200, response.text

    async def short_leases(self, project_id: str, seconds: int = 1) -> None:
        """Leases shorter than the API allows, so a test can watch one expire."""
        await self.board.run(
            self.board.ops.set_policy(project_id, BoardPolicy(lease_seconds=seconds))
        )

    async def open_review(
        self, project_id: str, task_id: str, reason: str = "disagreement", priority: int = 0
    ) -> bool:
        return await self.board.run(
            self.board.ops.open_review(project_id, task_id, reason, priority)
        )

    async def task_state(self, project_id: str, task_id: str) -> str:
        return (await self.board.run(self.board.ops.get_task(project_id, task_id))).state


async def claim(api: httpx.AsyncClient, headers: Headers, **body: Any) -> httpx.Response:
    return await api.post("/v1/assignments", json=body, headers=headers)


async def answer_all(
    api: httpx.AsyncClient, volunteers: list[Headers], answer: dict[str, Any]
) -> list[str]:
    """Each volunteer claims a task and submits ``answer``; returns the submission ids."""
    submissions = []
    for headers in volunteers:
        claimed = await claim(api, headers)
        assert claimed.status_code == 201, claimed.text
        submitted = await api.post(
            f"/v1/assignments/{claimed.json()['id']}/submit",
            json={"answer": answer},
            headers=headers,
        )
        assert submitted.status_code == 202, submitted.text
        submissions.append(str(submitted.json()["submission_id"]))
    return submissions


@asynccontextmanager
async def scene(
    api: httpx.AsyncClient, redis_url: str, org_headers: Headers
) -> AsyncIterator[Scene]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        made = Scene(api, client)
        made.org = org_headers
        yield made
    finally:
        await client.aclose()


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error
