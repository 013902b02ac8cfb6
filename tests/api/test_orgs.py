"""Organisations: operator creation, the org's own profile, API key rotation, and auth refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.accounts.tokens import new_token
from tests.support.api.client import ADMIN, Actors
from tests.support.api.ngo import volunteer_token

pytestmark = pytest.mark.anyio


async def test_an_operator_creates_an_organisation_and_its_key_works(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/orgs", json={"name": "Helping Hands", "contact_email": "ops@hh.org"}, headers=ADMIN
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "api_key"}
    assert body["id"].startswith("org_") and body["name"] == "Helping Hands"
    assert body["api_key"].startswith("rk_org_")
    profile = await api.get("/v1/org", headers={"Authorization": f"Bearer {body['api_key']}"})
    assert profile.status_code == 200
    assert profile.json()["id"] == body["id"]
    assert profile.json()["contact_email"] == "ops@hh.org"
    assert "api_key" not in profile.json()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X"},
        {"name": "", "contact_email": "a@b.org"},
        {"name": "X", "contact_email": "not-an-email"},
        {"name": "X" * 201, "contact_email": "a@b.org"},
        {"name": "X", "contact_email": "a@b.org", "plan": "gold"},
    ],
)
async def test_org_creation_refuses_invalid_bodies(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await api.post("/v1/orgs", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


async def test_only_an_operator_creates_organisations(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    _, org = await actors.org()
    _, volunteer = await volunteer_token(redis_url)
    body = {"name": "Sneaky", "contact_email": "a@b.org"}
    for headers in (org, volunteer):
        response = await api.post("/v1/orgs", json=body, headers=headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert (await api.post("/v1/orgs", json=body)).status_code == 401


async def test_org_routes_refuse_volunteer_and_operator_tokens(
    api: httpx.AsyncClient, redis_url: str
) -> None:
    _, volunteer = await volunteer_token(redis_url)
    for headers in (volunteer, ADMIN):
        for method, path in [
            ("GET", "/v1/org"),
            ("GET", "/v1/org/keys"),
            ("POST", "/v1/org/keys"),
            ("GET", "/v1/projects"),
            ("GET", "/v1/webhook"),
        ]:
            response = await api.request(method, path, headers=headers)
            assert response.status_code == 403, (method, path)


async def test_unauthenticated_bodies_are_identical_however_the_token_is_wrong(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, org = await actors.org()
    rotated = (await api.post("/v1/org/keys", headers=org)).json()
    revoked_token = org["Authorization"]
    old_key_id = next(
        k["key_id"]
        for k in (await api.get("/v1/org/keys", headers=org)).json()
        if k["key_id"] != rotated["key_id"]
    )
    new = {"Authorization": f"Bearer {rotated['api_key']}"}
    assert (await api.delete(f"/v1/org/keys/{old_key_id}", headers=new)).status_code == 204

    attempts = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer rk_org_" + "A" * 49},  # bad checksum
        {"Authorization": f"Bearer {new_token('org')}"},  # well formed, unknown
        {"Authorization": f"Bearer {new_token('vol')}"},
        {"Authorization": revoked_token},
    ]
    bodies = set()
    for headers in attempts:
        for path in ("/v1/org", "/v1/projects", "/v1/webhook/deliveries"):
            response = await api.get(path, headers=headers)
            assert response.status_code == 401, (headers, path)
            bodies.add(response.content)
    assert len(bodies) == 1
    assert (await api.get("/v1/org", headers=new)).status_code == 200


async def test_key_rotation_allows_two_live_keys_and_revocation_is_immediate(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, first = await actors.org()
    created = await api.post("/v1/org/keys", headers=first)
    assert created.status_code == 201
    assert set(created.json()) == {"key_id", "api_key"}
    second = {"Authorization": f"Bearer {created.json()['api_key']}"}
    assert (await api.get("/v1/org", headers=second)).status_code == 200

    third = await api.post("/v1/org/keys", headers=first)
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "too_many_keys"

    listed = (await api.get("/v1/org/keys", headers=second)).json()
    assert len(listed) == 2
    assert all(set(k) == {"key_id", "created_at", "revoked_at"} for k in listed)
    first_id = next(k["key_id"] for k in listed if k["key_id"] != created.json()["key_id"])

    assert (await api.delete(f"/v1/org/keys/{first_id}", headers=second)).status_code == 204
    assert (await api.get("/v1/org", headers=first)).status_code == 401
    after = {k["key_id"]: k for k in (await api.get("/v1/org/keys", headers=second)).json()}
    assert after[first_id]["revoked_at"] is not None
    assert after[created.json()["key_id"]]["revoked_at"] is None
    # a revoked key frees its slot
    assert (await api.post("/v1/org/keys", headers=second)).status_code == 201


async def test_the_last_live_key_cannot_be_revoked(api: httpx.AsyncClient, actors: Actors) -> None:
    _, org = await actors.org()
    (key,) = (await api.get("/v1/org/keys", headers=org)).json()
    response = await api.delete(f"/v1/org/keys/{key['key_id']}", headers=org)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_key"
    assert (await api.get("/v1/org", headers=org)).status_code == 200


async def test_keys_of_another_organisation_are_unknown(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, mine = await actors.org("Mine")
    _, theirs = await actors.org("Theirs")
    await api.post("/v1/org/keys", headers=mine)
    (their_key,) = (await api.get("/v1/org/keys", headers=theirs)).json()
    foreign = await api.delete(f"/v1/org/keys/{their_key['key_id']}", headers=mine)
    unknown = await api.delete("/v1/org/keys/key_0123456789abcdef", headers=mine)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.content == unknown.content
    assert (await api.get("/v1/org", headers=theirs)).status_code == 200
