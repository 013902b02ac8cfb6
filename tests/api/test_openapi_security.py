"""The bearer scheme in the OpenAPI document, so that Swagger UI's "Authorize" sends the token.

The document declares one HTTP bearer scheme describing the three kinds of token, and every
operation carries it as ``security`` exactly when the route refuses a caller without a token:
checked against the app itself (each operation called without a token, on a real Redis), and
against the role table of ``tests/support/api/route_cases.py`` (which kind of token it names).
The declaration is made from the routes when the document is rendered, so a new route gets it
from its ``Current…`` dependency (or its ``checks_own_token`` mark) with nothing else to write.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import Request

from api.deps import CurrentOrg, CurrentProfile, CurrentVolunteer, authenticated, checks_own_token
from api.openapi.security import SCHEME_NAME, TOKEN_KINDS
from tests.support.api.route_cases import (
    ALLOWED,
    OPERATIONS,
    OPERATOR,
    ORG,
    REVIEWERS,
    VOLUNTEERS,
    Route,
    build_app,
    route_id,
)

pytestmark = pytest.mark.anyio

DOCUMENTED = sorted(OPERATIONS)
#: The routes anyone may call (API.md): the probes, the metrics, sign-up and the task types.
OPEN = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/task-types"),
    ("POST", "/v1/volunteers"),
}
#: Which roles of the route table each kind of token is for.
ROLES_OF_KIND = {"admin": {OPERATOR}, "org": {ORG}, "vol": {VOLUNTEERS, REVIEWERS}}


def secured(operation: dict[str, Any]) -> bool:
    return "security" in operation


def test_the_document_declares_one_bearer_scheme_for_the_three_kinds_of_token() -> None:
    document = build_app().openapi()
    scheme = document["components"]["securitySchemes"][SCHEME_NAME]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    for prefix in ("rk_admin_", "rk_org_", "rk_vol_"):
        assert f"`{prefix}…`" in scheme["description"]
    # No requirement for the whole document: the open routes need none.
    assert "security" not in document


@pytest.mark.parametrize("route", DOCUMENTED, ids=route_id)
def test_an_operation_declares_the_scheme_exactly_when_it_needs_a_token(route: Route) -> None:
    operation = OPERATIONS[route]
    if route in OPEN:
        assert not secured(operation)
        assert "401" not in operation["responses"]
        return
    assert operation["security"] == [{SCHEME_NAME: []}]
    assert "401" in operation["responses"], "a route that wants a token documents its 401"
    # It names the kinds of token, and they are the ones the route table allows: every role it
    # allows holds a named kind, and every named kind is allowed.
    line = next(
        (text for text in operation["description"].splitlines() if text.startswith("Token: ")),
        "",
    )
    kinds = [kind for kind, who in TOKEN_KINDS.items() if who in line]
    assert kinds, operation["description"]
    named = {role for kind in kinds for roles in ROLES_OF_KIND[kind] for role in roles}
    assert ALLOWED[route] <= named, f"{route_id(route)} names {kinds}"
    for kind in kinds:
        kind_roles = {role for roles in ROLES_OF_KIND[kind] for role in roles}
        assert ALLOWED[route] & kind_roles, f"{route_id(route)} names {kind}, not allowed"


def test_the_open_routes_are_the_ones_the_route_table_opens_to_anyone() -> None:
    assert {route for route in DOCUMENTED if "anonymous" in ALLOWED[route]} == OPEN


@pytest.mark.parametrize("route", DOCUMENTED, ids=route_id)
async def test_an_operation_refuses_a_caller_without_token_exactly_when_it_declares_security(
    client: httpx.AsyncClient, route: Route
) -> None:
    method, template = route
    # Made-up ids and no body: a route that wants a token refuses before looking at them.
    path = re.sub(r"{\w+}", "x", template)
    response = await client.request(method, path)
    if secured(OPERATIONS[route]):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthenticated"
    else:
        assert response.status_code != 401, response.text


def test_a_new_route_gets_the_scheme_from_its_dependency_or_its_mark() -> None:
    app = build_app()

    @app.get("/v1/extra/org")
    async def for_an_org(org: CurrentOrg) -> dict[str, str]:
        return {"id": org.id}

    @app.get("/v1/extra/profile")
    async def deep(profile: CurrentProfile) -> dict[str, str]:
        return {}

    @app.post("/v1/extra/own-check")
    @checks_own_token("vol")
    async def own_check(request: Request) -> dict[str, str]:
        me = await authenticated(request, "vol")
        return {"id": me.id}

    @app.get("/v1/extra/open")
    async def open_to_all() -> dict[str, str]:
        return {}

    @app.get("/v1/extra/hidden", include_in_schema=False)
    async def hidden(me: CurrentVolunteer) -> dict[str, str]:
        return {}

    paths = app.openapi()["paths"]
    assert paths["/v1/extra/org"]["get"]["security"] == [{SCHEME_NAME: []}]
    assert f"Token: {TOKEN_KINDS['org']}." in paths["/v1/extra/org"]["get"]["description"]
    assert paths["/v1/extra/profile"]["get"]["security"] == [{SCHEME_NAME: []}]
    assert f"Token: {TOKEN_KINDS['vol']}." in paths["/v1/extra/own-check"]["post"]["description"]
    assert not secured(paths["/v1/extra/open"]["get"])
    assert "/v1/extra/hidden" not in paths
