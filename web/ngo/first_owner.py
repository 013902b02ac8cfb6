"""A new organisation's first owner: its ``contact_email`` is invited to its staff as owner (by
the operator's ``POST /v1/orgs``, and ``ruche org create``)."""

from __future__ import annotations

from typing import cast

import structlog
from fastapi import FastAPI, Request

from core.accounts.emails import normalise_email
from core.accounts.staff import Role
from core.accounts.staff_invitations import StaffInvitations
from core.mail import Mailer
from core.redis.keys import Keys
from core.settings import Settings
from web.i18n import language
from web.ngo.mails import invitation_base, invite_by_mail

__all__ = ["invite_first_owner", "invite_first_owner_with"]

log = structlog.get_logger(__name__)


async def invite_first_owner_with(
    invitations: StaffInvitations,
    mailer: Mailer,
    settings: Settings,
    request_base: str | None,
    *,
    org_id: str,
    org_name: str,
    contact_email: str,
    wait: bool = False,
) -> bool:
    """Mails the invitation; False (and a log line) when no mail can carry it: no mail server
    in production, no trusted address for the link, or a contact address that is not one."""
    email = normalise_email(contact_email)
    base = invitation_base(settings, request_base)
    if email is None or base is None or not mailer.enabled:
        log.warning("org.owner_not_invited", org_id=org_id, mail_on=mailer.enabled)
        return False
    await invite_by_mail(
        invitations=invitations,
        mailer=mailer,
        base=base,
        language=language("en"),
        org_id=org_id,
        org_name=org_name,
        email=email,
        role=Role.OWNER,
        invited_by="admin",
        inviter_name=None,
        wait=wait,
    )
    return True


async def invite_first_owner(
    app: FastAPI, org_id: str, org_name: str, contact_email: str, request: Request
) -> bool:
    """:func:`invite_first_owner_with` with the app's mailer (the mail leaves in the
    background, after the answer)."""
    web = app.state.web
    settings = cast(Settings, app.state.settings)
    return await invite_first_owner_with(
        StaffInvitations(app.state.redis, cast(Keys, app.state.keys)),
        cast(Mailer, web.mailer),
        settings,
        str(request.base_url),
        org_id=org_id,
        org_name=org_name,
        contact_email=contact_email,
    )
