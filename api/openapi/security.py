"""The bearer scheme in the OpenAPI document, and on every operation that needs a token.

One HTTP bearer scheme, ``bearerAuth``, describes the three kinds of token; each operation whose
route wants one (:func:`api.deps.token_kind`: a ``Current…`` dependency, or the hot routes' own
check) carries it as its ``security`` and says which kind in its description. Routes anyone may
call (the probes, the metrics, sign-up, the task types) carry none. So Swagger UI's "Authorize"
sends the token to exactly the operations that need one, and a generated client knows which.

All of it is written when the document is rendered: a request pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from api.deps import token_kind

__all__ = ["SCHEME", "SCHEME_NAME", "TOKEN_KINDS", "add_security"]

SCHEME_NAME = "bearerAuth"

#: Who holds each kind of token, as an operation's description names it.
TOKEN_KINDS = {
    "admin": "the operator's (`rk_admin_…`)",
    "org": "an NGO's API key (`rk_org_…`)",
    "vol": "a volunteer's (`rk_vol_…`; a reviewer uses their own)",
}

SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "`Authorization: Bearer <token>`, never in a query string. Three kinds of token, told "
        "apart by their prefix:\n\n"
        "- `rk_admin_…`: the operator's (`RUCHE_ADMIN_TOKEN`, or the one `ruche up` prints "
        "when that is not set), to create organisations;\n"
        "- `rk_org_…`: an NGO's API key (`POST /v1/orgs` shows the first one once, "
        "`POST /v1/org/keys` makes more), for its projects, tasks, results and webhook;\n"
        "- `rk_vol_…`: a volunteer's (`POST /v1/volunteers` shows it once), to claim, answer "
        "and, with review rights, review.\n\n"
        "Each operation says which kind it wants. A missing, malformed, unknown or revoked token "
        "gets 401; a token of another kind 403."
    ),
}


def add_security(document: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """The scheme into ``components``, and a ``security`` requirement (with a line saying
    which token) into the operation of every documented route that wants a token."""
    document.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME_NAME] = SCHEME
    # Each route as the document has it: an included router's with its prefix and its
    # router's dependencies (FastAPI keeps included routers as a tree, not a flat list).
    for route in iter_route_contexts(list(routes)):
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        kinds = token_kind(route)
        if kinds is None:
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            operation["security"] = [{SCHEME_NAME: []}]
            needs = "Token: " + " or ".join(TOKEN_KINDS[kind] for kind in kinds) + "."
            described = operation.get("description")
            operation["description"] = f"{described}\n\n{needs}" if described else needs
