"""Whole tenants, seeded through the API, for the generated checks (tenant isolation, roles).

A tenant is an organisation with everything a path parameter can name: a second (spare) API
key, a project (redundancy 1) of four translation tasks, a published result and a webhook
delivery record, and its people: a volunteer who answered one task (the result is on it) and
holds a live assignment on another, and a reviewer who holds an assignment on a third and a
review of the fourth. Every task of the project is then taken: nobody else can be served one
of its tasks, so any of its payloads showing up anywhere else is a leak.

Each task's payload carries a random marker (in ``context``), so a test finds a payload in any
response body by searching for its marker. What no route does yet goes straight to the store,
as the workers will: publishing the result (``core.delivery.results.publish_result`` through the
board), opening the review item (the board's ``open_review`` op) and writing the delivery record
(``core.delivery.webhooks.Webhooks.save_delivery``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio

from core.board.runner import AsyncBoard
from core.delivery.results import Result, publish_result
from core.delivery.webhooks import Delivery, Webhooks
from core.redis.keys import Keys
from core.volunteers.certificates import Certificates
from tests.support.api.client import Actors
from web.secret import ServerSecret

Headers = dict[str, str]

ANSWER: dict[str, Any] = {"text": "Lavez-vous les mains."}
N_TASKS = 4


@dataclass(frozen=True)
class Person:
    id: str
    headers: Headers


@dataclass
class Tenant:
    label: str
    org_id: str
    org: Headers
    key_ids: list[str]  # the first key (the one ``org`` carries), then the spare one
    spare_token: str
    project_id: str
    markers: dict[str, str]  # task id -> the marker in its payload
    volunteer: Person
    submitted_assignment_id: str
    assignment_id: str  # the volunteer's live one
    reviewer: Person
    reviewer_assignment_id: str
    review_id: str
    result_cursor: str
    delivery_id: str
    invitation_id: str  # a volunteer invitation the organisation made
    certificate_id: str
    held: dict[str, set[str]] = field(default_factory=dict)  # person id -> task ids held

    @property
    def task_ids(self) -> list[str]:
        return sorted(self.markers)

    @property
    def spare_key_id(self) -> str:
        return self.key_ids[1]


def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None


async def seed_tenant(
    api: httpx.AsyncClient, actors: Actors, client: redis.asyncio.Redis, label: str
) -> Tenant:
    org_id, org = await actors.org(f"{label} relief")
    (first_key,) = _ok(await api.get("/v1/org/keys", headers=org), 200)
    spare = _ok(await api.post("/v1/org/keys", headers=org), 201)

    project = _ok(
        await api.post(
            "/v1/projects",
            json={
                "name": f"{label} leaflets",
                "task_type": "translation",
                "instructions": "Translate the sentence.",
                "languages": ["en", "fr"],
                "redundancy": 1,
            },
            headers=org,
        ),
        201,
    )
    project_id = str(project["id"])
    wanted = [f"{label}-payload-{i}-{secrets.token_hex(8)}" for i in range(N_TASKS)]
    tasks = [
        {
            "external_id": f"{label}-{i}",
            "payload": {
                "source_text": "Wash your hands.",
                "source_lang": "en",
                "target_lang": "fr",
                "context": marker,
            },
        }
        for i, marker in enumerate(wanted)
    ]
    submitted = _ok(
        await api.post(f"/v1/projects/{project_id}/tasks", json={"tasks": tasks}, headers=org),
        200,
    )
    assert submitted["accepted"] == N_TASKS, submitted
    markers = dict(zip(submitted["task_ids"], wanted, strict=True))
    held: dict[str, set[str]] = {}

    async def claim(person: Person) -> dict[str, Any]:
        body = {"project_id": project_id}
        claimed: dict[str, Any] = _ok(
            await api.post("/v1/assignments", json=body, headers=person.headers), 201
        )
        held.setdefault(person.id, set()).add(claimed["task"]["id"])
        return claimed

    # The volunteer answers one task (which gets its result) and holds another.
    volunteer = Person(*await actors.volunteer())
    answered = await claim(volunteer)
    _ok(
        await api.post(
            f"/v1/assignments/{answered['id']}/submit",
            json={"answer": ANSWER},
            headers=volunteer.headers,
        ),
        202,
    )
    board = AsyncBoard(client)
    result = Result(answered["task"]["id"], ANSWER, 1.0, "agreement")
    published = await board.run(publish_result(board.keys, project_id, result))
    live = await claim(volunteer)

    # The reviewer holds an assignment on a third task and the review of the last one.
    reviewer = Person(*await actors.volunteer())
    _ok(
        await api.post(
            f"/v1/projects/{project_id}/reviewers",
            json={"volunteer_id": reviewer.id},
            headers=org,
        ),
        201,
    )
    reviewer_live = await claim(reviewer)
    (left,) = set(markers) - held[volunteer.id] - held[reviewer.id]
    assert await board.run(board.ops.open_review(project_id, left, "spot_check", 0))
    review = _ok(
        await api.post("/v1/reviews", json={"project_id": project_id}, headers=reviewer.headers),
        201,
    )
    assert review["task"]["id"] == left
    held[reviewer.id].add(left)

    # The webhook endpoint, and a (failed) delivery of the result to it.
    _ok(await api.put("/v1/webhook", json={"url": "http://127.0.0.1:9/ruche"}, headers=org), 200)
    delivery_id = f"dlv_{secrets.token_hex(12)}"
    await Webhooks(client, Keys()).save_delivery(
        org_id,
        Delivery(
            delivery_id=delivery_id,
            project_id=project_id,
            task_id=answered["task"]["id"],
            result_id=published.cursor,
            status="failed",
            attempts=3,
            last_error="connection refused",
            next_attempt_at_ms=None,
            created_at_ms=time.time_ns() // 1_000_000,
        ),
    )
    # A certificate of the volunteer's work, as their page issues it.
    keys = Keys()
    certificate = await Certificates(client, keys, ServerSecret(client, keys)).issue(
        volunteer.id, {"name": "Volunteer", "lines": [], "totals": {}}
    )
    return Tenant(
        label=label,
        org_id=org_id,
        org=org,
        key_ids=[str(first_key["key_id"]), str(spare["key_id"])],
        spare_token=str(spare["api_key"]),
        project_id=project_id,
        markers=markers,
        volunteer=volunteer,
        submitted_assignment_id=str(answered["id"]),
        assignment_id=str(live["id"]),
        reviewer=reviewer,
        reviewer_assignment_id=str(reviewer_live["id"]),
        review_id=str(review["id"]),
        result_cursor=published.cursor,
        delivery_id=delivery_id,
        invitation_id=str(_ok(await api.post("/v1/invitations", json={}, headers=org), 201)["id"]),
        certificate_id=certificate.id,
        held=held,
    )


async def snapshot(client: redis.asyncio.Redis) -> dict[str, Any]:
    """Everything in the store, key by key (values read by type), to prove a call wrote nothing."""
    state: dict[str, Any] = {}
    for key in sorted([k async for k in client.scan_iter(count=1000)]):
        kind = await client.type(key)
        value: Any
        if kind == "string":
            value = await client.get(key)
        elif kind == "hash":
            value = await client.hgetall(key)
        elif kind == "set":
            value = sorted(await client.smembers(key))
        elif kind == "zset":
            value = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            value = await client.lrange(key, 0, -1)
        elif kind == "stream":
            value = await client.xrange(key)
        else:
            value = None
        state[key] = (kind, value)
    return state


#: Where the rate limits keep their counters (core.ratelimit; the default key prefix).
RATE_LIMIT_KEYS = Keys().rate_limits + ":"


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The keys that appeared, disappeared or changed between two snapshots, but the rate
    limits' counters (a refused request is counted: that is their point)."""
    return sorted(
        k
        for k in before.keys() | after.keys()
        if before.get(k) != after.get(k) and not k.startswith(RATE_LIMIT_KEYS)
    )
