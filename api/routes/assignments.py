"""Assignments: a volunteer claims a task that fits them, works on it, and submits or releases it.

The task's payload is shown to the volunteer holding its assignment, and to nobody else on the
volunteer side (DESIGN.md invariant 6). Someone else's assignment, an unknown one and a malformed
id all get the same 404 body.

Claim and submit are the volunteers' hot path: they check the token, read the body
(:mod:`api.json_body`) and encode the answer themselves instead of going through dependencies,
a body parameter and response validation, which took a measured tenth of their CPU. They
refuse what the other routes refuse, in the same words; their bodies are documented inline, and
their token (``checks_own_token``) where the document is rendered.

Rate limits (``core.ratelimit``): a claim counts against the volunteer's token and ``claims``
limits (both hits in one round trip before the work), a submit against the token's (one), a
release against the token's, then ``releases`` (two, before the work).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import structlog
from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, TypeAdapter

from api.deps import ClaimsDep, CurrentVolunteer, authenticated, checks_own_token
from api.errors import ErrorResponse
from api.json_body import BoundedJsonRoute, read_json, read_optional_json, request_body
from api.openapi.error_responses import RATE_LIMIT_HEADERS, error_responses
from api.ratelimit import limits_of
from core.accounts.charter import Charters, require_current_charter
from core.accounts.store import Accounts, VolunteerProfile
from core.board.claims import Assignment, Claims
from core.board.runner import REDIS_FAILURES
from core.clock import utc_from_ms
from core.errors import CharterNotAccepted, ProfileChanged
from core.projects.facts import ProjectContext, project_context
from core.review.reviewers import ReviewItem
from core.settings import Settings
from core.text import PARAGRAPHS

__all__ = ["router"]

router = APIRouter(tags=["assignments"], route_class=BoundedJsonRoute)

TaskTypeName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "`too_many_assignments`: you hold as many live assignments as allowed "
        "(`Retry-After`: seconds until the soonest of your leases ends by itself; submitting or "
        "releasing one frees a slot at once); `rate_limited`: too many claims or requests "
        "(with `RateLimit-Policy` and `RateLimit`)",
        "headers": RATE_LIMIT_HEADERS,
    }
}
NOTHING_FITS: dict[int | str, dict[str, Any]] = {
    204: {"description": "Nothing fits you right now; try again later"}
}


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_types: list[TaskTypeName] | None = Field(
        default=None, max_length=20, description="Only these task types (default: any)."
    )
    project_id: str | None = Field(
        default=None, max_length=64, description="Only this project (404 if it is not for you)."
    )


class TaskOut(BaseModel):
    id: str
    project_id: str
    type: str
    payload: dict[str, Any]
    instructions: str
    project_name: str | None = Field(default=None, description="The project the task is for.")
    organisation: str | None = Field(default=None, description="The NGO that runs it.")
    impact_note: str | None = Field(
        default=None, description="What the project's work achieves, in the NGO's words."
    )

    @classmethod
    def of(cls, leased: Assignment | ReviewItem, context: ProjectContext | None = None) -> TaskOut:
        """The task as its holder sees it: an assignment's or a review item's, with what the
        volunteer is told of its project (``core.projects.facts``) when given."""
        return cls(
            id=leased.task_id,
            project_id=leased.project_id,
            type=leased.task_type,
            payload=leased.payload,
            instructions=leased.instructions,
            project_name=context.project_name if context else None,
            organisation=context.organisation if context else None,
            impact_note=context.impact_note if context else None,
        )


class AssignmentOut(BaseModel):
    id: str
    task: TaskOut
    expires_at: datetime

    @classmethod
    def of(cls, assignment: Assignment, context: ProjectContext | None = None) -> AssignmentOut:
        return cls(
            id=assignment.id,
            task=TaskOut.of(assignment, context),
            expires_at=utc_from_ms(assignment.expires_at_ms),
        )


async def _context(request: Request, project_id: str) -> ProjectContext | None:
    state = request.app.state
    return await project_context(state.accounts, cast(Claims, state.claims).catalogue, project_id)


class LiveAssignmentOut(BaseModel):
    id: str
    project_id: str
    task_id: str
    expires_at: datetime


class LiveAssignments(BaseModel):
    items: list[LiveAssignmentOut]


class HeartbeatOut(BaseModel):
    expires_at: datetime
    capped: bool = Field(description="The lease reached its total cap; it cannot grow further.")


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: dict[str, Any] = Field(description="The task type's answer (GET /v1/task-types).")
    seconds_spent: Annotated[float, Strict()] | None = Field(default=None, ge=0, le=86_400)


class SubmissionAccepted(BaseModel):
    submission_id: str


_SUBMISSION: TypeAdapter[Submission] = TypeAdapter(Submission)


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), PARAGRAPHS
    ] = Field(
        description="Why you give the task back: a code such as `too_hard`, `not_my_language`, "
        "`no_time`, `unclear`, `inappropriate`, or a few words of your own."
    )


log = structlog.get_logger(__name__)

_CLAIM_BODY: TypeAdapter[ClaimRequest | None] = TypeAdapter(ClaimRequest | None)
_JSON = "application/json"


@checks_own_token("vol")
async def claim(request: Request) -> Response:
    me = await authenticated(request, "vol", also="claims")
    body = await read_optional_json(request, _CLAIM_BODY) or ClaimRequest()
    state = request.app.state
    accounts, charters = cast(Accounts, state.accounts), cast(Charters, state.charters)
    settings, claims = cast(Settings, state.settings), cast(Claims, state.claims)

    async def claim_as(profile: VolunteerProfile, remembered: bool) -> Assignment | None:
        await require_current_charter(charters, profile.extra, profile.charter_accepted_at_ms)
        return await claims.claim(
            profile,
            task_types=body.task_types,
            project_id=body.project_id,
            cap=settings.live_assignment_cap(profile.accepted_answers),
            profile_rev=profile.rev if remembered else None,
        )

    # The profile as this process remembers it: a claim made on it checks its stamp in the
    # reservation (core.accounts.store). A change the person made on another process since (a
    # new language, a charter accepted again) is decided anew on the profile as it is now; so
    # is a claim that found nothing, which never reached the reservation (one read more).
    remembered = await accounts.remembered_volunteer(me.id)
    try:
        assignment = await claim_as(remembered, True)
    except (ProfileChanged, CharterNotAccepted):
        assignment = await claim_as(await accounts.volunteer(me.id), False)
    else:
        if assignment is None:
            profile = await accounts.volunteer(me.id)
            if profile.rev != remembered.rev:
                assignment = await claim_as(profile, False)
    if assignment is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    try:
        context = await _context(request, assignment.project_id)
    except REDIS_FAILURES as failed:
        # The lease is taken: a 503 now would leave it held by someone never told of it, until
        # it runs out. The task is answered without the project's names and impact note.
        log.warning("claim.context_not_read", error_type=type(failed).__name__)
        context = None
    encoded = AssignmentOut.of(assignment, context).model_dump_json()
    return Response(encoded, status_code=status.HTTP_201_CREATED, media_type=_JSON)


@router.get(
    "/v1/me/assignments",
    response_model=LiveAssignments,
    summary="Your live assignments",
    responses=error_responses(401, 403),
)
async def live_assignments(me: CurrentVolunteer, claims: ClaimsDep) -> LiveAssignments:
    return LiveAssignments(
        items=[
            LiveAssignmentOut(
                id=live.id,
                project_id=live.project_id,
                task_id=live.task_id,
                expires_at=utc_from_ms(live.expires_at_ms),
            )
            for live in await claims.live(me.id)
        ]
    )


@router.get(
    "/v1/assignments/{assignment_id}",
    response_model=AssignmentOut,
    summary="One of your live assignments, with its task",
    responses=error_responses(401, 403, 404, 409),
)
async def read_assignment(
    request: Request, assignment_id: str, me: CurrentVolunteer, claims: ClaimsDep
) -> AssignmentOut:
    assignment = await claims.get(me.id, assignment_id)
    return AssignmentOut.of(assignment, await _context(request, assignment.project_id))


@router.post(
    "/v1/assignments/{assignment_id}/heartbeat",
    response_model=HeartbeatOut,
    summary="Extend your lease",
    responses=error_responses(401, 403, 404, 409),
)
async def heartbeat(assignment_id: str, me: CurrentVolunteer, claims: ClaimsDep) -> HeartbeatOut:
    beat = await claims.heartbeat(me.id, assignment_id)
    return HeartbeatOut(expires_at=utc_from_ms(beat.expires_at_ms), capped=beat.capped)


@checks_own_token("vol")
async def submit(assignment_id: str, request: Request) -> Response:
    me = await authenticated(request, "vol")
    body = await read_json(request, _SUBMISSION)
    submitted = await cast(Claims, request.app.state.claims).submit(
        me.id, assignment_id, body.answer, body.seconds_spent
    )
    encoded = SubmissionAccepted(submission_id=submitted.submission_id).model_dump_json()
    return Response(encoded, status_code=status.HTTP_202_ACCEPTED, media_type=_JSON)


@router.post(
    "/v1/assignments/{assignment_id}/release",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Give the task back (skip it), with a reason",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def release(
    request: Request, assignment_id: str, body: Release, me: CurrentVolunteer, claims: ClaimsDep
) -> Response:
    await limits_of(request).enforce("releases", me.id)
    await claims.release(me.id, assignment_id, body.reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def add_hot_routes(app_router: APIRouter) -> None:
    """Claim and submit, as the first routes of ``app_router``: the app's own (``api.main``),
    before it serves. A route reached through an included router costs each request a walk over
    that router's routes (FastAPI's lazy inclusion), a tenth of a claim->submit cycle's CPU as
    measured."""
    app_router.post(
        "/v1/assignments",
        tags=router.tags,
        status_code=status.HTTP_201_CREATED,
        response_model=AssignmentOut,
        summary="Claim a task that fits you",
        description="403 `charter_not_accepted` before the charter; 404 for a `project_id` that is "
        "not for you; 429 `too_many_assignments` past the live-assignment cap.",
        responses={**NOTHING_FITS, **error_responses(401, 403, 404, 422), **TOO_MANY},
        openapi_extra=request_body(ClaimRequest, required=False),
    )(claim)
    app_router.post(
        "/v1/assignments/{assignment_id}/submit",
        tags=router.tags,
        status_code=status.HTTP_202_ACCEPTED,
        response_model=SubmissionAccepted,
        summary="Submit your answer",
        description="409 `lease_not_live` once the lease expired or was released or submitted; 422 "
        "`invalid_answer` when the task type refuses the answer (details never echo it).",
        responses=error_responses(401, 403, 404, 409, 422),
        openapi_extra=request_body(Submission, required=True),
    )(submit)
    # Ahead of FastAPI's own /openapi.json and /docs routes too (measured: a twelfth of a cycle
    # less). Before the app serves its first request, FastAPI has cached no view of this list.
    hot = app_router.routes[-2:]
    del app_router.routes[-2:]
    app_router.routes[:0] = hot
