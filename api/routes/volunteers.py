"""Volunteers: sign-up, the confidentiality charter, their profile, stats and weekly goal."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.deps import AccountsDep, CurrentVolunteer, KeysDep, RedisDep, ReviewsDep, SettingsDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from api.ratelimit import address_of, limits_of
from core.accounts.invitations import Invitations
from core.accounts.store import VolunteerProfile
from core.clock import utc_from_ms
from core.errors import SignupClosed
from core.quality.reputation import reputation_summary_async
from core.volunteers.profile import DisplayName, Languages, NewVolunteer, Skills, unique
from core.volunteers.stats import read_feedback, read_stats
from task_types import all_types

__all__ = ["router"]

router = APIRouter(tags=["volunteers"], route_class=BoundedJsonRoute)

MAX_WEEKLY_MINUTES = 7 * 24 * 60


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


def _strict_bool(value: object) -> object:
    # Literal[True] alone takes 1 (1 == True) and Strict() does not apply to literals.
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be a valid boolean")
    return value


class CharterAcceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: Annotated[Literal[True], BeforeValidator(_strict_bool)] = Field(
        description="Must be true: no task is served before it."
    )


class CharterAccepted(BaseModel):
    accepted_at: datetime


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
        description="Latest feedback on your answers and impact notes from the projects."
    )
    accuracy: dict[str, Accuracy] = Field(
        default_factory=dict,
        description="Per task type, how often your answers are estimated to be right (from "
        "gold tasks, reviews and agreement with accepted results).",
    )


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


async def _me(
    profile: VolunteerProfile, client: RedisDep, keys: KeysDep, reviews: ReviewsDep
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
        feedback=await read_feedback(client, keys, profile.id),
        accuracy=await _accuracy(reviews, profile.id),
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


@router.post(
    "/v1/me/charter",
    response_model=CharterAccepted,
    summary="Accept the confidentiality charter",
    description="Needed before any claim. Accepting again keeps the first acceptance time.",
    responses=error_responses(401, 403, 422),
)
async def accept_charter(
    body: CharterAcceptance, me: CurrentVolunteer, accounts: AccountsDep
) -> CharterAccepted:
    await accounts.volunteer(me.id)  # a deleted volunteer's token must not recreate a profile
    return CharterAccepted(accepted_at=utc_from_ms(await accounts.accept_charter(me.id)))


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
) -> Me:
    return await _me(await accounts.volunteer(me.id), client, keys, reviews)


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
) -> Me:
    profile = await accounts.update_volunteer(
        me.id, display_name=body.display_name, languages=body.languages, skills=body.skills
    )
    return await _me(profile, client, keys, reviews)


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
