"""``/ngo/invitations/{token}``: accepting an invitation to an organisation's staff.

Opening the link (GET) only shows the invitation and a button (mail scanners fetch links and
must not use them up); the POST uses it (once: :mod:`core.accounts.staff_invitations`). The
link was mailed to an address, so whoever follows it reads that mailbox, as with a sign-in
link: they are signed in to the account of that address, which is made then (with the name
they give) when there is none, and the account joins the staff with the invitation's role.

A new account of a reviewer (or above) also says which languages its person reads: reviewing
offers only the items of a project in one's languages, and without any the staff reviewer
would have nothing to review (a volunteer gives them when joining).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter, ValidationError

from core.accounts.staff import Role
from core.accounts.staff_invitations import StaffInvitation, StaffInvitations
from core.accounts.store import EmailTaken
from core.errors import NotFound
from core.volunteers.profile import DisplayName
from web.account.forms import COMMON_LANGUAGES
from web.i18n import N_, language_name
from web.ngo.guard import staff_of
from web.ngo.nav import ROLE_NAMES
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

NAME_ERROR = N_("Please give your name as others will see it: 1 to 80 characters on one line.")
_NAME = TypeAdapter(DisplayName)


def _invitations(page: Visit) -> StaffInvitations:
    return StaffInvitations(page.state.sessions.client, page.state.keys)


def _asks_languages(invitation: StaffInvitation) -> bool:
    return invitation.role >= Role.REVIEWER


def _languages(values: Sequence[object]) -> list[str]:
    """The ticked languages: only the offered ones (a hand-made form adds nothing else)."""
    return [code for code in COMMON_LANGUAGES if code in values]


def _gone(page: Visit) -> Response:
    # 410 Gone: the link existed, or never did; either way it opens nothing now.
    return render(page, "ngo/invitation_gone.html", status_code=410)


async def _org_name(page: Visit, org_id: str) -> str | None:
    try:
        return (await page.state.accounts.org(org_id)).get("name", "")
    except NotFound:
        return None


async def _invitation_page(
    page: Visit,
    invitation: StaffInvitation,
    org_name: str,
    status_code: int = 200,
    name: str = "",
    name_error: str | None = None,
    languages: tuple[str, ...] = (),
) -> Response:
    has_account = await page.state.accounts.volunteer_by_email(invitation.email) is not None
    choices = [
        {
            "code": code,
            "name": language_name(code, page.language.code),
            "checked": code in languages,
        }
        for code in COMMON_LANGUAGES
    ]
    return render(
        page,
        "ngo/invitation.html",
        status_code=status_code,
        action=page.request.url.path,
        org_name=org_name,
        role_name=ROLE_NAMES[invitation.role],
        email=invitation.email,
        has_account=has_account,
        name=name,
        name_error=name_error,
        language_choices=choices if _asks_languages(invitation) else [],
    )


@router.get("/ngo/invitations/{token}")
async def open_invitation(token: str, request: Request) -> Response:
    page = await visit(request)
    invitation = await _invitations(page).peek(token)
    org_name = None if invitation is None else await _org_name(page, invitation.org_id)
    if invitation is None or org_name is None:
        return _gone(page)
    return await _invitation_page(page, invitation, org_name)


@router.post("/ngo/invitations/{token}")
async def accept_invitation(token: str, request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    invitations = _invitations(page)
    invitation = await invitations.peek(token)
    org_name = None if invitation is None else await _org_name(page, invitation.org_id)
    if invitation is None or org_name is None:
        return _gone(page)
    accounts = page.state.accounts
    volunteer_id = await accounts.volunteer_by_email(invitation.email)
    raw_name = form.get("display_name", "")
    display_name = raw_name[:300] if isinstance(raw_name, str) else ""
    languages = _languages(form.getlist("languages")) if _asks_languages(invitation) else []
    if volunteer_id is None:
        # Checked before the link is used: a mistyped name must not cost the invitation.
        try:
            display_name = _NAME.validate_python(display_name)
        except ValidationError:
            return await _invitation_page(
                page, invitation, org_name, 422, display_name, NAME_ERROR, tuple(languages)
            )
    used = await invitations.use(token)
    if used is None:
        return _gone(page)  # used by a concurrent request meanwhile
    if volunteer_id is None:
        try:
            volunteer_id, _token = await accounts.create_volunteer(
                display_name, languages, [], email=used.email
            )
        except EmailTaken:  # made meanwhile (the person joined in another tab)
            volunteer_id = await accounts.volunteer_by_email(used.email)
            if volunteer_id is None:
                return _gone(page)
    await page.begin_session(volunteer_id)
    await accounts.confirm_email(volunteer_id)
    await staff_of(page).add(used.org_id, volunteer_id, used.role, by=used.invited_by)
    accounts.forget_volunteer(volunteer_id)  # the profile read above lacks the staff flag
    return redirect(page, f"/ngo/orgs/{used.org_id}", flash="invitation_accepted")
