"""``/ngo/orgs/{org_id}/keys``: the organisation's API keys, for its programs (owners only, as
``manage_keys`` says).

The rules are the API's (:class:`core.accounts.store.Accounts`): at most
``MAX_LIVE_ORG_KEYS`` live keys (so a program can move to a new key before the old one is
revoked), and never none (the last live key cannot be revoked). A new key is shown once, in the
answer to the POST that made it (never stored but hashed, never shown again). Each key's last use
is to the minute (:data:`core.accounts.store.KEY_USE_RESOLUTION_SECONDS`). Each change goes to the
organisation's audit stream (the key's id, never the key).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from core.accounts.staff import Role
from core.accounts.store import MAX_LIVE_ORG_KEYS
from core.errors import LastApiKey, NotFound, TooManyApiKeys
from web.i18n import N_
from web.ngo.guard import StaffVisit, staff_visit
from web.ngo.org_changes import audit_org, console_page
from web.pages import FLASHES, redirect
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

FLASHES["key_revoked"] = N_("The key is revoked: it stopped working at once.")
TOO_MANY = N_("An organisation holds two live keys at most: revoke one first.")
LAST_KEY = N_("This is the only live key: create a new one first, then revoke this one.")


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_id: str
    created_ms: int
    revoked_ms: int | None
    last_used_ms: int | None


async def _rows(staff: StaffVisit) -> list[KeyRow]:
    accounts = staff.page.state.accounts
    records = await accounts.org_keys(staff.org_id)
    uses = await accounts.org_key_uses(staff.org_id)
    rows = [
        KeyRow(
            key_id,
            int(str(record.get("created") or 0)),
            int(str(record["revoked"])) if record.get("revoked") else None,
            uses.get(key_id),
        )
        for key_id, record in records.items()
    ]
    return sorted(rows, key=lambda row: (row.revoked_ms is not None, -row.created_ms, row.key_id))


async def _page(
    staff: StaffVisit, *, status_code: int = 200, error: str | None = None, new_key: str = ""
) -> Response:
    rows = await _rows(staff)
    return console_page(
        staff,
        "ngo/keys.html",
        "keys",
        status_code=status_code,
        rows=rows,
        live=sum(1 for row in rows if row.revoked_ms is None),
        max_live=MAX_LIVE_ORG_KEYS,
        error=error,
        new_key=new_key,
    )


@router.get("/ngo/orgs/{org_id}/keys")
async def keys_page(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    return await _page(staff)


@router.post("/ngo/orgs/{org_id}/keys/new")
async def create_key(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    await staff.form()
    try:
        key_id, token = await staff.page.state.accounts.add_org_key(staff.org_id)
    except TooManyApiKeys:
        return await _page(staff, status_code=409, error=TOO_MANY)
    await audit_org(staff, "api_key.created", key=key_id)
    return await _page(staff, new_key=token)


@router.post("/ngo/orgs/{org_id}/keys/{key_id}/revoke")
async def revoke_key(org_id: str, key_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    await staff.form()
    try:
        await staff.page.state.accounts.revoke_org_key(staff.org_id, key_id[:64])
    except LastApiKey:
        return await _page(staff, status_code=409, error=LAST_KEY)
    except NotFound:
        raise NotFound("no such key") from None
    await audit_org(staff, "api_key.revoked", key=key_id[:64])
    return redirect(staff.page, f"/ngo/orgs/{staff.org_id}/keys", flash="key_revoked")
