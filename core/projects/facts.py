"""What a volunteer is told of a project: its organisation's name, the project's name, its
instructions and impact note. The claim's response, ``GET /v1/me``, ``GET /v1/projects/open``
and the pages (``web.work.offers``, ``web.me``) all say it from here.

Organisation names are kept per process for :data:`NAMES_TTL_SECONDS` (a rename shows within
that time): the claim is the volunteers' hot path and the name changes rarely. The project's own
fields come from its document (``ProjectCatalogue.document``, itself cached).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio

from core.errors import NotFound
from core.recent import Recent
from core.redis.keys import Keys

__all__ = [
    "OpenProject",
    "ProjectContext",
    "context_of",
    "open_projects",
    "organisation_name",
    "project_context",
]

NAMES_TTL_SECONDS = 60.0
_names: Recent[str, str] = Recent(NAMES_TTL_SECONDS, 4096)


class _Organisations(Protocol):
    async def org(self, org_id: str) -> dict[str, str]: ...


class _Documents(Protocol):
    async def document(self, project_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ProjectContext:
    project_id: str
    project_name: str
    organisation: str  # "" once the organisation is gone
    task_type: str
    instructions: str
    impact_note: str | None
    languages: list[str]
    skills: list[str]


async def organisation_name(accounts: _Organisations, org_id: str) -> str:
    """The organisation's name ("" when there is none), cached per process."""
    known = _names.get(org_id)
    if known is None:
        read_at = _names.now()
        try:
            known = str((await accounts.org(org_id)).get("name", "")) if org_id else ""
        except NotFound:
            known = ""
        _names.put(org_id, known, read_at)
    return known


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def context_of(project_id: str, document: dict[str, Any], organisation: str) -> ProjectContext:
    impact = document.get("impact_note")
    return ProjectContext(
        project_id=project_id,
        project_name=str(document.get("name", "")),
        organisation=organisation,
        task_type=str(document.get("task_type", "")),
        instructions=str(document.get("instructions", "")),
        impact_note=impact if isinstance(impact, str) and impact.strip() else None,
        languages=_strings(document.get("languages")),
        skills=_strings(document.get("skills")),
    )


async def project_context(
    accounts: _Organisations, catalogue: _Documents, project_id: str
) -> ProjectContext | None:
    """The project as a volunteer is told of it; None once it is gone."""
    try:
        document = await catalogue.document(project_id)
    except NotFound:
        return None
    organisation = await organisation_name(accounts, str(document.get("org_id", "")))
    return context_of(project_id, document, organisation)


@dataclass(frozen=True, slots=True)
class OpenProject:
    context: ProjectContext
    tasks_left: int  # tasks ready to be claimed right now


async def open_projects(
    accounts: _Organisations,
    catalogue: _Documents,
    client: redis.asyncio.Redis,
    keys: Keys,
    project_ids: Sequence[str],
) -> list[OpenProject]:
    """The projects (those the matcher found for a volunteer, best first) with how many of
    their tasks are ready: one pipeline for the counts."""
    async with client.pipeline(transaction=False) as pipe:
        for project_id in project_ids:
            pipe.zcard(keys.project(project_id).ready)
        left: list[Any] = await pipe.execute()
    found = []
    for project_id, ready in zip(project_ids, left, strict=True):
        context = await project_context(accounts, catalogue, project_id)
        if context is not None:
            found.append(OpenProject(context, int(ready)))
    return found
