"""No JSON body, however deep or however large its numbers, gets anything but a 4xx.

Every route taking a body reads it in one of three places: FastAPI's own body parsing, the hot
routes' reader (``api/json_body.py``: claim and submit) and the bulk route's
(``core/board/bulk.py``, JSON and NDJSON). Each must refuse a body nested past the documented
depth, a number past the documented size, and the non-JSON constants (``NaN``, ``Infinity``)
with 422 ``invalid_request`` in the one error shape, saying which; before, a 10,000-deep array
(RecursionError) or a 5,000-digit integer (ValueError) made the claim and submit routes
answer 500.
"""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio

from core.json_input import MAX_DEPTH
from tests.support.api.client import Actors
from tests.support.api.route_cases import ALLOWED, CASES, ROUTES, Role, fill, headers_of, own_values
from tests.support.api.tenants import Tenant, changes, seed_tenant, snapshot

pytestmark = pytest.mark.anyio

BODY_ROUTES = [route for route in ROUTES if CASES[route].body is not None]
ROLE_ORDER: tuple[Role, ...] = ("org", "volunteer", "reviewer", "admin", "anonymous")


def nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "[]" + "}" * (depth - 1)


HOSTILE: dict[str, tuple[str, str]] = {
    # name: (body, the detail type it must be refused with)
    "10,000-deep array": ("[" * 10_000 + "]" * 10_000, "json_too_deep"),
    "10,000-deep object": (nested(10_000), "json_too_deep"),
    "one level too deep": (nested(MAX_DEPTH + 1), "json_too_deep"),
    "5,000-digit integer": ('{"answer": ' + "7" * 5_000 + "}", "json_number_too_large"),
    "300-digit integer": ('{"a": -' + "9" * 300 + "}", "json_number_too_large"),
    "float overflowing to infinity": ('{"a": 1e400}', "json_number_too_large"),
    "NaN": ('{"a": NaN}', "json_invalid"),
    "Infinity": ('{"a": [-Infinity]}', "json_invalid"),
}


@pytest.fixture
async def tenant(api: httpx.AsyncClient, actors: Actors, redis_url: str) -> Tenant:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await seed_tenant(api, actors, client, "A")
    finally:
        await client.aclose()


def test_the_bodies_reach_every_kind_of_reader() -> None:
    paths = {route[1] for route in BODY_ROUTES}
    assert "/v1/assignments" in paths  # the hot routes' reader
    assert "/v1/assignments/{assignment_id}/submit" in paths
    assert "/v1/projects/{project_id}/tasks" in paths  # the bulk reader
    assert "/v1/projects" in paths  # FastAPI's


async def test_every_route_refuses_hostile_json_with_a_422_saying_why(
    api: httpx.AsyncClient, tenant: Tenant, redis_url: str
) -> None:
    store = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    before = await snapshot(store)
    wrong: list[str] = []
    for route in BODY_ROUTES:
        role = next(r for r in ROLE_ORDER if r in ALLOWED[route])
        path = fill(route, own_values(route, tenant, role))
        headers = {**headers_of(tenant, role), "Content-Type": "application/json"}
        for name, (body, kind) in HOSTILE.items():
            response = await api.request(route[0], path, content=body, headers=headers)
            error = response.json().get("error", {}) if response.content else {}
            types = [detail.get("type") for detail in error.get("details", [])]
            if (response.status_code, error.get("code"), types) != (422, "invalid_request", [kind]):
                wrong.append(f"{route}: {name}: {response.status_code} {response.text[:200]}")
    assert changes(before, await snapshot(store)) == []
    await store.aclose()
    assert wrong == []


async def test_a_body_at_the_depth_limit_is_read(api: httpx.AsyncClient, tenant: Tenant) -> None:
    # The limit is a bound, not a refusal of nesting: a claim filter nested to the limit is
    # read, and refused only for what it says (an unknown field).
    response = await api.post(
        "/v1/assignments",
        content=nested(MAX_DEPTH),
        headers=tenant.volunteer.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert [d["type"] for d in response.json()["error"]["details"]] == ["extra_forbidden"]


async def test_bulk_ndjson_lines_past_the_limits_are_rejected_items(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    good = '{"payload": {"source_text": "Boil it.", "source_lang": "en", "target_lang": "fr"}}'
    lines = [good, "[" * 5_000 + "]" * 5_000, '{"payload": {"n": ' + "1" * 5_000 + "}}", good]
    response = await api.post(
        f"/v1/projects/{tenant.project_id}/tasks",
        content="\n".join(lines),
        headers={**tenant.org, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], [e["type"] for e in r["errors"]]) for r in body["rejected"]] == [
        (1, ["json_too_deep"]),
        (2, ["json_number_too_large"]),
    ]
