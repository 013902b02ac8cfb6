"""Tenant isolation (DESIGN.md invariant 6), checked on every route of the OpenAPI document.

Two full tenants, A and B, are seeded through the API (``tests/support/api/tenants.py``): each
an organisation with a spare API key, a project whose tasks are all taken, a published result
and a webhook delivery, a volunteer holding an assignment (and having answered another task),
and a reviewer holding an assignment and a review.

For every route whose path names an object (``{project_id}``, ``{task_id}``, …; the list is
read from the app's OpenAPI document), B's people call it with A's ids and a valid body: the
answer is 404, byte for byte the answer to well-formed ids naming nothing and to malformed ids,
so nothing tells B that A's objects exist; and nothing in the store changed (A's assignment is
still live, its project untouched). The same call by A's own people then succeeds: the ids were
real. A route with path parameters but no case in ``tests/support/api/route_cases.py`` fails,
naming itself.

The volunteer side of the invariant: every route, called by everyone with both tenants' ids, and
no response ever carries the payload of a task the caller does not hold and never held.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio

from core.board.runner import AsyncBoard
from tests.support.api.client import ADMIN, Actors
from tests.support.api.route_cases import (
    ALLOWED,
    CASES,
    OPERATOR,
    PARAMS,
    ROUTE_TABLES,
    ROUTES,
    TENANT_ROLES,
    Role,
    Route,
    build_app,
    call,
    headers_of,
    own_values,
    path_params,
    read_routes,
    route_id,
    success_statuses,
    target_role,
)
from tests.support.api.tenants import Headers, Tenant, changes, seed_tenant, snapshot

pytestmark = pytest.mark.anyio

#: Every route whose path names an object, straight from the OpenAPI document; but the
#: operator's own (any tenant's objects are theirs to name: test_role_matrix.py checks who may
#: call them).
OBJECT_ROUTES = [route for route in ROUTES if path_params(route) and ALLOWED.get(route) != OPERATOR]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def tenants(
    api: httpx.AsyncClient, actors: Actors, store: redis.asyncio.Redis
) -> tuple[Tenant, Tenant]:
    return (
        await seed_tenant(api, actors, store, "A"),
        await seed_tenant(api, actors, store, "B"),
    )


def missing_case(route: Route) -> str | None:
    if route not in CASES or route not in ALLOWED:
        return f"{route_id(route)} names an object but has no case in {ROUTE_TABLES}"
    unknown = [name for name in path_params(route) if name not in PARAMS]
    if unknown:
        return f"{route_id(route)}: no entry in PARAMS for {', '.join(unknown)}"
    if not ALLOWED[route] & set(TENANT_ROLES) and ALLOWED[route] != OPERATOR:
        return f"{route_id(route)} names an object, but ALLOWED gives it to no tenant role"
    return None


def test_every_route_naming_an_object_has_a_case() -> None:
    assert OBJECT_ROUTES, "the OpenAPI document lists no route with path parameters"
    missing = [problem for route in OBJECT_ROUTES if (problem := missing_case(route))]
    assert not missing, "\n".join(missing)


def test_a_new_route_naming_an_object_without_a_case_is_named() -> None:
    app = build_app()

    @app.get("/v1/projects/{project_id}/notes/{note_id}")
    async def note(project_id: str, note_id: str) -> dict[str, str]:
        return {}

    operations, _ = read_routes(app)
    new = [
        route
        for route in operations
        if path_params(route) and ALLOWED.get(route) != OPERATOR and missing_case(route)
    ]
    assert new == [("GET", "/v1/projects/{project_id}/notes/{note_id}")]
    assert "GET /v1/projects/{project_id}/notes/{note_id}" in str(missing_case(new[0]))


def id_variants(route: Route, owner: Tenant, role: Role) -> list[tuple[str, dict[str, str]]]:
    """Ids to try on ``route``: every combination of the owner's real ones, then well-formed
    ids naming nothing and malformed ones (all at once, and one parameter at a time beside the
    owner's real ids)."""
    names = path_params(route)
    primary = {name: PARAMS[name].own(owner, target_role(route, role)) for name in names}
    variants = [
        (f"{owner.label}'s ids", dict(zip(names, combination, strict=True)))
        for combination in itertools.product(*(PARAMS[name].real(owner) for name in names))
    ]
    variants.append(("random ids", {name: PARAMS[name].random(owner)[0] for name in names}))
    variants.append(("malformed ids", dict.fromkeys(names, "not-an-id")))
    for name in names:
        variants += [(f"random {name}", {**primary, name: v}) for v in PARAMS[name].random(owner)]
        variants += [
            (f"malformed {name}", {**primary, name: v}) for v in PARAMS[name].malformed(owner)
        ]
    return variants


async def tenant_view(api: httpx.AsyncClient, tenant: Tenant) -> dict[str, object]:
    """What the tenant's own people read of their objects (all of it must stay the same)."""
    reads: dict[str, tuple[str, Headers]] = {
        "project": (f"/v1/projects/{tenant.project_id}", tenant.org),
        "results": (f"/v1/projects/{tenant.project_id}/results", tenant.org),
        "reviewers": (f"/v1/projects/{tenant.project_id}/reviewers", tenant.org),
        "keys": ("/v1/org/keys", tenant.org),
        "webhook": ("/v1/webhook", tenant.org),
        "deliveries": ("/v1/webhook/deliveries", tenant.org),
        "assignment": (f"/v1/assignments/{tenant.assignment_id}", tenant.volunteer.headers),
        "live": ("/v1/me/assignments", tenant.volunteer.headers),
        "reviewer's live": ("/v1/me/assignments", tenant.reviewer.headers),
        "volunteer": ("/v1/me", tenant.volunteer.headers),
    }
    reads |= {
        f"task {task_id}": (f"/v1/projects/{tenant.project_id}/tasks/{task_id}", tenant.org)
        for task_id in tenant.task_ids
    }
    view: dict[str, object] = {}
    for name, (path, headers) in reads.items():
        response = await api.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        view[name] = response.json()
    return view


async def review_state(store: redis.asyncio.Redis, tenant: Tenant) -> tuple[str, str]:
    board = AsyncBoard(store)
    record = (await board.run(board.ops.review_context(tenant.review_id))).record
    assert record is not None
    return str(record["state"]), str(record["vol"])


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=route_id)
async def test_another_tenants_ids_are_not_found_exactly_like_unknown_or_malformed_ones(
    route: Route,
    api: httpx.AsyncClient,
    tenants: tuple[Tenant, Tenant],
    store: redis.asyncio.Redis,
) -> None:
    problem = missing_case(route)
    if problem:
        pytest.fail(problem)
    a, b = tenants
    roles = [role for role in TENANT_ROLES if role in ALLOWED[route]]
    a_view = await tenant_view(api, a)
    before = await snapshot(store)

    for role in roles:
        answers = [
            (label, values, await call(api, route, values, headers_of(b, role), b))
            for label, values in id_variants(route, a, role)
        ]
        first = answers[0][2]
        assert first.status_code == 404, (route_id(route), role, first.text)
        different = [
            (label, values, response.status_code, response.text)
            for label, values, response in answers
            if response.status_code != 404
            or response.content != first.content
            or response.headers.get("content-type") != first.headers.get("content-type")
        ]
        assert not different, (route_id(route), f"{b.label}'s {role}", first.text, different)

    assert changes(before, await snapshot(store)) == [], route_id(route)
    assert await tenant_view(api, a) == a_view
    assert await review_state(store, a) == ("live", a.reviewer.id)

    # The ids were real: A's own people get past the 404 with the very same calls.
    for role in roles:
        values = own_values(route, a, role)
        response = await call(api, route, values, headers_of(a, role), a)
        assert response.status_code in success_statuses(route), (
            route_id(route), role, response.status_code, response.text,
        )  # fmt: skip


