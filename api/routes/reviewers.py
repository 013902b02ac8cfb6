"""Review rights on a project: the organisation grants them to volunteers it trusts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentOrg, OwnedProjectId, ProjectsDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/projects/{project_id}/reviewers", tags=["projects"], route_class=BoundedJsonRoute
)


class ReviewerGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volunteer_id: str = Field(min_length=1, max_length=64)


class Reviewer(BaseModel):
    project_id: str
    volunteer_id: str


class ReviewerList(BaseModel):
    items: list[str] = Field(description="Volunteer ids with review rights on the project.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Reviewer,
    summary="Grant a volunteer review rights on the project",
    description="An unknown volunteer is refused with 404 `volunteer_not_found`. Granting "
    "twice is harmless.",
    responses=error_responses(401, 403, 404, 422),
)
async def grant(
    project_id: OwnedProjectId, body: ReviewerGrant, org: CurrentOrg, projects: ProjectsDep
) -> Reviewer:
    await projects.grant_reviewer(org.id, project_id, body.volunteer_id)
    return Reviewer(project_id=project_id, volunteer_id=body.volunteer_id)


@router.get(
    "",
    response_model=ReviewerList,
    summary="Volunteers with review rights on the project",
    responses=error_responses(401, 403, 404),
)
async def list_reviewers(
    project_id: OwnedProjectId, org: CurrentOrg, projects: ProjectsDep
) -> ReviewerList:
    return ReviewerList(items=await projects.reviewers(org.id, project_id))


@router.delete(
    "/{volunteer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Withdraw a volunteer's review rights on the project",
    description="The review leases they hold on the project end at once: their items go back "
    "to the queue for another reviewer, and a decision on them is refused (409 "
    "`review_not_live`, state `revoked`). Withdrawing twice is harmless.",
    responses=error_responses(401, 403, 404),
)
async def revoke(
    project_id: OwnedProjectId,
    volunteer_id: Annotated[str, Path(max_length=64)],
    org: CurrentOrg,
    projects: ProjectsDep,
) -> Response:
    await projects.revoke_reviewer(org.id, project_id, volunteer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
