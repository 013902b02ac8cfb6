"""Volunteer invitations: the codes that open sign-up when the operator set
``RUCHE_SIGNUP=invitation`` (``core.accounts.invitations``).

The operator (admin token) and each organisation (its API key) make codes, list their own and
revoke them; an organisation never sees or revokes another's (another issuer's invitation is the
same 404 as an unknown id); the operator may revoke any. Revoking is idempotent. A code is shown
once, when made, with the join page's address that carries it; listings never show a code or
its hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, Strict

from api.deps import CurrentAdminOrOrg, KeysDep, ProjectsDep, RedisDep, SettingsDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.accounts.invitations import MAX_DAYS, MAX_USES, Invitation, Invitations
from core.accounts.store import Principal
from core.clock import utc_from_ms
from core.errors import InvalidRequest, InvitationNotFound, NotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["invitations"], route_class=BoundedJsonRoute)


class NewInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uses: Annotated[int, Strict()] = Field(
        default=1, ge=1, le=MAX_USES, description="How many people may join with the code."
    )
    expires_in_days: Annotated[int, Strict()] = Field(
        default=14, ge=1, le=MAX_DAYS, description="Days until the code stops working."
    )
    project_id: str | None = Field(
        default=None,
        max_length=64,
        description="One of the organisation's projects: the code admits to that project only "
        "(an organisation's code without it admits to all its invitation-only projects). "
        "Organisations only.",
    )


class InvitationInfo(BaseModel):
    id: str
    uses: int = Field(description="How many people may join with the code.")
    used: int = Field(description="How many did.")
    expires_at: datetime
    created_at: datetime
    project_id: str | None = Field(
        default=None, description="The project it admits to; null: the whole issuer."
    )


class InvitationCreated(InvitationInfo):
    code: str = Field(description="The code, shown only this once.")
    url: str = Field(description="The join page with the code: what to send to people.")


class InvitationList(BaseModel):
    items: list[InvitationInfo]


def _issuer(principal: Principal) -> str:
    return "admin" if principal.kind == "admin" else principal.id


def _info(invitation: Invitation) -> dict[str, object]:
    return {
        "id": invitation.id,
        "uses": invitation.uses,
        "used": min(invitation.used, invitation.uses),
        "expires_at": utc_from_ms(invitation.expires_ms),
        "created_at": utc_from_ms(invitation.created_ms),
        "project_id": invitation.project_id,
    }


def _invitations(client: RedisDep, keys: KeysDep) -> Invitations:
    return Invitations(client, keys)


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationCreated,
    summary="Make a volunteer invitation code (operator or organisation)",
    description="With `RUCHE_SIGNUP=invitation`, people join at `url` (`/join?invite=CODE`), or "
    "through `POST /v1/volunteers` with `invite`. The code is shown once.",
    responses=error_responses(401, 403, 404, 422),
)
async def create_invitation(
    body: NewInvitation,
    issuer: CurrentAdminOrOrg,
    client: RedisDep,
    keys: KeysDep,
    settings: SettingsDep,
    request: Request,
    projects: ProjectsDep,
) -> InvitationCreated:
    if body.project_id is not None:
        if issuer.kind == "admin":
            raise InvalidRequest(
                "the operator's codes open sign-up; a project's code is its organisation's",
                [
                    {
                        "loc": ["body", "project_id"],
                        "msg": "organisations only",
                        "type": "value_error",
                    }
                ],
            )
        await projects.require_owned(issuer.id, body.project_id)  # another's: 404, as unknown
    invitation, code = await _invitations(client, keys).create(
        _issuer(issuer), body.uses, body.expires_in_days, project_id=body.project_id
    )
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return InvitationCreated.model_validate(
        {**_info(invitation), "code": code, "url": f"{base}/join?invite={code}"}
    )


@router.get(
    "/invitations",
    response_model=InvitationList,
    summary="Your invitation codes (without the codes), newest first",
    responses=error_responses(401, 403),
)
async def list_invitations(
    issuer: CurrentAdminOrOrg, client: RedisDep, keys: KeysDep
) -> InvitationList:
    found = await _invitations(client, keys).list(_issuer(issuer))
    return InvitationList(items=[InvitationInfo.model_validate(_info(i)) for i in found])


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an invitation code: it stops working at once",
    description="Its issuer, or the operator (any invitation). Revoking again answers 204.",
    responses=error_responses(401, 403, 404),
)
async def revoke_invitation(
    issuer: CurrentAdminOrOrg,
    client: RedisDep,
    keys: KeysDep,
    invitation_id: Annotated[str, Path(max_length=64)],
) -> Response:
    try:
        await _invitations(client, keys).revoke(_issuer(issuer), invitation_id)
    except NotFound:
        raise InvitationNotFound("no such invitation") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
