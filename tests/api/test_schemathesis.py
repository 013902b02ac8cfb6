"""Schemathesis against the app's own OpenAPI schema: no 5xx, and every response as documented.

Each operation of the schema is one test. Its cases go to the app in-process over ASGI, whose
lifespan schemathesis starts (so the Redis client and board exist) and this module ends, on a
Redis seeded through the API: an organisation with a spare key, a project of each built-in task
type with tasks, a volunteer who accepted the charter, may review one project and holds an
assignment and a review, a published result, a webhook and one of its deliveries. Path parameters
are drawn from those real ids part of the time (from whatever schemathesis makes up otherwise),
project bodies name a real task type part of the time, and every request carries the token its
route wants, so generated requests get past authentication and not-found into the handlers.

Checks: not a server error; status code, content type, headers and body as documented.
Bounded and repeatable for CI: a fixed seed, deterministic generation, at most ``MAX_EXAMPLES``
fuzzed cases per operation (plus schemathesis's coverage cases), no example database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis
import redis.asyncio
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from api.routes import webhooks as webhook_routes
from core.delivery.webhooks import Delivery, Webhooks
from core.redis.keys import Keys
from core.settings import Settings
from core.volunteers.certificates import Certificates
from tests.support.api.client import ADMIN, ADMIN_TOKEN, Actors, app_client
from tests.support.api.ngo import publish
from tests.support.api.volunteers import PAYLOADS, Headers, claim, scene
from web.secret import ServerSecret

if TYPE_CHECKING:  # schemathesis defines its OpenAPI case type for type checkers only
    from schemathesis.specs.openapi.schemas import OpenApiCase

MAX_EXAMPLES = 50
SEED = 20_240_611

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        # Stateful runs (chains of linked calls) are the CLI's; pytest tests one operation a time.
        "phases": {"stateful": {"enabled": False}},
    }
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# The NDJSON form of the bulk route is documented as a string: send it as text, as it is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

# The document /openapi.json serves (``app.openapi()``), built without Redis. Loaded at import
# (not with `schemathesis.pytest.from_fixture`, whose lazy tests need a pytest attribute that
# pytest 9.2 removed), so each operation is a test of its own; the app it is sent to comes from
# the `ruche_app` fixture below.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(redis_url="redis://unused")).openapi(), config=CONFIG
)


@dataclass
class Seeded:
    """The real ids generated requests may point at, and the tokens to send."""

    org: Headers
    volunteer: Headers
    ids: dict[str, list[str]]
    tasks: list[dict[str, str]]  # {project_id, task_id} pairs, for the one route with both


# The world of the test running now, for the hooks (which schemathesis builds at collection).
_CURRENT: dict[str, Seeded] = {}


async def _seed(settings: Settings, redis_url: str) -> Seeded:
    async with app_client(settings) as api:
        actors = Actors(api)
        org_id, org = await actors.org()
        # A second live key: the one a generated DELETE may revoke (ours is never listed).
        spare = await api.post("/v1/org/keys", headers=org)
        assert spare.status_code == 201, spare.text
        volunteer_id, volunteer = await actors.volunteer()
        answerers = [(await actors.volunteer())[1] for _ in range(2)]
        projects: dict[str, str] = {}
        tasks: list[dict[str, str]] = []
        async with scene(api, redis_url, org) as world:
            for task_type in PAYLOADS:
                project_id, task_ids = await world.project(3, task_type=task_type, redundancy=2)
                projects[task_type] = project_id
                tasks += [{"project_id": project_id, "task_id": t} for t in task_ids]
            translation = projects["translation"]
            await world.grant(translation, volunteer_id)
            # Two other volunteers answer the same translation task, which then goes to review.
            answered: set[str] = set()
            for n, headers in enumerate(answerers):
                claimed = await claim(api, headers, project_id=translation)
                assert claimed.status_code == 201, claimed.text
                answered.add(claimed.json()["task"]["id"])
                submitted = await api.post(
                    f"/v1/assignments/{claimed.json()['id']}/submit",
                    json={"answer": {"text": f"Lavez-vous les mains ({n})."}},
                    headers=headers,
                )
                assert submitted.status_code == 202, submitted.text
            (in_review,) = answered
            assert await world.open_review(translation, in_review)
            review = await api.post(
                "/v1/reviews", json={"project_id": translation}, headers=volunteer
            )
            assert review.status_code == 201, review.text
            assignment = await claim(api, volunteer, project_id=projects["moderation"])
            assert assignment.status_code == 201, assignment.text
        done = next(
            t["task_id"]
            for t in tasks
            if t["project_id"] == translation and t["task_id"] != in_review
        )
        await publish(redis_url, translation, [done])
        invitation = await api.post("/v1/invitations", json={"uses": 3}, headers=org)
        assert invitation.status_code == 201, invitation.text
        hook = await api.put("/v1/webhook", json={"url": "http://127.0.0.1:9/hooks"}, headers=org)
        assert hook.status_code == 200, hook.text
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            await Webhooks(client, Keys()).save_delivery(
                org_id,
                Delivery(
                    delivery_id="dlv_seeded",
                    project_id=translation,
                    task_id=done,
                    result_id="1-0",
                    status="failed",
                    attempts=3,
                    last_error="HTTP 500",
                    next_attempt_at_ms=None,
                    created_at_ms=1_700_000_000_000,
                ),
            )
            certificate_id = (
                await Certificates(client, Keys(), ServerSecret(client, Keys())).issue(
                    volunteer_id, {"name": "Ada", "lines": [], "totals": {}}
                )
            ).id
        finally:
            await client.aclose()
    ids = {
        "project_id": list(projects.values()),
        "task_id": [t["task_id"] for t in tasks],
        "assignment_id": [str(assignment.json()["id"])],
        "review_id": [str(review.json()["id"])],
        "key_id": [str(spare.json()["key_id"])],
        "volunteer_id": [volunteer_id],
        "delivery_id": ["dlv_seeded"],
        "certificate_id": [certificate_id],
        "invitation_id": [str(invitation.json()["id"])],
        "org_id": [org_id],
    }
    return Seeded(org=org, volunteer=volunteer, ids=ids, tasks=tasks)


def _auth_for(seeded: Seeded, path: str) -> Headers:
    """The token a route wants: the operator's, a volunteer's, the org's, or none (public)."""
    if path == "/v1/orgs" or path.startswith(("/v1/orgs/", "/v1/volunteers/", "/v1/certificates")):
        return dict(ADMIN)  # the operator's routes (personal data among them)
    if path.startswith(("/v1/me", "/v1/assignments", "/v1/reviews")):
        return dict(seeded.volunteer)
    if path.startswith(("/v1/org", "/v1/projects", "/v1/webhook", "/v1/invitations")):
        return dict(seeded.org)
    return {}


