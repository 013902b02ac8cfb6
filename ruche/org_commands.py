"""``ruche org create NAME CONTACT_EMAIL``: the operator makes an organisation, straight on
Redis (RUCHE_REDIS_URL), as ``POST /v1/orgs`` does: its first API key is printed (once), and
``CONTACT_EMAIL`` is mailed an invitation to its staff as first owner (the NGO console,
``/ngo``). Without a mail server in development, the mail goes to the log as ``mail.not_sent``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import redis.asyncio
from pydantic import TypeAdapter, ValidationError

from core.accounts.staff_invitations import StaffInvitations
from core.accounts.store import Accounts
from core.mail import Mailer
from core.redis.keys import Keys
from core.settings import Settings

__all__ = ["add_org_commands"]

EXIT_OK, EXIT_FAILED = 0, 1


def add_org_commands(commands: Any) -> None:
    org = commands.add_parser(
        "org",
        help="organisations: create one and invite its first owner (operator)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    actions = org.add_subparsers(title="actions", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="create an organisation; its contact address is invited as first owner"
    )
    create.add_argument("name", help="the organisation's name")
    create.add_argument("contact_email", help="who runs it: invited to its staff as owner")
    create.set_defaults(org_action=_create)


def _check(name: str, contact_email: str) -> tuple[str, str] | None:
    from api.routes.orgs import OrgCreate  # the API's own rules on both fields

    try:
        body = TypeAdapter(OrgCreate).validate_python(
            {"name": name, "contact_email": contact_email}
        )
    except ValidationError as error:
        fields = sorted({str(problem["loc"][0]) for problem in error.errors()})
        print(f"ruche: not valid: {', '.join(fields)}", file=sys.stderr)
        return None
    return body.name, body.contact_email


def _create(settings: Settings, args: argparse.Namespace) -> int:
    checked = _check(args.name, args.contact_email)
    if checked is None:
        return EXIT_FAILED
    name, contact_email = checked
    return asyncio.run(_create_async(settings, name, contact_email))


async def _create_async(settings: Settings, name: str, contact_email: str) -> int:
    from web.ngo.first_owner import invite_first_owner_with

    keys = Keys(settings.key_prefix)
    client = redis.asyncio.Redis.from_url(str(settings.redis_url), decode_responses=True)
    try:
        org_id, api_key = await Accounts(client, keys, None).create_org(name, contact_email)
        invited = await invite_first_owner_with(
            StaffInvitations(client, keys),
            Mailer(settings),
            settings,
            f"http://{settings.host}:{settings.port}",
            org_id=org_id,
            org_name=name,
            contact_email=contact_email,
            wait=True,
        )
    finally:
        await client.aclose()
    print(json.dumps({"id": org_id, "name": name, "api_key": api_key}, indent=2))
    if invited:
        print(
            f"ruche: {contact_email} is invited as owner (the link works for a week)",
            file=sys.stderr,
        )
    else:
        print(
            "ruche: no invitation could be mailed (no mail server, or no RUCHE_PUBLIC_URL in "
            "production)",
            file=sys.stderr,
        )
    return EXIT_OK