#: Routes that name every tenant's projects to the operator (and only to the operator).
OPERATOR_SEES_EVERY_PROJECT = {
    ("GET", "/metrics"),
    # The operator's personal-data routes name whatever they act on, of any tenant.
    ("DELETE", "/v1/orgs/{org_id}"),
    ("DELETE", "/v1/orgs/{org_id}/projects/{project_id}"),
    ("GET", "/v1/volunteers/{volunteer_id}/export"),
    ("DELETE", "/v1/volunteers/{volunteer_id}"),
}


@dataclass(frozen=True)
class Caller:
    name: str
    headers: Headers
    tenant: Tenant  # whose bodies it sends
    member_of: Tenant | None  # the tenant it belongs to (None: the operator, anonymous)
    sees_all: bool  # an organisation sees every payload of its own projects
    person: str | None  # a volunteer's id: the tasks they hold or held, they may see


def callers(a: Tenant, b: Tenant) -> list[Caller]:
    made = [
        Caller("anonymous", {}, a, None, False, None),
        Caller("admin", ADMIN, a, None, False, None),
    ]
    for t in (a, b):
        made += [
            Caller(f"org {t.label}", t.org, t, t, True, None),
            Caller(f"volunteer {t.label}", t.volunteer.headers, t, t, False, t.volunteer.id),
            Caller(f"reviewer {t.label}", t.reviewer.headers, t, t, False, t.reviewer.id),
        ]
    return made


