"""An organisation's limits: set by the operator, read by the operator and the organisation.

``PUT /v1/orgs/{org_id}/limits`` (operator) sets any of ``bulk_tasks`` (a rate such as
``"60000/minute"``), ``quota_tasks`` and ``quota_payload_bytes`` (0: no limit) for one
organisation; ``null`` puts one back to the instance's setting. ``GET`` on the same path (the
operator) or on ``/v1/org/limits`` (the organisation's own key) shows the limits in force and
what the organisation holds. See ``core.accounts.quotas``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, field_validator

from api.deps import AccountsDep, CurrentAdmin, CurrentOrg, QuotasDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.accounts.quotas import OrgLimits, Quotas
from core.errors import NotFound
from core.ratelimit import parse_rate

__all__ = ["router"]

router = APIRouter(tags=["limits"], route_class=BoundedJsonRoute)

MAX_QUOTA = 10**15


class LimitsChange(BaseModel):
    """Only the fields sent change; ``null`` puts one back to the instance's setting."""

    model_config = ConfigDict(extra="forbid")

    bulk_tasks: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = Field(
        default=None,
        description="Tasks it may send in bulk per window, e.g. `60000/minute`, `5000/hour`.",
    )
    quota_tasks: Annotated[int, Strict()] | None = Field(
        default=None, ge=0, le=MAX_QUOTA, description="Tasks it may hold (0: no limit)."
    )
    quota_payload_bytes: Annotated[int, Strict()] | None = Field(
        default=None,
        ge=0,
        le=MAX_QUOTA,
        description="Bytes of payload JSON its tasks may hold (0: no limit).",
    )

    @field_validator("bulk_tasks")
    @classmethod
    def _a_rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value


class UsageOut(BaseModel):
    tasks: int = Field(description="Tasks held over all its projects.")
    payload_bytes: int = Field(description="Bytes of payload JSON they hold.")


class LimitsOut(BaseModel):
    bulk_tasks: str = Field(description="Tasks it may send in bulk per window.")
    quota_tasks: int = Field(description="Tasks it may hold (0: no limit).")
    quota_payload_bytes: int = Field(description="Payload bytes it may hold (0: no limit).")
    set_by_operator: list[str] = Field(
        description="Which of them the operator set for it (the others: the instance's)."
    )
    usage: UsageOut


async def _out(quotas: Quotas, org_id: str, limits: OrgLimits) -> LimitsOut:
    held = await quotas.usage(org_id)
    return LimitsOut(
        bulk_tasks=limits.bulk_tasks,
        quota_tasks=limits.quota_tasks,
        quota_payload_bytes=limits.quota_payload_bytes,
        set_by_operator=sorted(limits.own),
        usage=UsageOut(tasks=held.tasks, payload_bytes=held.payload_bytes),
    )


async def _existing(accounts: AccountsDep, org_id: str) -> None:
    if len(org_id) > 64 or not await accounts.org_exists(org_id):
        raise NotFound("no such organisation")


@router.put(
    "/v1/orgs/{org_id}/limits",
    response_model=LimitsOut,
    summary="Set an organisation's limits (operator)",
    responses=error_responses(401, 403, 404, 422),
)
async def set_limits(
    org_id: str, body: LimitsChange, admin: CurrentAdmin, accounts: AccountsDep, quotas: QuotasDep
) -> LimitsOut:
    await _existing(accounts, org_id)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return await _out(quotas, org_id, await quotas.set_limits(org_id, changes))


@router.get(
    "/v1/orgs/{org_id}/limits",
    response_model=LimitsOut,
    summary="An organisation's limits and usage (operator)",
    responses=error_responses(401, 403, 404),
)
async def read_limits(
    org_id: str, admin: CurrentAdmin, accounts: AccountsDep, quotas: QuotasDep
) -> LimitsOut:
    await _existing(accounts, org_id)
    return await _out(quotas, org_id, await quotas.limits(org_id))


@router.get(
    "/v1/org/limits",
    response_model=LimitsOut,
    summary="Your organisation's limits and usage",
    responses=error_responses(401, 403),
)
async def own_limits(org: CurrentOrg, quotas: QuotasDep) -> LimitsOut:
    return await _out(quotas, org.id, await quotas.limits(org.id))
