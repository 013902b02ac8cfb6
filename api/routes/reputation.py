"""Why a volunteer does (or no longer does) receive a project's tasks: their reputation on its
task type, as the NGO may see it.

Only for volunteers who worked on the project (claimed one of its tasks): an organisation sees
nothing about volunteers of other organisations' projects. Anyone else is refused with the same
404 as an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import BoardDep, CurrentOrg, OwnedProjectId, ProjectsDep, RedisDep
from api.openapi.error_responses import error_responses
from core import ids
from core.errors import OrgVolunteerNotFound
from core.quality.reputation import reputation_summary_async

__all__ = ["router"]

router = APIRouter(prefix="/v1/projects/{project_id}/volunteers", tags=["projects"])


class Standing(BaseModel):
    accuracy: float = Field(description="Estimated share of right answers (0..1).")
    evidence: float = Field(
        description="How many answers' worth of evidence is behind it, older evidence counting "
        "less (it fades with a half-life, 90 days by default)."
    )
    observations: dict[str, float] = Field(
        description="What was observed, by source (gold, review, agreement), in answers: "
        "it does not fade. A floor applies once 8 answers' worth is in (agreement counts half)."
    )
    floor: float | None = Field(description="The project's `reputation_floor`, if any.")
    below_floor: bool = Field(description="True: the volunteer no longer gets these tasks.")
    prior_only: bool = Field(description="True: nothing observed yet (a newcomer, neutral).")


class VolunteerReputation(BaseModel):
    volunteer_id: str
    task_type: str
    standing: Standing


@router.get(
    "/{volunteer_id}/reputation",
    response_model=VolunteerReputation,
    summary="A volunteer's reputation on the project's task type",
    description="Why a volunteer is or is not served the project's tasks: their estimated "
    "accuracy, the evidence behind it and the project's floor. 404 `volunteer_not_found` for "
    "a volunteer who never worked on the project.",
    responses=error_responses(401, 403, 404),
)
async def volunteer_reputation(
    project_id: OwnedProjectId,
    volunteer_id: Annotated[str, Path(max_length=64)],
    org: CurrentOrg,
    projects: ProjectsDep,
    board: BoardDep,
    client: RedisDep,
) -> VolunteerReputation:
    document = await projects.document(org.id, project_id)
    worked_here = ids.VOLUNTEER_ID.match(volunteer_id) and await client.exists(
        board.keys.project(project_id).touched(volunteer_id)
    )
    if not worked_here:
        raise OrgVolunteerNotFound("no such volunteer on this project")
    task_type = str(document["task_type"])
    floor = document.get("reputation_floor")
    summary: dict[str, Any] = await reputation_summary_async(
        board, volunteer_id, {task_type: floor}, [task_type]
    )
    return VolunteerReputation(
        volunteer_id=volunteer_id,
        task_type=task_type,
        standing=Standing.model_validate(summary[task_type]),
    )