@schema.hook
def before_generate_path_parameters(context: schemathesis.HookContext, strategy: Any) -> Any:
    """Real ids part of the time, schemathesis's own values the rest."""
    assert context.operation is not None
    names = sorted(parameter.name for parameter in context.operation.path_parameters)
    if not names:
        return strategy

    def known() -> Any:
        seeded = _CURRENT.get("seeded")
        if seeded is None:  # drawn outside a test (explicit examples are drawn at collection)
            return st.nothing()
        if names == ["project_id", "task_id"]:
            return st.sampled_from(seeded.tasks)
        return st.fixed_dictionaries({n: st.sampled_from(seeded.ids[n]) for n in names})

    return st.one_of(st.deferred(known), strategy)


_REAL_BODY_FIELDS: dict[tuple[str, str], tuple[str, list[str]]] = {
    ("POST", "/v1/projects"): ("task_type", list(PAYLOADS)),
    ("PUT", "/v1/webhook"): ("url", ["http://127.0.0.1:9/hooks", "https://hooks.example.org/r"]),
}


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    """A project of a registered type, a webhook URL that passes the guard, part of the time."""
    assert context.operation is not None
    real = _REAL_BODY_FIELDS.get((context.operation.method.upper(), context.operation.path))
    if real is None or not isinstance(body, dict):
        return st.just(body)
    name, values = real
    return st.one_of(st.just(body), st.sampled_from(values).map(lambda v: {**body, name: v}))


def _resolver(host: str, port: int) -> list[str]:
    """No DNS in tests: every host name resolves to one public address."""
    return ["93.184.215.14"]


@pytest.fixture
def ruche_app(
    redis_client: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FastAPI, Seeded]]:
    monkeypatch.setattr(webhook_routes, "system_resolver", _resolver)
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, webhook_allow_private=True)
    seeded = asyncio.run(_seed(settings, redis_url))
    _CURRENT["seeded"] = seeded
    try:
        yield create_app(settings), seeded
    finally:
        _CURRENT.clear()
        # Schemathesis keeps a lifespan it started until the process exits: end this app's now.
        schemathesis_asgi.shutdown_lifespans()


@schema.parametrize()
# One seeded world per operation, shared by its cases on purpose: whatever state they leave for
# each other (a paused project, a submitted assignment) must still get documented answers.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_keeps_to_its_own_schema(
    case: OpenApiCase, ruche_app: tuple[FastAPI, Seeded]
) -> None:
    app, seeded = ruche_app
    case.call_and_validate(app=app, headers=_auth_for(seeded, case.operation.path), checks=CHECKS)


# -- what schemathesis found, pinned down as plain tests -------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "headers"), [("/v1/volunteers", {}), ("/v1/orgs", ADMIN)])
async def test_a_json_body_that_is_not_utf8_is_the_documented_422(
    api: httpx.AsyncClient, path: str, headers: Headers
) -> None:
    # FastAPI answered an undecodable JSON body with a 400 of its own, documented nowhere.
    response = await api.post(
        path,
        content=b'{"display_name": "\xff\xfe"}',
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"] == [{"loc": ["body"], "msg": "not valid JSON", "type": "json_invalid"}]
