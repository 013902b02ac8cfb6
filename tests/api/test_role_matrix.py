"""Who may call what: every route of the app's OpenAPI document, against every kind of caller.

Roles: ``anonymous`` (no token), ``admin`` (the operator's token), ``org`` (an NGO's key),
``volunteer``, and ``reviewer`` (a volunteer with review rights). ``ALLOWED`` in
``tests/support/api/route_cases.py`` says which roles may call each route; a route missing from
it fails here (default deny). For each route, on a seeded tenant (``tests/support/api/tenants.py``):

- every refused role gets exactly the refusal API.md describes: anonymous the one identical
  401 body; a token of the wrong kind 403 ``forbidden`` naming the kinds of token the route
  takes (or, where the table says so, the refusal the API gives instead); never a 2xx or a 5xx,
  and nothing in the store changes;
- every allowed role, calling with the case's valid body on its own objects, succeeds with a
  status the OpenAPI document promises.

Then the token rules themselves: a token in a query string is never accepted, a revoked key is
refused exactly like an unknown one, and so is every malformed Authorization header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio

from api.deps import Unauthenticated, WrongKindOfToken
from core.accounts.tokens import new_token
from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN, Actors, AppClient
from tests.support.api.route_cases import (
    ALLOWED,
    CASES,
    ROLES,
    ROUTE_TABLES,
    ROUTES,
    Route,
    build_app,
    call,
    expected_refusal,
    fill,
    headers_of,
    own_values,
    path_params,
    read_routes,
    route_id,
    success_statuses,
    table_problems,
)
from tests.support.api.tenants import Tenant, changes, seed_tenant, snapshot

pytestmark = pytest.mark.anyio

UNAUTHENTICATED = Unauthenticated().to_body()
#: The kind of token each role holds (a reviewer is a volunteer with review rights).
TOKEN_KINDS = {"admin": "admin", "org": "org", "volunteer": "vol", "reviewer": "vol"}


def wrong_kind(route: Route) -> dict[str, Any]:
    """The 403 for a token of the wrong kind: it names the kinds of token the route takes."""
    return WrongKindOfToken(
        {TOKEN_KINDS[role] for role in ALLOWED[route] if role in TOKEN_KINDS}
    ).to_body()


DEFAULT_REFUSALS = {(401, "unauthenticated"), (403, "forbidden")}
BAD_BODIES = [b"", b'{"junk": [1, 2, 3]}', b"{not json", b'{"name": ', b"\xff\xfe\x00"]
PROTECTED = [route for route in ROUTES if "anonymous" not in ALLOWED.get(route, {"anonymous"})]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def tenant(api: httpx.AsyncClient, actors: Actors, store: redis.asyncio.Redis) -> Tenant:
    return await seed_tenant(api, actors, store, "A")


@pytest.fixture
async def unauthenticated(api: httpx.AsyncClient) -> bytes:
    """The one 401 body, byte for byte, as a protected route gives it to a caller without token."""
    response = await api.get("/v1/org")
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    return response.content


@pytest.fixture
async def forbidden(api: httpx.AsyncClient, tenant: Tenant) -> bytes:
    """The one 403 body for a token of the wrong kind, byte for byte."""
    response = await api.get("/v1/org", headers=tenant.volunteer.headers)
    assert response.status_code == 403
    assert response.json() == wrong_kind(("GET", "/v1/org"))
    assert response.json()["error"]["message"] == (
        "this route needs an organisation's API key (rk_org_…)"
    )
    return response.content


def error_code(response: httpx.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None


def test_every_route_of_the_app_is_in_the_tables() -> None:
    problems = table_problems()
    assert not problems, f"the route tables ({ROUTE_TABLES}) are out of date:\n" + "\n".join(
        problems
    )


def test_a_new_route_missing_from_the_tables_is_named() -> None:
    app = build_app()

    @app.post("/v1/projects/{project_id}/archive")
    async def archive(project_id: str, body: dict[str, str]) -> dict[str, str]:
        return body

    problems = table_problems(*read_routes(app))
    assert problems == [
        "POST /v1/projects/{project_id}/archive: no entry in ALLOWED (who may call it?)",
        "POST /v1/projects/{project_id}/archive: no entry in CASES (how is it called?)",
    ]


def test_the_public_routes_are_exactly_the_documented_ones() -> None:
    public = {route_id(r) for r in ROUTES if "anonymous" in ALLOWED.get(r, set())}
    assert public == {
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
        "GET /docs",
        "GET /docs/oauth2-redirect",
        "GET /redoc",
        "GET /v1/task-types",
        "POST /v1/volunteers",  # open sign-up (an operator setting can close it)
    }


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_each_role_gets_exactly_what_the_table_allows(
    route: Route,
    api: httpx.AsyncClient,
    tenant: Tenant,
    store: redis.asyncio.Redis,
    unauthenticated: bytes,
    forbidden: bytes,
) -> None:
    if route not in ALLOWED or route not in CASES:
        pytest.fail(
            f"{route_id(route)} is not in ALLOWED/CASES ({ROUTE_TABLES}): "
            "default deny, say who may call it"
        )
    allowed = ALLOWED[route]

    for role in ROLES:
        if role in allowed:
            continue
        status, code = expected_refusal(route, role)
        before = await snapshot(store)
        response = await call(
            api, route, own_values(route, tenant, role), headers_of(tenant, role), tenant
        )
        assert (response.status_code, error_code(response)) == (status, code), (
            route_id(route), role, response.status_code, response.text,
        )  # fmt: skip
        if status == 401:
            assert response.content == unauthenticated, (role, response.text)
        elif code == "forbidden":
            assert response.json() == wrong_kind(route), (role, response.text)
        assert changes(before, await snapshot(store)) == [], (route_id(route), role)

    # The token check comes first: whatever the body (none, junk, not even JSON) and the ids.
    junk_path = fill(route, dict.fromkeys(path_params(route), "x"))
    for role in ROLES:
        if role in allowed or expected_refusal(route, role) not in DEFAULT_REFUSALS:
            continue
        before = await snapshot(store)
        for content in BAD_BODIES:
            headers = {**headers_of(tenant, role), "Content-Type": "application/json"}
            response = await api.request(route[0], junk_path, content=content, headers=headers)
            expected = UNAUTHENTICATED if role == "anonymous" else wrong_kind(route)
            assert (response.status_code, response.json()) == (
                expected_refusal(route, role)[0], expected,
            ), (route_id(route), role, content, response.text)  # fmt: skip
            if role == "anonymous":
                assert response.content == unauthenticated
        assert changes(before, await snapshot(store)) == []

    case = CASES[route]
    if case.prepare is not None:
        await case.prepare(api, tenant)
    for role in ROLES:
        if role not in allowed:
            continue
        response = await call(
            api, route, own_values(route, tenant, role), headers_of(tenant, role), tenant
        )
        assert response.status_code in success_statuses(route), (
            route_id(route), role, response.status_code, response.text,
        )  # fmt: skip


QUERY_NAMES = ("token", "access_token", "api_key", "apikey", "key", "auth", "authorization")


async def test_a_token_in_the_query_string_is_never_accepted(
    api: httpx.AsyncClient, tenant: Tenant, store: redis.asyncio.Redis, unauthenticated: bytes
) -> None:
    before = await snapshot(store)
    for route in PROTECTED:
        for role in sorted(ALLOWED[route]):
            token = headers_of(tenant, role)["Authorization"].removeprefix("Bearer ")
            for name in QUERY_NAMES:
                value = f"Bearer {token}" if name == "authorization" else token
                response = await call(
                    api, route, own_values(route, tenant, role), {}, tenant, params={name: value}
                )
                assert response.status_code == 401, (route_id(route), name, response.text)
                assert response.content == unauthenticated
    assert changes(before, await snapshot(store)) == []


async def test_a_revoked_org_key_is_refused_exactly_like_an_unknown_one(
    api: httpx.AsyncClient, tenant: Tenant, store: redis.asyncio.Redis, unauthenticated: bytes
) -> None:
    spare = {"Authorization": f"Bearer {tenant.spare_token}"}
    revoked = await api.delete(f"/v1/org/keys/{tenant.key_ids[0]}", headers=spare)
    assert revoked.status_code == 204, revoked.text
    unknown = {"Authorization": f"Bearer {new_token('org')}"}
    before = await snapshot(store)
    for route in PROTECTED:
        for headers in (tenant.org, unknown):
            response = await call(api, route, own_values(route, tenant, "org"), headers, tenant)
            assert response.status_code == 401, (route_id(route), response.text)
            assert response.content == unauthenticated
    assert changes(before, await snapshot(store)) == []
    assert (await api.get("/v1/org", headers=spare)).status_code == 200


def bad_authorizations(tenant: Tenant) -> list[bytes]:
    org_token = tenant.org["Authorization"].removeprefix("Bearer ")
    vol_token = tenant.volunteer.headers["Authorization"].removeprefix("Bearer ")
    body = org_token.removeprefix("rk_org_")
    flipped = body[:-7] + ("A" if body[-7] != "A" else "B") + body[-6:]
    values = [
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic dXNlcjpwYXNzd29yZA==",
        f"Token {org_token}",
        org_token,  # no scheme
        f"Bearer{org_token}",
        f"Bearer {org_token}x",
        f"Bearer {org_token[:-1]}",
        f"Bearer rk_org_{flipped}",  # checksum no longer matches
        f"Bearer rk_vol_{body}",  # another kind's prefix on an org key
        f"Bearer rk_org_{vol_token.removeprefix('rk_vol_')}",
        f"Bearer {org_token}, Bearer {org_token}",
        f"Bearer {ADMIN_TOKEN}x",
        "Bearer rk_admin_short",
        "Bearer rk_admin_" + "t" * 39,
        "Bearer rk_",
        "Bearer rk_root_" + "x" * 49,
        "Bearer " + "x" * 5000,
        f"Bearer {new_token('vol')}",
    ]
    encoded = [value.encode() for value in values]
    return [*encoded, b"Bearer rk_org_\xe9\xe9\xe9", b"Bearer \xff\xfe"]


async def test_every_malformed_or_unknown_token_gets_the_same_401(
    api: httpx.AsyncClient, tenant: Tenant, store: redis.asyncio.Redis, unauthenticated: bytes
) -> None:
    before = await snapshot(store)
    for route in PROTECTED:
        role = sorted(ALLOWED[route])[0]
        values = own_values(route, tenant, role)
        body = CASES[route].body
        for authorization in bad_authorizations(tenant):
            response = await api.request(
                route[0],
                fill(route, values),
                headers={b"Authorization": authorization},
                json=body(tenant) if body else None,
                params=CASES[route].query or None,
            )
            assert response.status_code == 401, (route_id(route), authorization, response.text)
            assert response.content == unauthenticated
    assert changes(before, await snapshot(store)) == []


async def test_the_operator_token_is_refused_where_none_is_configured(
    redis_client: object, redis_url: str, make_client: AppClient, unauthenticated: bytes
) -> None:
    async with make_client(Settings(redis_url=redis_url, admin_token=None)) as bare:
        body = {"name": "Water for all", "contact_email": "a@b.org"}
        response = await bare.post("/v1/orgs", json=body, headers=ADMIN)
    assert response.status_code == 401
    assert response.content == unauthenticated
