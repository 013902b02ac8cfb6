"""``/`` (what this is), ``/join``, ``/login``, ``/logout`` and ``/charter`` (and, from
:mod:`web.account.signin`, signing in by e-mailed link).

Joining: without an e-mail address the person is signed in at once and shown a recovery code
once. With one, nobody is signed in by the form: a link is mailed to the address, and following
it signs the person in (and shows the recovery code). An address already known gets a sign-in
link to its account instead, and the form's answer is the same page: joining tells nobody whether
an address has an account, and makes no second account for it.

With ``RUCHE_SIGNUP=invitation``, ``/join`` needs ``?invite=CODE`` (carried by the form in a
hidden field); the code is checked when the page opens and used when the account is made. With
open sign-up a code is optional, checked and used the same way: an organisation's invitation
also opens its invitation-only projects to the new account (``Invitations.admit``). Someone
already signed in who follows an invitation link accepts it on ``/join/invitation``
(:mod:`web.account.accept_invitation`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.accounts.charter import accepted_current
from core.accounts.recovery import RecoveryCodes
from core.accounts.store import EmailTaken
from core.accounts.tokens import parse_token
from core.errors import InvitationRefused
from core.settings import Settings
from web import limits
from web.account import accept_invitation, signin
from web.account.forms import JoinForm, language_choices
from web.account.mails import email_signin_on, send_signin_link
from web.account.signin import login_page, safe_next
from web.i18n import N_
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["router", "safe_next"]

router = APIRouter(route_class=WebRoute)
router.include_router(signin.router)
router.include_router(accept_invitation.router)

#: What the join page says of an invitation code that opens nothing, by reason.
INVITATION_REFUSALS = {
    "unknown": N_(
        "This invitation code is not valid: check the link you were sent, or ask for a new one."
    ),
    "used_up": N_(
        "This invitation has been used as many times as it allows. Ask the person who invited "
        "you for a new one."
    ),
    "expired": N_("This invitation has expired. Ask the person who invited you for a new one."),
}


def _settings(page: Visit) -> Settings:
    return page.state.settings


def _recovery(page: Visit) -> RecoveryCodes:
    return RecoveryCodes(page.state.sessions.client, page.state.keys)


@router.get("/")
async def home(request: Request) -> Response:
    page = await visit(request)
    return render(page, "account/home.html")


def _join_page(
    page: Visit,
    form: JoinForm,
    status_code: int = 200,
    invitation_error: str | None = None,
) -> Response:
    invitation_only = _settings(page).signup == "invitation"
    return render(
        page,
        "account/join.html",
        status_code=status_code,
        form=form,
        language_choices=language_choices(form.languages, page.language.code),
        # By invitation: the form is shown only with a code that opens it.
        show_form=not invitation_only or (bool(form.invite) and invitation_error is None),
        invitation_only=invitation_only,
        invitation_error=invitation_error,
        email_signin=email_signin_on(page),
    )


@router.get("/join")
async def join_form(request: Request) -> Response:
    page = await visit(request)
    form = JoinForm(invite=request.query_params.get("invite", "")[:100].strip())
    if page.signed_in:
        if form.invite:
            return redirect(page, accept_invitation.accept_path(form.invite))
        return redirect(page, "/work")
    if form.invite:
        try:
            await page.state.invitations.check(form.invite)
        except InvitationRefused as refused:
            if _settings(page).signup == "invitation":
                return _join_page(page, form, 403, INVITATION_REFUSALS[refused.reason])
            # Open sign-up: they may still join, without what the code would have opened.
            form.invite = ""
            return _join_page(page, form, invitation_error=INVITATION_REFUSALS[refused.reason])
    return _join_page(page, form)


@router.post("/join")
async def join(request: Request) -> Response:
    page = await visit(request)
    form = JoinForm.read(await page.check_form())
    if _settings(page).signup == "invitation" and not form.invite:
        return _join_page(page, form, status_code=403)
    if not email_signin_on(page):
        form.email = ""  # the field is not shown: nothing to check or keep
    new = form.checked()
    if new is None:
        return _join_page(page, form, status_code=422)
    # Counted once the form is valid: only what would make an account (web.limits).
    await limits.count(request, "signup")
    by_invitation = bool(form.invite)
    invitation = None
    if by_invitation:
        try:
            invitation = await page.state.invitations.redeem(form.invite)
        except InvitationRefused as refused:
            return _join_page(page, form, 403, INVITATION_REFUSALS[refused.reason])
    email = form.normalised_email
    try:
        volunteer_id, _api_token = await page.state.accounts.create_volunteer(
            new.display_name, new.languages, new.skills, email=email
        )
    except EmailTaken:
        # Someone holds this address (perhaps this very person, joining again): their account
        # gets a sign-in link, and this page answers as it does for a new account.
        assert email is not None  # noqa: S101 - only an address can be taken
        if by_invitation:
            await page.state.invitations.give_back(form.invite)
        existing = await page.state.accounts.volunteer_by_email(email)
        if existing is not None:
            await send_signin_link(page, existing, email, "/work")
        return redirect(page, "/join/check-mail")
    if invitation is not None:
        await page.state.invitations.admit(volunteer_id, invitation)
    if email is not None:
        await send_signin_link(page, volunteer_id, email, "/welcome", welcome=True)
        return redirect(page, "/join/check-mail")
    code = await _recovery(page).issue(volunteer_id)
    await page.begin_session(volunteer_id)
    assert page.session is not None  # noqa: S101 - begin_session made it
    await page.state.sessions.put_once(page.session.token, "recovery_code", code)
    return redirect(page, "/welcome")


@router.get("/join/check-mail")
async def check_mail(request: Request) -> Response:
    """After joining with an e-mail address: the link is on its way."""
    page = await visit(request)
    return render(page, "account/check_mail.html")


@router.get("/welcome")
async def welcome(request: Request) -> Response:
    """The recovery code, shown once after joining (a reload shows it no more)."""
    page = await visit(request)
    person = page.person
    assert page.session is not None  # noqa: S101 - person implies a session
    code = await page.state.sessions.take_once(page.session.token, "recovery_code")
    return render(page, "account/welcome.html", code=code, name=person.display_name)


@router.get("/login")
async def login_form(request: Request) -> Response:
    page = await visit(request)
    return login_page(page, safe_next(request.query_params.get("next")))


@router.post("/login/code")
async def login_with_code(request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    raw = form.get("code", "")
    code = raw.strip()[:300] if isinstance(raw, str) else ""
    target = safe_next(str(form.get("next", "") or ""))
    # An address out of tries is refused before its code is tried (web.limits).
    await limits.refuse_if_past(request, "unauthenticated")
    volunteer_id: str | None = None
    if parse_token(code) is not None:
        principal = await page.state.accounts.authenticate(code)
        if principal is not None and principal.kind == "vol":
            volunteer_id = principal.id
    else:
        volunteer_id = await _recovery(page).find(code)
    if volunteer_id is None:
        await limits.count_failure(request, "unauthenticated")
        return login_page(
            page,
            target,
            status_code=400,
            code_error=N_("This code does not open any account. Check it and try again."),
        )
    await page.begin_session(volunteer_id)
    return redirect(page, target, flash="signed_in")


@router.get("/logout")
async def logout_form(request: Request) -> Response:
    page = await visit(request)
    if not page.signed_in:
        return redirect(page, "/")
    return render(page, "account/logout.html")


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    everywhere = form.get("everywhere") == "1"
    await page.end_session(everywhere=everywhere)
    return redirect(page, "/", flash="signed_out_everywhere" if everywhere else "signed_out")


@router.get("/charter")
async def charter(request: Request) -> Response:
    """The operator's charter: the built-in text in the reader's language, or the operator's
    own text (``PUT /v1/charter``) as written. A new version asks for acceptance again."""
    page = await visit(request)
    person = page.person
    charters = page.state.charters
    current = await charters.operator()
    return render(
        page,
        "account/charter.html",
        charter=current,
        paragraphs=[part.strip() for part in current.text.split("\n\n") if part.strip()],
        accepted=await accepted_current(charters, person.extra, person.charter_accepted_at_ms),
        accepted_before=person.charter_accepted_at_ms is not None,
        next=safe_next(request.query_params.get("next")),
    )


@router.post("/charter")
async def accept_charter(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = await page.check_form()
    await page.state.accounts.accept_charter(person.id)
    return redirect(page, safe_next(str(form.get("next", "") or "")), flash="charter_accepted")
