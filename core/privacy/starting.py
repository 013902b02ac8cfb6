"""Deleting a project or a task from asyncio code in one call: what the API's routes and the
NGO's console pages do (the ownership check is the caller's: ``Projects.require_owned``, so
that another organisation's project is the same 404 as a random id).

Each runs what must hold at once (:mod:`core.privacy.projects`) and queues the job that removes
the rest in bounded batches; the claim index of every API process is told at once
(:mod:`core.projects.changes`).
"""

from __future__ import annotations

import time

from core import ids
from core.board.runner import AsyncBoard
from core.privacy.projects import project_deletion, task_deletion, task_job
from core.projects.changes import announce_project_change

__all__ = ["delete_project", "delete_task"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def delete_project(
    board: AsyncBoard, org_id: str, project_id: str, now_ms: int | None = None
) -> None:
    """The organisation's project answers 404 from now on; the job removes everything under it.
    Asking again for a project being deleted is harmless (its job keeps its progress)."""
    await board.run(project_deletion(board.keys, project_id, org_id, now_ms or _now_ms()))
    await announce_project_change(board.client, board.keys, project_id)


async def delete_task(
    board: AsyncBoard, org_id: str, project_id: str, task_id: str, now_ms: int | None = None
) -> bool:
    """The task answers 404 from now on and the live leases on it end; the job removes its
    answers, results and the rest. False when there was no such task (nothing done)."""
    if not ids.TASK_ID.match(task_id):
        return False
    found, ended = await board.run(task_deletion(board.keys, project_id, task_id))
    if found:
        await board.run(
            task_job(board.keys, project_id, task_id, org_id, ended, now_ms or _now_ms())
        )
    return found
