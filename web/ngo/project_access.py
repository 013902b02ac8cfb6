"""``/ngo/projects/{project_id}/access``: who works on a project and who reviews it.

- Invitation only: when set, only volunteers admitted by an invitation of this project or of
  its organisation are served its tasks (``invitation_only``, checked by the claim matcher;
  invitations are made on :mod:`web.ngo.volunteers`).
- Reviewers: the volunteers granted review rights on the project (the API's
  ``/v1/projects/{id}/reviewers``, :meth:`core.projects.store.Projects.grant_reviewer`), found
  by their e-mail address or volunteer id; withdrawing ends the review leases they hold.
  The staff from reviewer up review every project of their organisation by their role
  (:mod:`core.accounts.staff`): they are listed with it and have no "withdraw" here, since
  their role would give the right back; the People page changes it.

Everyone on the staff sees the page; managers change it. Each change is an audit event in the
project's stream with who made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from core import ids
from core.accounts.emails import normalise_email
from core.accounts.staff import Role
from core.errors import NotFound, OrgVolunteerNotFound
from core.projects.models import ProjectPatch
from web.i18n import N_
from web.ngo.guard import StaffVisit, project_visit
from web.ngo.org_changes import console_page
from web.pages import FLASHES, redirect
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

FLASHES.update(
    {
        "access_saved": N_("Who may work on the project is saved."),
        "reviewer_granted": N_("They may now review this project."),
        "reviewer_revoked": N_("They no longer review this project."),
        "reviewer_by_role": N_(
            "They review every project by their role on the staff: change it on the People page."
        ),
    }
)
VOLUNTEER_ERROR = N_("No volunteer has this e-mail address or id.")


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    volunteer_id: str
    name: str
    #: Their role on the staff when it makes them review (reviewer and up), else None.
    role: Role | None = None


def _path(project_id: str) -> str:
    return f"/ngo/projects/{project_id}/access"


async def _page(
    staff: StaffVisit,
    project_id: str,
    *,
    status_code: int = 200,
    who: str = "",
    error: str | None = None,
) -> Response:
    project = await staff.projects.get(staff.org_id, project_id)
    rows = []
    members = await staff.staff.members(staff.org_id)
    for volunteer_id in await staff.projects.reviewers(staff.org_id, project_id):
        try:
            person = await staff.page.state.accounts.volunteer(volunteer_id)
        except NotFound:
            continue  # erased meanwhile
        role = members.get(volunteer_id)
        by_role = role if role is not None and role >= Role.REVIEWER else None
        rows.append(ReviewerRow(volunteer_id, person.display_name, by_role))
    return console_page(
        staff,
        "ngo/access.html",
        "volunteers",
        status_code=status_code,
        project=project,
        reviewers=sorted(rows, key=lambda row: (row.name.casefold(), row.volunteer_id)),
        who=who,
        error=error,
    )


@router.get("/ngo/projects/{project_id}/access")
async def access(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id)
    return await _page(staff, project_id)


@router.post("/ngo/projects/{project_id}/access")
async def save_access(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)
    form = await staff.form()
    closed = form.get("invitation_only") == "on"
    await staff.projects.update(staff.org_id, project_id, ProjectPatch(invitation_only=closed))
    await staff.audit(project_id, "project.access", invitation_only="yes" if closed else "no")
    return redirect(staff.page, _path(project_id), flash="access_saved")


async def _volunteer_id(staff: StaffVisit, typed: str) -> str | None:
    """The volunteer named by an e-mail address or an id, if there is one."""
    if ids.VOLUNTEER_ID.match(typed):
        return typed
    email = normalise_email(typed)
    return await staff.page.state.accounts.volunteer_by_email(email) if email else None


@router.post("/ngo/projects/{project_id}/reviewers")
async def grant(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)
    form = await staff.form()
    raw = form.get("who", "")
    typed = raw.strip()[:300] if isinstance(raw, str) else ""
    volunteer_id = await _volunteer_id(staff, typed)
    try:
        if volunteer_id is None:
            raise OrgVolunteerNotFound("no such volunteer")
        await staff.projects.grant_reviewer(staff.org_id, project_id, volunteer_id)
    except OrgVolunteerNotFound:
        return await _page(staff, project_id, status_code=422, who=typed, error=VOLUNTEER_ERROR)
    await staff.audit(project_id, "project.reviewer_granted", volunteer=volunteer_id)
    return redirect(staff.page, _path(project_id), flash="reviewer_granted")


@router.post("/ngo/projects/{project_id}/reviewers/{volunteer_id}/revoke")
async def revoke(project_id: str, volunteer_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)
    await staff.form()
    role = await staff.staff.role(staff.org_id, volunteer_id[:64])
    if role is not None and role >= Role.REVIEWER:
        return redirect(staff.page, _path(project_id), flash="reviewer_by_role")
    await staff.projects.revoke_reviewer(staff.org_id, project_id, volunteer_id[:64])
    await staff.audit(project_id, "project.reviewer_revoked", volunteer=volunteer_id[:64])
    return redirect(staff.page, _path(project_id), flash="reviewer_revoked")
