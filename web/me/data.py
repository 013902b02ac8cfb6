"""``/me/data``: the signed-in person's own data: download it, or delete their account.

- ``GET /me/data/export`` is the JSON of ``GET /v1/me/export`` (``core.privacy.export``), as a
  file to save: a download link, no script needed;
- ``GET /me/data/delete`` asks for a confirmation (a box to tick), ``POST`` erases the account
  (``core.privacy.start_volunteer_erasure``, as ``DELETE /v1/me``): the token, the profile, every
  web session (this one too), the recovery code and the e-mail address's index entry go at
  once, the rest in the background; then ``/me/data/deleted`` says, in the visitor's language,
  what was erased and what stays (answers in the NGOs' results, without their identity).
"""

from __future__ import annotations

import json
import time

import redis.asyncio
from fastapi import APIRouter, Request, Response

from core.privacy import export_volunteer, start_volunteer_erasure
from web.i18n import N_
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["EXPORT_FILE_NAME", "router"]

router = APIRouter(route_class=WebRoute)

EXPORT_FILE_NAME = "ruche-my-data.json"
CONFIRM_FIELD = "confirm"
NOT_CONFIRMED = N_("Tick the box to confirm that you want your account deleted for good.")


def _client(page: Visit) -> redis.asyncio.Redis:
    return page.state.sessions.client


@router.get("/me/data")
async def my_data(request: Request) -> Response:
    page = await visit(request)
    return render(page, "me/data.html", name=page.person.display_name)


@router.get("/me/data/export")
async def download(request: Request) -> Response:
    page = await visit(request)
    exported = await export_volunteer(_client(page), page.state.keys, page.person.id)
    if exported is None:  # erased between the visit and here: nothing is held any more
        return redirect(page, "/me/data/deleted")
    body = json.dumps(exported, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body.encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{EXPORT_FILE_NAME}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _delete_page(page: Visit, status_code: int = 200, error: str | None = None) -> Response:
    return render(
        page,
        "me/delete.html",
        status_code=status_code,
        name=page.person.display_name,
        confirm_error=error,
    )


@router.get("/me/data/delete")
async def delete_form(request: Request) -> Response:
    page = await visit(request)
    return _delete_page(page)


@router.post("/me/data/delete")
async def delete_account(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = await page.check_form()
    if form.get(CONFIRM_FIELD) != "yes":
        return _delete_page(page, status_code=422, error=NOT_CONFIRMED)
    now_ms = time.time_ns() // 1_000_000
    stopped = await start_volunteer_erasure(_client(page), page.state.keys, person.id, now_ms)
    # This process forgets them at once (another one within a second: the profile is gone).
    page.state.accounts.forget_volunteer(person.id, stopped or ())
    await page.end_session()
    return redirect(page, "/me/data/deleted")


@router.get("/me/data/deleted")
async def deleted(request: Request) -> Response:
    """What was erased and what stays; says nothing of anyone (anybody may open it)."""
    page = await visit(request)
    return render(page, "me/deleted.html")
