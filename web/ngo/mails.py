"""The staff invitation mail: who invites whom to which organisation, with which role, and the
link that accepts it (``/ngo/invitations/{token}``, good for a week, once).

Sent by the console's people page (an owner invites), by the operator's ``POST /v1/orgs`` and by
``ruche org create`` (the organisation's ``contact_email`` is invited as its first owner). The
link points at ``RUCHE_PUBLIC_URL``; without it, outside production only, at the address the
request came to (the API) or the one ``ruche up`` listens on (the command): in production the
Host header is the visitor's to choose (see :mod:`web.account.mails`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.accounts.staff import Role
from core.accounts.staff_invitations import STAFF_INVITATION_TTL_SECONDS, StaffInvitations
from core.mail import Mailer
from core.settings import Settings
from web.i18n import N_, Language
from web.ngo.nav import ROLE_NAMES

__all__ = ["invitation_base", "invite_by_mail"]

_SUBJECT = N_("You are invited to run %(org)s on %(site)s")
_BODY = N_(
    "Hello,\n\n"
    "%(inviter)s invites you to the staff of %(org)s on %(site)s, as %(role)s.\n\n"
    "To accept, open this link within %(days)s days:\n\n"
    "%(link)s\n\n"
    "The link works once. It signs you in with this address (and makes your account if you "
    "have none yet). If you did not expect this invitation, you can ignore this mail.\n"
)
_OPERATOR = N_("The operator of the site")


def invitation_base(settings: Settings, request_base: str | None) -> str | None:
    """Where the link points (no trailing slash), or None when that cannot be trusted."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.env == "production" or not request_base:
        return None
    return request_base.rstrip("/")


async def invite_by_mail(
    *,
    invitations: StaffInvitations,
    mailer: Mailer,
    base: str,
    language: Language,
    org_id: str,
    org_name: str,
    email: str,
    role: Role,
    invited_by: str,
    inviter_name: str | None,
    wait: bool = False,
) -> None:
    """Issues the invitation and mails it to ``email`` (normalised); in the background unless
    ``wait`` (a command that ends right after)."""
    token = await invitations.issue(org_id, email, role, invited_by)
    words = {
        "inviter": inviter_name or language.gettext(_OPERATOR),
        "org": org_name,
        "site": urlsplit(base).netloc,
        "role": language.gettext(ROLE_NAMES[role]).lower(),
        "days": str(STAFF_INVITATION_TTL_SECONDS // 86_400),
        "link": f"{base}/ngo/invitations/{token}",
    }
    subject, body = language.gettext(_SUBJECT, **words), language.gettext(_BODY, **words)
    if wait:
        await mailer.send(email, subject, body)
    else:
        mailer.send_soon(email, subject, body)
