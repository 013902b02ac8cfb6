"""Projects of the calling organisation: create, list, read (with task counts), edit, pause."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from api.deps import CurrentOrg, OwnedProjectId, ProjectsDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.projects.store import Project, ProjectCreate, ProjectPatch

__all__ = ["router"]

router = APIRouter(prefix="/v1/projects", tags=["projects"], route_class=BoundedJsonRoute)


class ProjectList(BaseModel):
    items: list[Project]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Project,
    summary="Create a project",
    description="`task_type` must be a registered type (see `GET /v1/task-types`); an unknown "
    "one is refused with 422 `unknown_task_type`, whose details list the known types. Bounds: "
    "redundancy 1..99, lease_seconds 30..86400, priority -999..999, at most 20 languages "
    "(BCP-47 tags) and 20 skills.",
    responses=error_responses(401, 403, 422),
)
async def create_project(body: ProjectCreate, org: CurrentOrg, projects: ProjectsDep) -> Project:
    return await projects.create(org.id, body)


@router.get(
    "",
    response_model=ProjectList,
    summary="The organisation's projects, newest first, with task counts",
    responses=error_responses(401, 403),
)
async def list_projects(org: CurrentOrg, projects: ProjectsDep) -> ProjectList:
    return ProjectList(items=await projects.of_org(org.id))


@router.get(
    "/{project_id}",
    response_model=Project,
    summary="One project, with the number of tasks in each state",
    responses=error_responses(401, 403, 404),
)
async def get_project(
    project_id: OwnedProjectId, org: CurrentOrg, projects: ProjectsDep
) -> Project:
    return await projects.get(org.id, project_id)


@router.patch(
    "/{project_id}",
    response_model=Project,
    summary="Edit a project: pause/resume (`state`), policy, instructions, impact note",
    description="Only the fields sent change. A new `redundancy` applies to tasks created "
    "afterwards; `lease_seconds` to leases granted afterwards. `task_type` cannot change. "
    "Once the deadline has passed the project is `closed`: its unfinished tasks expire, and "
    "its `state` and `deadline` can no longer change (409 `project_closed`). Edits made at "
    "the same time never undo each other: each applies to the project as the others left it, "
    "and one that keeps losing that race is refused with 409 `conflict`, changing nothing.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def edit_project(
    project_id: OwnedProjectId, body: ProjectPatch, org: CurrentOrg, projects: ProjectsDep
) -> Project:
    return await projects.update(org.id, project_id, body)
