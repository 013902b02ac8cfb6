"""``/ngo/orgs/{org_id}/volunteers``: the organisation's volunteer invitations.

An invitation is a code (and the join page's link carrying it) good for a number of uses until
a date, for the whole organisation or one of its projects (:mod:`core.accounts.invitations`,
the same codes as ``/v1/invitations`` and ``ruche invite``). Joining with it (or accepting it
while signed in) opens the invitation-only projects in its scope to that person; a project is
made invitation-only on its access page (:mod:`web.ngo.project_access`, linked from here).
Everyone on the staff sees the invitations (never their codes); managers make and revoke them.
A new code is shown once, in the answer to the POST that made it. Each change goes to the
organisation's audit stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from core.accounts.invitations import MAX_DAYS, MAX_USES, Invitation, Invitations
from core.accounts.staff import Role
from core.errors import NotFound
from core.projects.models import Project
from web.i18n import N_
from web.ngo.guard import StaffVisit, staff_visit
from web.ngo.org_changes import audit_org, console_page
from web.pages import FLASHES, redirect
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

FLASHES["volunteer_invitation_revoked"] = N_("The invitation is revoked: its code no longer works.")
USES_ERROR = N_("Please give a whole number from 1 to %(most)s.")
SCOPE_ERROR = N_("Please choose the organisation or one of its projects.")


@dataclass(frozen=True, slots=True)
class InvitationRow:
    invitation: Invitation
    scope_name: str  # the project's name; "" for the whole organisation
    state: str  # live | used_up | expired


@dataclass(frozen=True, slots=True)
class NewInvitation:
    code: str
    url: str
    scope_name: str


def _path(org_id: str) -> str:
    return f"/ngo/orgs/{org_id}/volunteers"


def _invitations(staff: StaffVisit) -> Invitations:
    # This machine's clock, as the join page that uses the codes (never a test's board clock).
    return Invitations(staff.client, staff.page.state.keys)


def _state(invitation: Invitation, now_ms: int) -> str:
    if invitation.expires_ms <= now_ms:
        return "expired"
    return "used_up" if invitation.used >= invitation.uses else "live"


async def _page(
    staff: StaffVisit,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
    made: NewInvitation | None = None,
) -> Response:
    projects = await staff.projects.of_org(staff.org_id)
    names = {project.id: project.name for project in projects}
    now = int(time.time() * 1000)
    rows = [
        InvitationRow(
            invitation, names.get(invitation.project_id or "", ""), _state(invitation, now)
        )
        for invitation in await _invitations(staff).list(staff.org_id)
        if not invitation.project_id or invitation.project_id in names
    ]
    return console_page(
        staff,
        "ngo/volunteers.html",
        "volunteers",
        status_code=status_code,
        projects=sorted(projects, key=lambda p: p.name.casefold()),
        rows=rows,
        errors=errors or {},
        fields={"scope": "", "uses": "10", "days": "14", **(fields or {})},
        made=made,
        max_uses=MAX_USES,
        max_days=MAX_DAYS,
    )


@router.get("/ngo/orgs/{org_id}/volunteers")
async def volunteers(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id)
    return await _page(staff)


def _whole(raw: object, most: int) -> int | None:
    text = raw.strip()[:10] if isinstance(raw, str) else ""
    return int(text) if text.isdigit() and 1 <= int(text) <= most else None


def _project_of(projects: list[Project], scope: str) -> Project | None:
    return next((project for project in projects if project.id == scope), None)


@router.post("/ngo/orgs/{org_id}/volunteers/invitations")
async def invite(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.MANAGER)
    form = await staff.form()
    fields = {name: str(form.get(name, ""))[:100] for name in ("scope", "uses", "days")}
    uses, days = _whole(fields["uses"], MAX_USES), _whole(fields["days"], MAX_DAYS)
    project = None
    errors: dict[str, str] = {}
    if fields["scope"]:
        project = _project_of(await staff.projects.of_org(staff.org_id), fields["scope"])
        if project is None:
            errors["scope"] = SCOPE_ERROR
    if uses is None:
        errors["uses"] = USES_ERROR
    if days is None:
        errors["days"] = USES_ERROR
    if errors or uses is None or days is None:
        return await _page(staff, status_code=422, errors=errors, fields=fields)
    invitation, code = await _invitations(staff).create(
        staff.org_id, uses, days, project_id=project.id if project else None
    )
    settings = staff.page.state.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    await audit_org(
        staff,
        "volunteer_invitation.created",
        invitation=invitation.id,
        project=project.id if project else "",
    )
    made = NewInvitation(code, f"{base}/join?invite={code}", project.name if project else "")
    return await _page(staff, made=made)


@router.post("/ngo/orgs/{org_id}/volunteers/invitations/{invitation_id}/revoke")
async def revoke(org_id: str, invitation_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.MANAGER)
    await staff.form()
    try:
        await _invitations(staff).revoke(staff.org_id, invitation_id[:64])
    except NotFound:
        raise NotFound("no such invitation") from None
    await audit_org(staff, "volunteer_invitation.revoked", invitation=invitation_id[:64])
    return redirect(staff.page, _path(staff.org_id), flash="volunteer_invitation_revoked")
