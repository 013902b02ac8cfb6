"""``/ngo/orgs/{org_id}/people``: the organisation's staff and their roles.

Everyone on the staff sees who else is; owners invite people by e-mail (with a role), change
roles and take people off the staff, never the last owner (:mod:`core.accounts.staff`). Each
change is recorded in the organisation's audit stream with who made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from core.accounts.emails import normalise_email
from core.accounts.staff import Role
from core.accounts.staff_invitations import StaffInvitations
from core.errors import LastOwner, NotFound
from web.i18n import N_
from web.ngo.guard import StaffVisit, staff_visit
from web.ngo.mails import invitation_base, invite_by_mail
from web.ngo.views import Formats
from web.pages import redirect, render
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

EMAIL_ERROR = N_("Please give an e-mail address such as name@example.org.")
ROLE_ERROR = N_("Please choose a role.")
LAST_OWNER_ERROR = N_("An organisation keeps one owner at least: make someone else owner first.")
TOO_MANY = N_(
    "This address was sent several mails lately: please try again in a quarter of an hour."
)
MAIL_OFF = N_("This site cannot send e-mail, so it cannot send invitations.")


@dataclass(frozen=True, slots=True)
class Member:
    volunteer_id: str
    name: str
    role: Role
    is_me: bool


async def _members(staff: StaffVisit) -> list[Member]:
    found = []
    for volunteer_id, role in (await staff.staff.members(staff.org_id)).items():
        try:
            person = await staff.page.state.accounts.volunteer(volunteer_id)
        except NotFound:
            continue  # erased meanwhile
        found.append(
            Member(volunteer_id, person.display_name, role, volunteer_id == staff.person.id)
        )
    return sorted(found, key=lambda m: (-m.role, m.name.casefold(), m.volunteer_id))


async def _people_page(
    staff: StaffVisit,
    *,
    status_code: int = 200,
    email: str = "",
    invite_role: str = "viewer",
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        staff.page,
        "ngo/people.html",
        status_code=status_code,
        section="people",
        members=await _members(staff),
        pending=(
            await StaffInvitations(staff.client, staff.page.state.keys).pending(staff.org_id)
            if staff.can("manage_people")
            else []
        ),
        roles=sorted(Role, reverse=True),
        email=email,
        invite_role=invite_role,
        errors=errors or {},
        **staff.context(),
        **Formats(staff.page.language.code).helpers(),
    )


def _path(org_id: str) -> str:
    return f"/ngo/orgs/{org_id}/people"


@router.get("/ngo/orgs/{org_id}/people")
async def people(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id)
    return await _people_page(staff)


@router.post("/ngo/orgs/{org_id}/people/invite")
async def invite(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    form = await staff.form()
    raw_email, raw_role = form.get("email", ""), form.get("role", "")
    typed = raw_email[:300].strip() if isinstance(raw_email, str) else ""
    email = normalise_email(typed)
    role = Role.parse(raw_role[:20]) if isinstance(raw_role, str) else None
    errors: dict[str, str] = {}
    if email is None:
        errors["email"] = EMAIL_ERROR
    if role is None:
        errors["role"] = ROLE_ERROR
    base = invitation_base(staff.page.state.settings, str(request.base_url))
    if not staff.page.state.mailer.enabled or base is None:
        errors["email"] = MAIL_OFF
    if not errors and email is not None and not await staff.page.state.links.may_send(email):
        # The address's share of mails lately (sign-in links and invitations count together):
        # the form must not become a way to flood someone's mailbox.
        errors["email"] = TOO_MANY
    if errors or email is None or role is None or base is None:
        return await _people_page(
            staff,
            status_code=422,
            email=typed,
            invite_role=role.label if role else "viewer",
            errors=errors,
        )
    await invite_by_mail(
        invitations=StaffInvitations(staff.client, staff.page.state.keys),
        mailer=staff.page.state.mailer,
        base=base,
        language=staff.page.language,
        org_id=staff.org_id,
        org_name=staff.org_name,
        email=email,
        role=role,
        invited_by=staff.person.id,
        inviter_name=staff.person.display_name,
    )
    await staff.staff.record(staff.org_id, "staff.invited", by=staff.person.id, role=role.label)
    return redirect(staff.page, _path(staff.org_id), flash="invitation_sent")


@router.post("/ngo/orgs/{org_id}/people/invitations/{invitation_id}/revoke")
async def revoke_invitation(org_id: str, invitation_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    await staff.form()
    invitations = StaffInvitations(staff.client, staff.page.state.keys)
    if not await invitations.revoke(staff.org_id, invitation_id[:100]):
        raise NotFound("no such invitation")
    await staff.staff.record(staff.org_id, "staff.invitation_revoked", by=staff.person.id)
    return redirect(staff.page, _path(staff.org_id), flash="invitation_revoked")


@router.post("/ngo/orgs/{org_id}/people/{volunteer_id}/role")
async def change_role(org_id: str, volunteer_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    form = await staff.form()
    raw_role = form.get("role", "")
    role = Role.parse(raw_role[:20]) if isinstance(raw_role, str) else None
    if role is None:
        return await _people_page(staff, status_code=422, errors={"member": ROLE_ERROR})
    try:
        await staff.staff.set_role(staff.org_id, volunteer_id[:64], role, by=staff.person.id)
    except LastOwner:
        return await _people_page(staff, status_code=409, errors={"member": LAST_OWNER_ERROR})
    if volunteer_id == staff.person.id and role < Role.OWNER:
        return redirect(staff.page, f"/ngo/orgs/{staff.org_id}", flash="role_changed")
    return redirect(staff.page, _path(staff.org_id), flash="role_changed")


@router.post("/ngo/orgs/{org_id}/people/{volunteer_id}/remove")
async def remove(org_id: str, volunteer_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.OWNER)
    await staff.form()
    try:
        await staff.staff.remove(staff.org_id, volunteer_id[:64], by=staff.person.id)
        staff.page.state.accounts.forget_volunteer(volunteer_id)  # perhaps no staff flag now
    except LastOwner:
        return await _people_page(staff, status_code=409, errors={"member": LAST_OWNER_ERROR})
    if volunteer_id == staff.person.id:
        return redirect(staff.page, "/ngo", flash="member_removed")
    return redirect(staff.page, _path(staff.org_id), flash="member_removed")
