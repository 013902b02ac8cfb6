"""Helpers for the NGO-facing API tests: projects, payloads, volunteer tokens, results."""

from __future__ import annotations

from typing import Any

import httpx
import redis.asyncio

from core.accounts.store import Accounts
from core.board.runner import AsyncBoard
from core.delivery.results import Result, publish_result
from core.redis.keys import Keys

PROJECT: dict[str, Any] = {
    "name": "Clinic leaflets",
    "task_type": "translation",
    "instructions": "Translate the sentence; keep names as they are.",
    "languages": ["en", "fr"],
}


def translation(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "source_text": f"Wash your hands, {i}.",
        "source_lang": "en",
        "target_lang": "fr",
        **extra,
    }


async def new_project(
    api: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await api.post("/v1/projects", json={**PROJECT, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def submit(
    api: httpx.AsyncClient, headers: dict[str, str], project_id: str, tasks: list[Any]
) -> dict[str, Any]:
    response = await api.post(
        f"/v1/projects/{project_id}/tasks", json={"tasks": tasks}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def volunteer_token(redis_url: str) -> tuple[str, dict[str, str]]:
    """A volunteer and its auth headers, made in the store directly (no volunteer route)."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        volunteer_id, token = await Accounts(client, Keys(), None).create_volunteer(
            "Ada", ["fr", "en"], []
        )
    finally:
        await client.aclose()
    return volunteer_id, {"Authorization": f"Bearer {token}"}


async def publish(
    redis_url: str, project_id: str, task_ids: list[str], *, method: str = "agreement"
) -> list[str]:
    """Publish one result per task id (as the workers will); returns their cursors."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    board = AsyncBoard(client)
    try:
        cursors = []
        for task_id in task_ids:
            result = Result(task_id, {"text": f"Lavez-vous les mains ({task_id})"}, 0.9, method)
            published = await board.run(publish_result(board.keys, project_id, result))
            cursors.append(published.cursor)
        return cursors
    finally:
        await client.aclose()
