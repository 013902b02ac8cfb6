"""The operator's commands that go through a Ruche server over HTTP: ``certificates revoke``.

Like ``ruche invite``, they need only the server's address and the operator's token
(``--url``/``--token``, or ``RUCHE_URL`` and ``RUCHE_TOKEN``: prefer the variable, command lines
are visible to every user of the machine), no Redis. The answer goes to stdout as JSON, a
refusal to stderr with exit code 1; 2 is a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote

from producers.client import ENV_TOKEN, ENV_URL, RucheClient
from producers.errors import RucheError

__all__ = ["add_operator_commands"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

CERTIFICATES_HELP = (
    "certificates of volunteering (operator): revoke one, so that its public page "
    "/certificates/ID says it is no longer valid"
)
REVOKE_HELP = (
    "revoke the certificate ID (from its public address /certificates/ID); prints the id and "
    "when it was revoked as JSON. Revoking again changes nothing; the volunteer's page gives "
    "the same revoked certificate until their figures change"
)


def add_operator_commands(commands: Any) -> None:
    """Register ``certificates`` on ``ruche``'s sub-commands."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", default=None, help=f"Ruche server address (${ENV_URL})")
    connection.add_argument(
        "--token", default=None, help=f"the operator's token (${ENV_TOKEN}; safer)"
    )
    certificates = commands.add_parser(
        "certificates", help=CERTIFICATES_HELP, description=CERTIFICATES_HELP
    )
    actions = certificates.add_subparsers(title="actions", required=True, metavar="ACTION")
    revoke = actions.add_parser(
        "revoke", help=REVOKE_HELP, description=REVOKE_HELP, parents=[connection]
    )
    revoke.add_argument("certificate_id", metavar="ID", help="the certificate's id (crt_…)")
    revoke.set_defaults(ngo_command=_revoke)  # dispatched as the HTTP-only commands are


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _revoke(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get(ENV_URL)
    token = args.token or os.environ.get(ENV_TOKEN)
    if not url:
        _say(f"ruche: give the server's address with --url or {ENV_URL}")
        return EXIT_USAGE
    if not token:
        _say(f"ruche: give the operator's token with {ENV_TOKEN} (or --token)")
        return EXIT_USAGE
    certificate_id = str(args.certificate_id).strip()
    try:
        with RucheClient(url, token) as client:
            answer = client.request(
                "DELETE", f"/v1/certificates/{quote(certificate_id, safe='')}"
            ).json()
    except RucheError as error:
        _say(f"ruche: {error.describe()}")
        return EXIT_REFUSED
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    _say(f"ruche: certificate {certificate_id} revoked")
    return EXIT_OK
