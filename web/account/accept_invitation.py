"""``/join/invitation?invite=CODE``: someone already signed in follows an organisation's
invitation link (``/join?invite=CODE`` sends them here). The page says who invites them (and to
which project); accepting uses the code once, as joining would, and opens the organisation's (or
the project's) invitation-only projects to them (:meth:`Invitations.admit`)."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from core.errors import InvitationRefused, NotFound
from web.i18n import N_
from web.pages import FLASHES, redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["accept_path", "router"]

router = APIRouter(route_class=WebRoute)

FLASHES["invitation_used"] = N_("The invitation is accepted: its projects are open to you.")

REFUSED = {
    "unknown": N_(
        "This invitation code is not valid: check the link you were sent, or ask for a new one."
    ),
    "used_up": N_(
        "This invitation has been used as many times as it allows. Ask the person who invited "
        "you for a new one."
    ),
    "expired": N_("This invitation has expired. Ask the person who invited you for a new one."),
}


def accept_path(code: str) -> str:
    return f"/join/invitation?invite={quote(code[:100], safe='')}"


async def _names(page: Visit, issuer: str, project_id: str | None) -> tuple[str, str]:
    """The inviting organisation's name and the project's ("" when there is none)."""
    if issuer == "admin":
        return "", ""
    try:
        org = (await page.state.accounts.org(issuer)).get("name", "")
    except NotFound:
        return "", ""
    project = ""
    if project_id:
        raw = await page.state.sessions.client.hget(
            page.state.keys.project(project_id).project, "doc"
        )
        project = str(json.loads(raw).get("name", "")) if raw else ""
    return org, project


@router.get("/join/invitation")
async def invitation_page(request: Request) -> Response:
    page = await visit(request)
    page.person  # noqa: B018 - SignInNeeded: /login, then back here
    code = request.query_params.get("invite", "")[:100].strip()
    try:
        invitation = await page.state.invitations.check(code)
    except InvitationRefused as refused:
        return render(
            page, "account/accept_invitation.html", status_code=403, error=REFUSED[refused.reason]
        )
    org, project = await _names(page, invitation.issuer, invitation.project_id)
    return render(
        page,
        "account/accept_invitation.html",
        error=None,
        code=code,
        org_name=org,
        project_name=project,
    )


@router.post("/join/invitation")
async def accept(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = await page.check_form()
    raw = form.get("invite", "")
    code = raw[:100].strip() if isinstance(raw, str) else ""
    try:
        invitation = await page.state.invitations.redeem(code)
    except InvitationRefused as refused:
        return render(
            page, "account/accept_invitation.html", status_code=403, error=REFUSED[refused.reason]
        )
    await page.state.invitations.admit(person.id, invitation)
    return redirect(page, "/work", flash="invitation_used")
