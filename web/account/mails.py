"""The mails the account pages send, in the person's UI language (plain text), and where their
links point.

Links use ``RUCHE_PUBLIC_URL``; without it, the address the request came to, but only outside
production: there, the Host header is the visitor's to choose, and a sign-in link built from it
could be mailed pointing at another site (the token would then go to whoever runs it). In
production without a public URL, e-mail sign-in is off, as it is without a mail server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.accounts.links import LINK_TTL_SECONDS
from web.i18n import N_
from web.visit import Visit

__all__ = ["email_signin_on", "link_base", "send_signin_link"]

_SIGN_IN_SUBJECT = N_("Your sign-in link for %(site)s")
_SIGN_IN_BODY = N_(
    "Hello %(name)s,\n\n"
    "To sign in to %(site)s, open this link within %(minutes)s minutes:\n\n"
    "%(link)s\n\n"
    "The link works once. If you did not ask for it, you can ignore this mail: nobody can "
    "sign in without the link.\n"
)
_WELCOME_SUBJECT = N_("Welcome to %(site)s: confirm your address")
_WELCOME_BODY = N_(
    "Hello %(name)s,\n\n"
    "Thank you for joining %(site)s. To confirm your address and sign in, open this link "
    "within %(minutes)s minutes:\n\n"
    "%(link)s\n\n"
    "The link works once. Later, you can ask for a new one at any time on the sign-in page:\n"
    "%(login)s\n\n"
    "If you did not join, you can ignore this mail.\n"
)


def link_base(page: Visit) -> str | None:
    """Where links in mails point (no trailing slash), or None when that cannot be trusted."""
    settings = page.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.env == "production":
        return None
    return str(page.request.base_url).rstrip("/")


def email_signin_on(page: Visit) -> bool:
    """Whether this site signs people in by e-mail (a mail server, or development's log)."""
    return page.state.mailer.enabled and link_base(page) is not None


async def send_signin_link(
    page: Visit, volunteer_id: str, email: str, next_page: str, *, welcome: bool = False
) -> None:
    """Mails ``email`` a new sign-in link to ``volunteer_id``'s account, unless the address had
    its share of links lately (then nothing: the page says the same either way)."""
    base = link_base(page)
    if base is None or not await page.state.links.may_send(email):
        return
    token = await page.state.links.issue(volunteer_id, next_page, welcome=welcome)
    person = await page.state.accounts.volunteer(volunteer_id)
    words = {
        "name": person.display_name,
        "site": urlsplit(base).netloc,
        "minutes": str(LINK_TTL_SECONDS // 60),
        "link": f"{base}/login/link/{token}",
        "login": f"{base}/login",
    }
    subject, body = (
        (_WELCOME_SUBJECT, _WELCOME_BODY) if welcome else (_SIGN_IN_SUBJECT, _SIGN_IN_BODY)
    )
    language = page.language
    page.state.mailer.send_soon(
        email, language.gettext(subject, **words), language.gettext(body, **words)
    )
