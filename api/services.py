"""Dependency aliases for the NGO-facing services, built per request from the shared clients.

``OwnedProjectId`` is the path's ``project_id`` after the ownership check: the organisation's
token is checked first (401/403), then the project must be one of its own; a malformed id, an
unknown one and another organisation's all get the same 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import BoardDep, CurrentOrg, KeysDep, RedisDep
from core.delivery.webhooks import Webhooks
from core.idempotency import Idempotency
from core.projects.store import Projects

__all__ = ["IdempotencyDep", "OwnedProjectId", "ProjectsDep", "WebhooksDep"]


async def _projects(board: BoardDep, client: RedisDep, keys: KeysDep) -> Projects:
    return Projects(board, client, keys)


async def _webhooks(client: RedisDep, keys: KeysDep) -> Webhooks:
    return Webhooks(client, keys)


async def _idempotency(client: RedisDep, keys: KeysDep) -> Idempotency:
    return Idempotency(client, keys)


ProjectsDep = Annotated[Projects, Depends(_projects)]
WebhooksDep = Annotated[Webhooks, Depends(_webhooks)]
IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]


async def _owned_project(project_id: str, org: CurrentOrg, projects: ProjectsDep) -> str:
    return await projects.require_owned(org.id, project_id)


OwnedProjectId = Annotated[str, Depends(_owned_project)]
