"""``/ngo/orgs/{org_id}/delivery``: the organisation's webhook endpoint and its deliveries
(owners only, as ``manage_webhook`` says).

Setting the address (or making a new secret for the same one) runs the API's own check
(:func:`core.delivery.ssrf.check_url`: ``https`` on a public address, every resolved address
public, unless the operator allows private targets) and stores a new signing secret, which the
answer to that POST shows once (it is never stored outside the endpoint, never shown again; a
reload does not show it). The deliveries (newest first) show their status, attempts and last
error; replaying one is the API's redeliver. Each change goes to the organisation's audit stream.
"""

from __future__ import annotations

from functools import partial

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from core.accounts.staff import Role
from core.delivery.ssrf import MAX_URL_LENGTH, TargetRefused, check_url, system_resolver
from core.delivery.webhooks import Webhooks
from core.errors import DeliveryNotFound, NotFound
from web.i18n import N_
from web.ngo.guard import StaffVisit, staff_visit
from web.ngo.org_changes import audit_org, console_page
from web.pages import FLASHES, redirect
from web.routing import WebRoute

__all__ = ["DELIVERIES_SHOWN", "router"]

router = APIRouter(route_class=WebRoute)

#: Deliveries listed, newest first (the API's default page).
DELIVERIES_SHOWN = 50

FLASHES.update(
    {
        "webhook_removed": N_("The webhook endpoint is removed: results are no longer sent."),
        "delivery_replayed": N_("The delivery is queued again: it is sent in a moment."),
    }
)
URL_ERROR = N_(
    "This address is refused: give an https:// address on a public host (not a private, "
    "local or reserved address)."
)
NO_ENDPOINT = N_("There is no endpoint to make a new secret for: set its address first.")
STATUS_NAMES = {
    "pending": N_("Pending"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "disabled": N_("Stopped: the endpoint answered 410 Gone"),
}


def _path(org_id: str) -> str:
    return f"/ngo/orgs/{org_id}/delivery"


def _webhooks(staff: StaffVisit) -> Webhooks:
    return Webhooks(staff.client, staff.page.state.keys)


async def _page(
    staff: StaffVisit,
    *,
    status_code: int = 200,
    url: str | None = None,
    error: str | None = None,
    secret: str | None = None,
) -> Response:
    webhooks = _webhooks(staff)
    endpoint = await webhooks.endpoint(staff.org_id)
    return console_page(
        staff,
        "ngo/delivery.html",
        "delivery",
        status_code=status_code,
        endpoint=endpoint,
        url=url if url is not None else (endpoint.url if endpoint else ""),
        error=error,
        secret=secret,
        deliveries=await webhooks.deliveries(staff.org_id, DELIVERIES_SHOWN),
        status_names=STATUS_NAMES,
    )


@router.get("/ngo/orgs/{org_id}/delivery")
async def delivery(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    return await _page(staff)


async def _checked(staff: StaffVisit, url: str) -> str | None:
    """The URL as the API would store it, or None when the SSRF check refuses it."""
    check = partial(
        check_url,
        url,
        allow_private=staff.page.state.settings.webhook_allow_private,
        resolve=system_resolver,
    )
    try:
        target = await anyio.to_thread.run_sync(check)
    except TargetRefused:
        return None
    return target.url


@router.post("/ngo/orgs/{org_id}/delivery/endpoint")
async def set_endpoint(org_id: str, request: Request) -> Response:
    """Sets the address (or, with ``rotate``, keeps the current one) with a new secret."""
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    form = await staff.form()
    webhooks = _webhooks(staff)
    if form.get("rotate"):
        current = await webhooks.endpoint(staff.org_id)
        if current is None:
            return await _page(staff, status_code=409, error=NO_ENDPOINT)
        typed = current.url
    else:
        raw = form.get("url", "")
        typed = raw.strip()[: MAX_URL_LENGTH + 1] if isinstance(raw, str) else ""
    url = await _checked(staff, typed) if 0 < len(typed) <= MAX_URL_LENGTH else None
    if url is None:
        return await _page(staff, status_code=422, url=typed, error=URL_ERROR)
    secret = await webhooks.set_endpoint(staff.org_id, url)
    await audit_org(staff, "webhook.set", url=url)
    return await _page(staff, secret=secret)


@router.post("/ngo/orgs/{org_id}/delivery/endpoint/remove")
async def remove_endpoint(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    await staff.form()
    await _webhooks(staff).remove_endpoint(staff.org_id)
    await audit_org(staff, "webhook.removed")
    return redirect(staff.page, _path(staff.org_id), flash="webhook_removed")


@router.post("/ngo/orgs/{org_id}/delivery/{delivery_id}/replay")
async def replay(org_id: str, delivery_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    await staff.form()
    try:
        await _webhooks(staff).redeliver(staff.org_id, delivery_id[:100])
    except DeliveryNotFound:
        raise NotFound("no such delivery") from None
    await audit_org(staff, "delivery.replayed", delivery=delivery_id[:100])
    return redirect(staff.page, _path(staff.org_id), flash="delivery_replayed")
