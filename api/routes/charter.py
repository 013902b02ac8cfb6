"""The confidentiality charter: read it, accept it, and (operator, organisation) write it.

Its text and version come from ``core.accounts.charter``: an organisation's own charter when
asked for it (``?org_id=``) and it wrote one, else the operator's. Accepting records the version
accepted; a new version of the operator's asks for acceptance again before the next claim.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from api.deps import AccountsDep, CurrentAdmin, CurrentOrg, CurrentVolunteer
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.accounts.charter import MAX_CHARTER_CHARS, Charter, Charters, accepted_version
from core.clock import utc_from_ms
from core.text import PARAGRAPHS

__all__ = ["router"]

router = APIRouter(tags=["volunteers"], route_class=BoundedJsonRoute)

OrgId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def charters(request: Request) -> Charters:
    return cast(Charters, request.app.state.charters)


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
    org_id: OrgId | None = Field(
        default=None,
        description="Accept this organisation's own charter (default: the operator's).",
    )


class CharterAccepted(BaseModel):
    accepted_at: datetime = Field(
        description="When you first accepted the operator's charter (an organisation's: now)."
    )
    version: int = Field(description="The version you accepted.")


class CharterText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CHARTER_CHARS),
        PARAGRAPHS,
    ]


class CharterOut(BaseModel):
    text: str
    version: int = Field(description="Raised by every change of the text.")
    owner: str = Field(description='"operator", or the organisation whose own charter it is.')
    organisation: str | None = Field(default=None, description="That organisation's name.")


class MyCharter(CharterOut):
    accepted_version: int = Field(description="The version you accepted (0: none).")
    needs_acceptance: bool = Field(description="True: accept this version (POST /v1/me/charter).")


def _out(charter: Charter) -> CharterOut:
    return CharterOut(
        text=charter.text,
        version=charter.version,
        owner=charter.owner,
        organisation=charter.organisation,
    )


async def _charter(request: Request, org_id: str | None) -> Charter:
    if org_id is None:
        return await charters(request).operator()
    return await charters(request).for_organisation(org_id)


@router.get(
    "/v1/me/charter",
    response_model=MyCharter,
    summary="Read the charter, its version, and the version you accepted",
    description="The operator's charter, or with `org_id` that organisation's own (the "
    "operator's when it wrote none; 404 for an unknown organisation).",
    responses=error_responses(401, 403, 404, 422),
)
async def read_charter(
    request: Request,
    me: CurrentVolunteer,
    accounts: AccountsDep,
    org_id: Annotated[OrgId | None, Query()] = None,
) -> MyCharter:
    profile = await accounts.volunteer(me.id)
    charter = await _charter(request, org_id)
    accepted = accepted_version(profile.extra, charter.owner, profile.charter_accepted_at_ms)
    return MyCharter(
        **_out(charter).model_dump(),
        accepted_version=accepted,
        needs_acceptance=accepted < charter.version,
    )


@router.post(
    "/v1/me/charter",
    response_model=CharterAccepted,
    summary="Accept the confidentiality charter (its current version)",
    description="Needed before any claim, and again after the operator changes the charter "
    "(403 `charter_not_accepted` meanwhile). With `org_id`, accepts that organisation's own "
    "charter. Accepting again keeps the first acceptance time.",
    responses=error_responses(401, 403, 404, 422),
)
async def accept_charter(
    request: Request, body: CharterAcceptance, me: CurrentVolunteer, accounts: AccountsDep
) -> CharterAccepted:
    await accounts.volunteer(me.id)  # a deleted volunteer's token must not recreate a profile
    charter = await _charter(request, body.org_id)
    if charter.owner == "operator":
        # Records the operator's current version (as the pages do), keeps the first time.
        accepted_at = await accounts.accept_charter(me.id)
        version = (await charters(request).operator()).version
        return CharterAccepted(accepted_at=utc_from_ms(accepted_at), version=version)
    await charters(request).accept(me.id, charter)
    accounts.forget_volunteer(me.id)
    return CharterAccepted(
        accepted_at=utc_from_ms(time.time_ns() // 1_000_000), version=charter.version
    )


@router.put(
    "/v1/charter",
    response_model=CharterOut,
    summary="Set the operator's charter (a new version: every volunteer accepts it again)",
    responses=error_responses(401, 403, 422),
)
async def set_operator_charter(
    request: Request, body: CharterText, admin: CurrentAdmin
) -> CharterOut:
    return _out(await charters(request).set_operator(body.text))


@router.put(
    "/v1/org/charter",
    response_model=CharterOut,
    summary="Set your organisation's own charter (a new version)",
    description="Served to volunteers who ask for it (`GET /v1/me/charter?org_id=`) instead of "
    "the operator's.",
    responses=error_responses(401, 403, 422),
)
async def set_org_charter(request: Request, body: CharterText, org: CurrentOrg) -> CharterOut:
    return _out(await charters(request).set_organisation(org.id, body.text))
