"""Organisations: created by an operator; each then manages its own profile view and API keys.

An organisation holds at most two live keys, so it can rotate without downtime: create the new
key, move its systems over, revoke the old one (which stops working at once). Keys are shown
once, when created; listings never show a key or its hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import AccountsDep, CurrentAdmin, CurrentOrg
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.accounts.store import MAX_LIVE_ORG_KEYS
from core.errors import ApiKeyNotFound, LastApiKey, NotFound, TooManyApiKeys
from core.text import ONE_LINE
from web.ngo.first_owner import invite_first_owner

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["organisations"], route_class=BoundedJsonRoute)

# No control or bidi-override character either (core.text), wherever it is.
_NOT_EMAIL = "@\\s" + ONE_LINE.forbidden
EMAIL_PATTERN = f"^[^{_NOT_EMAIL}]+@[^{_NOT_EMAIL}]+\\.[^{_NOT_EMAIL}]+$"


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE
    ]
    contact_email: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)
    ]


class OrgCreated(BaseModel):
    id: str
    name: str
    api_key: str = Field(description="The organisation's first API key, shown only this once.")


class OrgProfile(BaseModel):
    id: str
    name: str
    contact_email: str
    created_at: datetime


class KeyCreated(BaseModel):
    key_id: str
    api_key: str = Field(description="The new API key, shown only this once.")


class KeyInfo(BaseModel):
    key_id: str
    created_at: datetime
    revoked_at: datetime | None


def _datetime(ms: object) -> datetime:
    return datetime.fromtimestamp(int(str(ms)) / 1000, tz=UTC)


@router.post(
    "/orgs",
    status_code=status.HTTP_201_CREATED,
    response_model=OrgCreated,
    summary="Create an organisation (operator)",
    description="The organisation's `contact_email` is mailed an invitation to its staff as "
    "first owner: the link (good for a week, once) signs them in to the NGO console "
    "(`/ngo`), where they run its projects and invite the rest of its staff. The API key "
    "stays for programs.",
    responses=error_responses(401, 403, 422),
)
async def create_org(
    body: OrgCreate, admin: CurrentAdmin, accounts: AccountsDep, request: Request
) -> OrgCreated:
    org_id, api_key = await accounts.create_org(body.name, body.contact_email)
    await invite_first_owner(request.app, org_id, body.name, body.contact_email, request)
    return OrgCreated(id=org_id, name=body.name, api_key=api_key)


@router.get(
    "/org",
    response_model=OrgProfile,
    summary="The calling organisation's profile",
    responses=error_responses(401, 403),
)
async def own_profile(org: CurrentOrg, accounts: AccountsDep) -> OrgProfile:
    record = await accounts.org(org.id)
    return OrgProfile(
        id=org.id,
        name=record["name"],
        contact_email=record["contact_email"],
        created_at=_datetime(record["created"]),
    )


async def _live_keys(accounts: AccountsDep, org_id: str) -> list[str]:
    keys = await accounts.org_keys(org_id)
    return [key_id for key_id, record in keys.items() if not record.get("revoked")]


@router.post(
    "/org/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    summary="Create a new API key (at most two live at a time)",
    responses=error_responses(401, 403, 409),
)
async def create_key(org: CurrentOrg, accounts: AccountsDep) -> KeyCreated:
    if len(await _live_keys(accounts, org.id)) >= MAX_LIVE_ORG_KEYS:
        raise TooManyApiKeys(
            f"an organisation holds at most {MAX_LIVE_ORG_KEYS} live keys; revoke one first"
        )
    key_id, api_key = await accounts.add_org_key(org.id)
    return KeyCreated(key_id=key_id, api_key=api_key)


@router.get(
    "/org/keys",
    response_model=list[KeyInfo],
    summary="The organisation's keys, live and revoked (never the keys themselves)",
    responses=error_responses(401, 403),
)
async def list_keys(org: CurrentOrg, accounts: AccountsDep) -> list[KeyInfo]:
    keys = await accounts.org_keys(org.id)
    listed = [
        KeyInfo(
            key_id=key_id,
            created_at=_datetime(record["created"]),
            revoked_at=_datetime(record["revoked"]) if record.get("revoked") else None,
        )
        for key_id, record in keys.items()
    ]
    return sorted(listed, key=lambda k: (k.created_at, k.key_id))


@router.delete(
    "/org/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API key (it stops working at once)",
    responses=error_responses(401, 403, 404, 409),
)
async def revoke_key(
    key_id: Annotated[str, Path(max_length=64)], org: CurrentOrg, accounts: AccountsDep
) -> Response:
    live = await _live_keys(accounts, org.id)
    if key_id not in live:
        raise ApiKeyNotFound("no such live key")
    if len(live) == 1:
        raise LastApiKey("this is the organisation's only live key; create a new one first")
    try:
        await accounts.revoke_org_key(org.id, key_id)
    except NotFound:
        raise ApiKeyNotFound("no such live key") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
