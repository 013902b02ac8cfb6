"""Volunteers: sign-up, the confidentiality charter, their profile, stats and weekly goal."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
)

from api.deps import (
    AccountsDep,
    ClaimsDep,
    CurrentVolunteer,
    KeysDep,
    RedisDep,
    ReviewsDep,
    SettingsDep,
)
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from api.ratelimit import address_of, limits_of
from core.accounts.invitations import Invitations
from core.accounts.store import Accounts, VolunteerProfile
from core.board.claims import Claims
from core.clock import utc_from_ms
from core.errors import SignupClosed
from core.projects.facts import ProjectContext, open_projects, organisation_name, project_context
from core.quality.reputation import reputation_summary_async
from core.volunteers.inbox import read_inbox
from core.volunteers.profile import DisplayName, Languages, NewVolunteer, Skills, unique
from core.volunteers.stats import read_feedback, read_stats, worked_on
from task_types import all_types

__all__ = ["router"]

router = APIRouter(tags=["volunteers"], route_class=BoundedJsonRoute)

MAX_WEEKLY_MINUTES = 7 * 24 * 60
WORKED_ON_SHOWN = 10


class SignUp(NewVolunteer):
    """A new volunteer (the schema keeps the name the API has always documented)."""

    invite: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None,
        description="An invitation code (`POST /v1/invitations`): needed, and used once, when "
        "sign-up is by invitation; ignored when it is open.",
    )


class SignedUp(BaseModel):
    id: str
    token: str = Field(description="Your volunteer token (`rk_vol_…`), shown once: keep it.")


class ProfilePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    languages: Languages | None = None
    skills: Skills | None = None

    @field_validator("languages", "skills")
    @classmethod
    def _dedupe(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else unique(values)


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekly_minutes: Annotated[int, Strict()] = Field(ge=1, le=MAX_WEEKLY_MINUTES)


class Contribution(BaseModel):
    amount: int
    unit: str = Field(description='What is counted, e.g. "words translated".')


class Stats(BaseModel):
    tasks: int = Field(description="Answers submitted.")
    minutes: int = Field(description="Minutes spent on them.")
    accepted_rate: float | None = Field(
        description="Share of your answers with a result that agreed with it (null: none yet)."
    )
    week_minutes: int = Field(description="Minutes this week (ISO week, UTC).")
    contribution: dict[str, Contribution] = Field(description="Per task type.")


class Me(BaseModel):
    id: str
    display_name: str
    languages: list[str]
    skills: list[str]
    charter_accepted_at: datetime | None
    weekly_goal_minutes: int | None
    stats: Stats
    reviewer_of: list[str] = Field(description="Projects you may review.")
    feedback: list[dict[str, Any]] = Field(
        description="Latest feedback on your answers, newest first: the verdict (`outcome`, "
        "the reviewer's `action` and `comment`, or a gold task's `score`), `at` (ISO 8601), the "
        "project and its NGO, the `task` as you saw it, `your_answer` and the `final_answer` "
        "kept (null once the project's data is gone)."
    )
    worked_on: list[ProjectOut] = Field(
        default_factory=list,
        description="The projects you last worked on, newest first, with their NGO and impact "
        "note.",
    )
    accuracy: dict[str, Accuracy] = Field(
        default_factory=dict,
        description="Per task type, how often your answers are estimated to be right (from "
        "gold tasks, reviews and agreement with accepted results).",
    )


class ProjectOut(BaseModel):
    """A project as a volunteer is told of it (``core.projects.facts``)."""

    id: str
    name: str
    organisation: str = Field(description="The NGO that runs it.")
    task_type: str
    instructions: str
    impact_note: str | None = Field(description="What the work achieves, in the NGO's words.")
    languages: list[str]
    skills: list[str]

    @classmethod
    def of(cls, context: ProjectContext) -> ProjectOut:
        return cls(
            id=context.project_id,
            name=context.project_name,
            organisation=context.organisation,
            task_type=context.task_type,
            instructions=context.instructions,
            impact_note=context.impact_note,
            languages=context.languages,
            skills=context.skills,
        )


class OpenProjectOut(ProjectOut):
    tasks_left: int = Field(description="Tasks ready to be claimed right now.")


class OpenProjects(BaseModel):
    items: list[OpenProjectOut]


class Accuracy(BaseModel):
    accuracy: float = Field(description="Estimated share of right answers (0..1).")
    evidence: float = Field(
        description="How many answers' worth of evidence is behind it, older evidence counting "
        "less: your estimate follows what you do now."
    )
    prior_only: bool = Field(description="True: nothing observed yet; everyone starts here.")


async def _accuracy(reviews: ReviewsDep, volunteer_id: str) -> dict[str, Accuracy]:
    summary = await reputation_summary_async(reviews.board, volunteer_id)
    return {kind: Accuracy.model_validate(standing) for kind, standing in summary.items()}


def _iso(ms: int) -> str | None:
    return utc_from_ms(ms).isoformat().replace("+00:00", "Z") if ms else None


async def _feedback(
    client: RedisDep, keys: KeysDep, accounts: Accounts, volunteer_id: str
) -> list[dict[str, Any]]:
    """The feedback items with what they refer to (``core.volunteers.inbox``, as "My work"
    shows them): the task as the volunteer saw it, their answer and the answer kept."""
    raw = await read_feedback(client, keys, volunteer_id)
    items = []
    for recorded, found in zip(raw, await read_inbox(client, keys, volunteer_id, raw), strict=True):
        items.append(
            {
                **recorded,
                "at": _iso(found.at_ms),
                "project_name": found.project_name,
                "organisation": await organisation_name(accounts, found.org_id or ""),
                "task": found.payload,
                "your_answer": found.my_answer,
                "final_answer": found.final_answer,
            }
        )
    return items


async def _worked_on(
    client: RedisDep, keys: KeysDep, accounts: Accounts, claims: Claims, volunteer_id: str
) -> list[ProjectOut]:
    found = []
    for project_id in await worked_on(client, keys, volunteer_id, WORKED_ON_SHOWN):
        context = await project_context(accounts, claims.catalogue, project_id)
        if context is not None:
            found.append(ProjectOut.of(context))
    return found


async def _me(
    profile: VolunteerProfile,
    client: RedisDep,
    keys: KeysDep,
    reviews: ReviewsDep,
    accounts: Accounts,
    claims: Claims,
) -> Me:
    stats = await read_stats(client, keys, profile.id, time.time_ns() // 1_000_000)
    return Me(
        id=profile.id,
        display_name=profile.display_name,
        languages=profile.languages,
        skills=profile.skills,
        charter_accepted_at=(
            utc_from_ms(profile.charter_accepted_at_ms) if profile.charter_accepted_at_ms else None
        ),
        weekly_goal_minutes=profile.weekly_goal_minutes,
        stats=Stats(
            tasks=stats.tasks,
            minutes=stats.minutes,
            accepted_rate=stats.accepted_rate,
            week_minutes=stats.week_minutes,
            contribution={
                kind.name: Contribution(
                    amount=stats.contribution.get(kind.name, 0), unit=kind.contribution_unit
                )
                for kind in all_types()
            },
        ),
        reviewer_of=await reviews.reviewer_project_ids(profile.id),
        feedback=await _feedback(client, keys, accounts, profile.id),
        accuracy=await _accuracy(reviews, profile.id),
        worked_on=await _worked_on(client, keys, accounts, claims, profile.id),
    )


@router.post(
    "/v1/volunteers",
    status_code=status.HTTP_201_CREATED,
    response_model=SignedUp,
    summary="Sign up as a volunteer",
    description="Open to anyone unless the operator set `RUCHE_SIGNUP=invitation`: then an "
    "`invite` code is needed (without one: 403 `signup_closed`; an unknown, revoked, used-up or "
    "expired one: 403 `invitation_refused`, with the reason in `details`). The token is shown "
    "once. Limited per client address (`RUCHE_RATE_LIMIT_SIGNUP`: 429 `rate_limited` past it, "
    "invitation or not).",
    responses=error_responses(403, 422, 429),
)
async def sign_up(
    request: Request,
    body: SignUp,
    accounts: AccountsDep,
    settings: SettingsDep,
    client: RedisDep,
    keys: KeysDep,
) -> SignedUp:
    await limits_of(request).enforce("signup", address_of(request))
    invitation = None
    if settings.signup != "open":
        if body.invite is None:
            raise SignupClosed("volunteer sign-up is by invitation only on this instance")
        invitation = await Invitations(client, keys).redeem(body.invite)
    volunteer_id, token = await accounts.create_volunteer(
        body.display_name, body.languages, body.skills
    )
    if invitation is not None:  # an organisation's code also opens its invitation-only projects
        await Invitations(client, keys).admit(volunteer_id, invitation)
    return SignedUp(id=volunteer_id, token=token)


@router.get(
    "/v1/me",
    response_model=Me,
    summary="Your profile, stats, weekly goal and review rights",
    responses=error_responses(401, 403),
)
async def read_me(
    me: CurrentVolunteer,
    accounts: AccountsDep,
    client: RedisDep,
    keys: KeysDep,
    reviews: ReviewsDep,
    claims: ClaimsDep,
) -> Me:
    profile = await accounts.volunteer(me.id)
    return await _me(profile, client, keys, reviews, accounts, claims)


@router.patch(
    "/v1/me",
    response_model=Me,
    summary="Edit your display name, languages or skills",
    responses=error_responses(401, 403, 422),
)
async def edit_me(
    body: ProfilePatch,
    me: CurrentVolunteer,
    accounts: AccountsDep,
    client: RedisDep,
    keys: KeysDep,
    reviews: ReviewsDep,
    claims: ClaimsDep,
) -> Me:
    profile = await accounts.update_volunteer(
        me.id, display_name=body.display_name, languages=body.languages, skills=body.skills
    )
    return await _me(profile, client, keys, reviews, accounts, claims)


@router.get(
    "/v1/me/projects",
    response_model=OpenProjects,
    summary="The projects that fit you now (languages, skills), best first",
    description="Each with its NGO, instructions, impact note and how many tasks are ready; "
    "`POST /v1/assignments` with its `project_id` claims one of them.",
    responses=error_responses(401, 403),
)
async def open_projects_for_me(
    me: CurrentVolunteer,
    accounts: AccountsDep,
    client: RedisDep,
    keys: KeysDep,
    claims: ClaimsDep,
) -> OpenProjects:
    profile = await accounts.volunteer(me.id)
    cards = await claims.matcher.candidates(profile)
    found = await open_projects(accounts, claims.catalogue, client, keys, [c.id for c in cards])
    return OpenProjects(
        items=[
            OpenProjectOut(**ProjectOut.of(item.context).model_dump(), tasks_left=item.tasks_left)
            for item in found
        ]
    )


@router.put(
    "/v1/me/goal",
    response_model=Goal,
    summary="Set your weekly goal, in minutes (1 to 10080)",
    responses=error_responses(401, 403, 422),
)
async def set_goal(body: Goal, me: CurrentVolunteer, accounts: AccountsDep) -> Goal:
    await accounts.volunteer(me.id)
    await accounts.set_goal(me.id, body.weekly_minutes)
    return body