def object_ids(tenant: Tenant) -> set[str]:
    """Ids naming the tenant's objects and people: none may reach anyone outside it."""
    return {
        tenant.org_id,
        tenant.project_id,
        *tenant.key_ids,
        tenant.delivery_id,
        tenant.assignment_id,
        tenant.submitted_assignment_id,
        tenant.reviewer_assignment_id,
        tenant.review_id,
        tenant.volunteer.id,
        tenant.reviewer.id,
    }


async def test_nobody_sees_a_payload_they_do_not_hold_nor_another_tenants_ids(
    api: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    """Every route, by everyone, with each tenant's real ids: an organisation sees the payloads
    of its own projects; a volunteer (or reviewer) those of the tasks they hold or held, and no
    other; nobody outside a tenant sees one of its ids (so nothing confirms they exist)."""
    a, b = tenants
    markers = {
        marker: (t.project_id, task_id) for t in (a, b) for task_id, marker in t.markers.items()
    }
    held: dict[str, set[tuple[str, str]]] = {
        person: {(t.project_id, task_id) for task_id in tasks}
        for t in (a, b)
        for person, tasks in t.held.items()
    }
    assert all(len(tasks) == 2 for tasks in held.values()), held

    told: dict[str, set[str]] = {}  # ids a caller was given by a claim (it holds a task there)
    leaks: list[tuple[str, object, str, str, str]] = []
    for route, caller, owner in itertools.product(ROUTES, callers(a, b), (a, b)):
        names = path_params(route)
        for combination in itertools.product(*(PARAMS[name].real(owner) for name in names)):
            values = dict(zip(names, combination, strict=True))
            response = await call(api, route, values, caller.headers, caller.tenant)
            where = route_id(route)
            assert response.status_code < 500, (where, caller.name, response.text)
            if caller.person and response.status_code == 201 and route in CLAIMS:
                task = response.json()["task"]  # served to them now: they hold it
                held.setdefault(caller.person, set()).add((task["project_id"], task["id"]))
                told.setdefault(caller.name, set()).add(task["project_id"])
            mine = held.get(caller.person or "", set())
            for marker, (project_id, task_id) in markers.items():
                own_project = (
                    caller.sees_all
                    and caller.member_of is not None
                    and (project_id == caller.member_of.project_id)
                )
                if marker in response.text and not (own_project or (project_id, task_id) in mine):
                    leaks.append((where, values, caller.name, "payload of", task_id))
            if caller.name == "admin" and route in OPERATOR_SEES_EVERY_PROJECT:
                continue  # the deployment's operator watches every project's queue
            for other in (a, b):
                if caller.member_of is not other:
                    leaks += [
                        (where, values, caller.name, f"{other.label}'s id", value)
                        for value in object_ids(other) - told.get(caller.name, set())
                        if value in response.text
                    ]

    # Last, what the whole sweep left in the public metrics: route templates, never an id.
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    leaks += [
        ("GET /metrics", {}, "anonymous", f"{t.label}'s id", value)
        for t in (a, b)
        for value in object_ids(t)
        if value in metrics.text
    ]
    assert not leaks


CLAIMS = {("POST", "/v1/assignments"), ("POST", "/v1/reviews")}


async def test_a_reviewer_cannot_claim_another_tenants_review_items(
    api: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], store: redis.asyncio.Redis
) -> None:
    a, b = tenants
    board = AsyncBoard(store)
    # One more item waits in A's queue: B's reviewer still cannot reach it.
    released = await api.post(
        f"/v1/assignments/{a.assignment_id}/release",
        json={"reason": "no_time"},
        headers=a.volunteer.headers,
    )
    assert released.status_code == 204, released.text
    task_id = a.assignment_id.split(".")[1]
    assert await board.run(board.ops.open_review(a.project_id, task_id, "stalled", 5))
    before = await snapshot(store)
    answers = [
        await api.post("/v1/reviews", json={"project_id": project_id}, headers=b.reviewer.headers)
        for project_id in (a.project_id, PARAMS["project_id"].random(a)[0], "not-a-project")
    ]
    assert {r.status_code for r in answers} == {404}, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    anything = await api.post("/v1/reviews", json={}, headers=b.reviewer.headers)
    # Nothing new for B's reviewer: the item they already hold in B's project, given back.
    assert anything.status_code == 201, anything.text
    assert anything.json()["id"] == b.review_id
    assert anything.json()["task"]["project_id"] == b.project_id
    assert changes(before, await snapshot(store)) == []
    mine = await api.post("/v1/reviews", json={}, headers=a.reviewer.headers)
    assert mine.status_code == 201, mine.text
    assert mine.json()["task"]["id"] == task_id
