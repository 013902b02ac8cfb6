"""The organisation's webhook endpoint, and the deliveries made to it."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentOrg, SettingsDep, WebhooksDep
from api.json_body import BoundedJsonRoute
from api.openapi.error_responses import error_responses
from core.delivery.ssrf import MAX_URL_LENGTH, TargetRefused, check_url, system_resolver
from core.delivery.webhooks import Delivery
from core.errors import WebhookTargetRefused

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhook", tags=["webhooks"], route_class=BoundedJsonRoute)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)


class WebhookCreated(BaseModel):
    url: str
    secret: str = Field(
        description="Signing secret (`whsec_…`, Standard Webhooks), shown only this once."
    )


class WebhookOut(BaseModel):
    url: str | None = Field(description="The endpoint results are sent to; null when none.")
    created_at: datetime | None = None


class DeliveryOut(BaseModel):
    delivery_id: str
    project_id: str
    task_id: str
    result_id: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


def _datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _delivery(record: Delivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=record.delivery_id,
        project_id=record.project_id,
        task_id=record.task_id,
        result_id=record.result_id,
        status=record.status,
        attempts=record.attempts,
        last_error=record.last_error,
        next_attempt_at=_datetime(record.next_attempt_at_ms),
        created_at=datetime.fromtimestamp(record.created_at_ms / 1000, tz=UTC),
    )


@router.put(
    "",
    response_model=WebhookCreated,
    summary="Set the endpoint results are delivered to (returns a new signing secret)",
    description="The URL must be `https://` on a public address: a host name is resolved and "
    "every address it gives must be public; private, loopback, link-local, shared (CGNAT), "
    "unspecified, multicast and reserved addresses are refused with 422 "
    "`webhook_target_refused`, however they are spelled. With `RUCHE_WEBHOOK_ALLOW_PRIVATE=1` "
    "(development) plain `http://` and private/loopback targets are accepted too. Each call "
    "makes a new secret; the old one stops being used.",
    responses=error_responses(401, 403, 422),
)
async def set_webhook(
    body: WebhookIn, org: CurrentOrg, webhooks: WebhooksDep, settings: SettingsDep
) -> WebhookCreated:
    check = partial(
        check_url, body.url, allow_private=settings.webhook_allow_private, resolve=system_resolver
    )
    try:
        target = await anyio.to_thread.run_sync(check)
    except TargetRefused as refused:
        raise WebhookTargetRefused(
            f"this webhook target is refused: {refused}",
            [{"loc": ["body", "url"], "msg": str(refused), "type": "webhook_target_refused"}],
        ) from None
    secret = await webhooks.set_endpoint(org.id, target.url)
    return WebhookCreated(url=target.url, secret=secret)


@router.get(
    "",
    response_model=WebhookOut,
    summary="The current endpoint (never its secret)",
    responses=error_responses(401, 403),
)
async def get_webhook(org: CurrentOrg, webhooks: WebhooksDep) -> WebhookOut:
    endpoint = await webhooks.endpoint(org.id)
    if endpoint is None:
        return WebhookOut(url=None)
    return WebhookOut(url=endpoint.url, created_at=_datetime(endpoint.created_at_ms))


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove the endpoint (results are then only polled or exported)",
    responses=error_responses(401, 403),
)
async def remove_webhook(org: CurrentOrg, webhooks: WebhooksDep) -> Response:
    await webhooks.remove_endpoint(org.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/deliveries",
    response_model=DeliveryList,
    summary="Recent deliveries, newest first: status, attempts, last error",
    responses=error_responses(401, 403, 422),
)
async def deliveries(
    org: CurrentOrg,
    webhooks: WebhooksDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    return DeliveryList(items=[_delivery(d) for d in await webhooks.deliveries(org.id, limit)])


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Deliver a result again, now",
    responses=error_responses(401, 403, 404),
)
async def redeliver(
    delivery_id: Annotated[str, Path(max_length=100)], org: CurrentOrg, webhooks: WebhooksDep
) -> DeliveryOut:
    return _delivery(await webhooks.redeliver(org.id, delivery_id))
