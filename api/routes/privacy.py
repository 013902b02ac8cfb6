"""Personal data and deletion: a volunteer's export and erasure, an NGO deleting a task or a
project, the operator doing the same and deleting an organisation (core.privacy).

Every deletion answers 202: what must hold at once holds when the response leaves (the token
or key stops working, the project or task answers 404), and the rest is removed in the
background by the scheduler, in bounded batches (``ruche privacy jobs`` lists them). Asking
again is harmless; a thing already being deleted answers 404, like one that never existed.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from api.deps import (
    AccountsDep,
    BoardDep,
    CurrentAdmin,
    CurrentOrg,
    CurrentVolunteer,
    KeysDep,
    OwnedProjectId,
    RedisDep,
)
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core import ids
from core.accounts.tokens import parse_token
from core.errors import OrgVolunteerNotFound, ProjectNotFound, TaskNotFound
from core.privacy import export_volunteer, org_deletion, start_volunteer_erasure
from core.privacy.starting import delete_project as delete_project_now
from core.privacy.starting import delete_task as delete_task_now
from core.projects.changes import announce_project_change

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["personal data"], route_class=BoundedJsonRoute)


class Deletion(BaseModel):
    status: Literal["deleting"] = "deleting"
    kind: Literal["volunteer", "project", "task", "organisation"]
    id: str = Field(description="What is being deleted.")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _export(client: RedisDep, keys: KeysDep, volunteer_id: str) -> dict[str, Any]:
    found = await export_volunteer(client, keys, volunteer_id)
    if found is None:
        raise OrgVolunteerNotFound("no such volunteer")
    return found


@router.get(
    "/me/export",
    summary="Everything held about you, as JSON (your right of access and to portability)",
    description="Profile, stats, feedback, reputation, every answer you gave (with its project "
    "and task), your live assignments, review rights and decisions, qualification records.",
    responses=error_responses(401, 403),
)
async def export_me(me: CurrentVolunteer, client: RedisDep, keys: KeysDep) -> dict[str, Any]:
    return await _export(client, keys, me.id)


async def _erase(
    accounts: AccountsDep, client: RedisDep, keys: KeysDep, volunteer_id: str, token: str | None
) -> Deletion:
    parsed = parse_token(token) if token else None
    stopped = await start_volunteer_erasure(
        client, keys, volunteer_id, _now_ms(), token_hash=parsed.hash if parsed else None
    )
    accounts.forget_volunteer(volunteer_id, stopped or ())
    if stopped is None:
        raise OrgVolunteerNotFound("no such volunteer")
    return Deletion(kind="volunteer", id=volunteer_id)


@router.delete(
    "/me",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Deletion,
    summary="Erase your account (your right to erasure)",
    description="Your token stops working at once. Your profile, stats, feedback, reputation "
    "and review rights go; your live assignments go back to the queue; the answers you gave "
    "stay in the NGOs' results without your identity (a pseudonym no one can link back to "
    "you). The rest happens in the background within minutes.",
    responses=error_responses(401, 403),
)
async def erase_me(
    request: Request,
    me: CurrentVolunteer,
    accounts: AccountsDep,
    client: RedisDep,
    keys: KeysDep,
) -> Deletion:
    return await _erase(accounts, client, keys, me.id, _bearer(request))


@router.get(
    "/volunteers/{volunteer_id}/export",
    summary="Everything held about a volunteer (operator)",
    responses=error_responses(401, 403, 404),
)
async def export_volunteer_route(
    volunteer_id: str, admin: CurrentAdmin, client: RedisDep, keys: KeysDep
) -> dict[str, Any]:
    if not ids.VOLUNTEER_ID.match(volunteer_id):
        raise OrgVolunteerNotFound("no such volunteer")
    return await _export(client, keys, volunteer_id)


@router.delete(
    "/volunteers/{volunteer_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Deletion,
    summary="Erase a volunteer's account (operator)",
    description="As `DELETE /v1/me`, on the volunteer's behalf.",
    responses=error_responses(401, 403, 404),
)
async def erase_volunteer(
    volunteer_id: str,
    admin: CurrentAdmin,
    accounts: AccountsDep,
    client: RedisDep,
    keys: KeysDep,
) -> Deletion:
    return await _erase(accounts, client, keys, volunteer_id, None)


async def _delete_project(board: BoardDep, org_id: str, project_id: str) -> Deletion:
    await delete_project_now(board, org_id, project_id)
    return Deletion(kind="project", id=project_id)


@router.delete(
    "/projects/{project_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Deletion,
    summary="Delete a project and everything under it",
    description="The project answers 404 at once and no volunteer is served its tasks; its "
    "tasks, answers, results, events, review items, webhook deliveries and idempotency records "
    "are removed in the background.",
    responses=error_responses(401, 403, 404),
)
async def delete_project(project_id: OwnedProjectId, org: CurrentOrg, board: BoardDep) -> Deletion:
    return await _delete_project(board, org.id, project_id)


@router.delete(
    "/orgs/{org_id}/projects/{project_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Deletion,
    summary="Delete one of an organisation's projects (operator)",
    responses=error_responses(401, 403, 404),
)
async def delete_org_project(
    org_id: str, project_id: str, admin: CurrentAdmin, board: BoardDep, keys: KeysDep
) -> Deletion:
    if not ids.PROJECT_ID.match(project_id) or not await board.client.sismember(
        keys.org_projects(org_id), project_id
    ):
        raise ProjectNotFound("no such project")
    return await _delete_project(board, org_id, project_id)


@router.delete(
    "/projects/{project_id}/tasks/{task_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Deletion,
    summary="Delete one task: its payload, answers and result",
    description="The task answers 404 at once; live assignments on it end.",
    responses=error_responses(401, 403, 404),
)
async def delete_task(
    project_id: OwnedProjectId, task_id: str, org: CurrentOrg, board: BoardDep
) -> Deletion:
    if not await delete_task_now(board, org.id, project_id, task_id):
        raise TaskNotFound("no such task")
    return Deletion(kind="task", id=task_id)


@router.delete(
    "/orgs/{org_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Deletion,
    summary="Delete an organisation and everything it owns (operator)",
    description="Its API keys stop working at once; its projects (each as `DELETE "
    "/v1/projects/{id}`), deliveries, webhook and keys are removed in the background.",
    responses=error_responses(401, 403, 404),
)
async def delete_org(
    org_id: str, admin: CurrentAdmin, accounts: AccountsDep, board: BoardDep, keys: KeysDep
) -> Deletion:
    await accounts.org(org_id)  # 404 when unknown or already being deleted
    records = await accounts.org_keys(org_id)
    hashes = [str(r["hash"]) for r in records.values() if isinstance(r, dict) and r.get("hash")]
    await board.run(org_deletion(keys, org_id, hashes, _now_ms()))
    await announce_project_change(board.client, keys)
    return Deletion(kind="organisation", id=org_id)
