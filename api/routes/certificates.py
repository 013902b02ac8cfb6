"""Certificates of volunteering (``core.volunteers.certificates``): the operator revokes one.

Volunteers get their certificate on the page ``/me/certificate``, and anyone checks one on
``/certificates/{id}``; programs need only the operator's revocation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import CurrentAdmin, KeysDep, RedisDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.clock import utc_from_ms
from core.volunteers.certificates import Certificates

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["certificates"], route_class=BoundedJsonRoute)


class Revoked(BaseModel):
    id: str
    revoked_at: datetime = Field(description="When it was first revoked (revoking again keeps it).")


@router.delete(
    "/certificates/{certificate_id}",
    response_model=Revoked,
    summary="Revoke a volunteer's certificate (operator)",
    description="Its public page `/certificates/{certificate_id}` then says it is revoked. "
    "Revoking again changes nothing; an unknown id is 404 `certificate_not_found`. The "
    "volunteer's page gives the same revoked certificate again until their figures change.",
    responses=error_responses(401, 403, 404),
)
async def revoke_certificate(
    certificate_id: Annotated[str, Path(max_length=64)],
    admin: CurrentAdmin,
    client: RedisDep,
    keys: KeysDep,
) -> Revoked:
    revoked_at = await Certificates(client, keys).revoke(certificate_id)
    return Revoked(id=certificate_id, revoked_at=utc_from_ms(revoked_at))
