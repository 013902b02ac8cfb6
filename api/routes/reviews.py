"""Reviews: volunteers with review rights settle disagreements and spot checks.

A reviewer never gets a task they answered (DESIGN.md invariant 2), sees the candidate answers
without who gave them, and decides under a lease. Someone else's review, an unknown one and a
malformed id all get the same 404 body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Body, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.deps import AccountsDep, ClaimsDep, CurrentProfile, CurrentVolunteer, ReviewsDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from api.routes.assignments import NOTHING_FITS, TaskOut
from core.board.models import ReviewAction
from core.clock import utc_from_ms
from core.projects.facts import ProjectContext, project_context
from core.review.reviewers import ReviewItem
from core.text import PARAGRAPHS

__all__ = ["router"]

router = APIRouter(prefix="/v1/reviews", tags=["reviews"], route_class=BoundedJsonRoute)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str | None = Field(
        default=None, max_length=64, description="Only this project (404 if you do not review it)."
    )


class Candidate(BaseModel):
    submission_id: str
    answer: dict[str, Any]


class ReviewOut(BaseModel):
    id: str
    task: TaskOut
    candidates: list[Candidate]
    reason: str = Field(description="Why the task is in review: disagreement, spot_check, stalled.")
    expires_at: datetime

    @classmethod
    def of(cls, item: ReviewItem, context: ProjectContext | None = None) -> ReviewOut:
        return cls(
            id=item.id,
            task=TaskOut.of(item, context),
            candidates=[Candidate.model_validate(c) for c in item.candidates],
            reason=item.reason,
            expires_at=utc_from_ms(item.expires_at_ms),
        )


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ReviewAction = Field(
        description="`accept` a candidate (with `submission_id`), `correct` it (with your own "
        "`answer`), `reopen` the task for one more answer, or `reject` it."
    )
    submission_id: str | None = Field(default=None, max_length=64)
    answer: dict[str, Any] | None = None
    comment: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), PARAGRAPHS] | None
    ) = None

    @model_validator(mode="after")
    def _fields_fit_the_action(self) -> Self:
        if (self.submission_id is not None) != (self.action == "accept"):
            raise ValueError("submission_id is required with accept, and only with accept")
        if (self.answer is not None) != (self.action == "correct"):
            raise ValueError("answer is required with correct, and only with correct")
        return self


class DecisionOut(BaseModel):
    task_id: str
    state: str = Field(description="resolved, rejected, or collecting after a reopen.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewOut,
    summary="Claim a review item",
    description="A new item when one waits for you; otherwise the item you already hold under "
    "a live lease, as it was (a claim made again after its reply was lost gets its item back); "
    "204 when neither. 403 `not_a_reviewer` without review rights on any project; 404 for a "
    "`project_id` you do not review.",
    responses={**NOTHING_FITS, **error_responses(401, 403, 404, 422)},
)
async def claim_review(
    profile: CurrentProfile,
    reviews: ReviewsDep,
    accounts: AccountsDep,
    claims: ClaimsDep,
    body: Annotated[ReviewRequest | None, Body()] = None,
) -> ReviewOut | Response:
    request = body or ReviewRequest()
    item = await reviews.claim(profile, project_id=request.project_id)
    if item is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ReviewOut.of(item, await project_context(accounts, claims.catalogue, item.project_id))


@router.post(
    "/{review_id}/decision",
    response_model=DecisionOut,
    summary="Decide the review item you hold",
    description="409 `review_not_live` once the review lease expired or was decided; 422 for "
    "an unknown `submission_id` or a correction the task type refuses.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def decide(
    review_id: str, body: DecisionRequest, me: CurrentVolunteer, reviews: ReviewsDep
) -> DecisionOut:
    decided = await reviews.decide(
        me.id,
        review_id,
        body.action,
        submission_id=body.submission_id,
        answer=body.answer,
        comment=body.comment,
    )
    return DecisionOut(task_id=decided.task_id, state=decided.state)
