"""Signing in by e-mailed link: ``POST /login/link`` mails one, ``/login/link/{token}`` uses it.

The form answers the same whether or not the address belongs to an account (and as fast: the
mail leaves after the answer, ``core.mail``), so it tells nobody who has one. Opening a link
(GET) only shows a "Sign in" button: mail scanners fetch the links in a mail before the person
does, and must not use them up; the button's POST uses the link (``core.accounts.links``: once,
within 15 minutes) and starts a new session.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from core.accounts.emails import normalise_email
from core.accounts.recovery import RecoveryCodes
from web import limits
from web.account.mails import email_signin_on, send_signin_link
from web.i18n import N_
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["login_page", "router", "safe_next"]

router = APIRouter(route_class=WebRoute)

EMAIL_OFF = N_(
    "Signing in by e-mail is off on this site. Use your recovery code or your volunteer key."
)
EMAIL_INVALID = N_("Please give an e-mail address such as name@example.org.")


def safe_next(target: str | None, default: str = "/work") -> str:
    """A page of this site to go to after signing in (never another site's address)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target[:500]


def login_page(page: Visit, target: str, status_code: int = 200, **errors: str) -> Response:
    return render(
        page,
        "account/login.html",
        status_code=status_code,
        next=target,
        email_signin=email_signin_on(page),
        **errors,
    )


@router.post("/login/link")
async def send_link(request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    target = safe_next(str(form.get("next", "") or ""))
    if not email_signin_on(page):
        return login_page(page, target, status_code=403, email_error=EMAIL_OFF)
    raw = form.get("email", "")
    email = normalise_email(raw[:300]) if isinstance(raw, str) else None
    if email is None:
        return login_page(page, target, status_code=422, email_error=EMAIL_INVALID)
    await limits.count(request, "signin_links")
    volunteer_id = await page.state.accounts.volunteer_by_email(email)
    if volunteer_id is not None:
        await send_signin_link(page, volunteer_id, email, target)
    return redirect(page, f"/login?next={quote(target, safe='/')}", flash="link_sent")


def _link_refused(page: Visit) -> Response:
    # 410 Gone: the link existed, or never did; either way it signs nobody in.
    return render(page, "account/link_refused.html", status_code=410)


@router.get("/login/link/{token}")
async def open_link(token: str, request: Request) -> Response:
    page = await visit(request)
    if await page.state.links.peek(token) is None:
        return _link_refused(page)
    return render(page, "account/link.html", action=request.url.path)


@router.post("/login/link/{token}")
async def use_link(token: str, request: Request) -> Response:
    page = await visit(request)
    await page.check_form()
    link = await page.state.links.use(token)
    if link is None:
        return _link_refused(page)
    await page.begin_session(link.volunteer_id)
    await page.state.accounts.confirm_email(link.volunteer_id)
    if link.welcome:
        # The account was made with this address: its recovery code comes now, shown once.
        code = await RecoveryCodes(page.state.sessions.client, page.state.keys).issue(
            link.volunteer_id
        )
        assert page.session is not None  # noqa: S101 - begin_session made it
        await page.state.sessions.put_once(page.session.token, "recovery_code", code)
        return redirect(page, "/welcome", flash="signed_in")
    return redirect(page, safe_next(link.next), flash="signed_in")
