"""Every rate limit and quota, against two real API processes sharing one Redis.

Two ``ruche api`` processes (A and B) run with low limits; every limit is reached with requests
spread over both, so each test also proves the count is shared, not per process. Each refusal
is checked for its status, code, ``Retry-After`` and the IETF ``RateLimit-Policy`` /
``RateLimit`` fields. The processes trust 127.0.0.1 as a proxy, so each test gives its clients
addresses of their own in ``X-Forwarded-For`` (documentation ranges), and a third process that
trusts no proxy shows the header is otherwise ignored. Nothing waits for a window to pass.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from core.redis.keys import Keys
from core.redis.server import free_port
from tests.support.live_ruche import ADMIN_TOKEN, bearer, start, wait_for
from tests.support.processes import stop_group

LIMITS = {
    "RUCHE_RATE_LIMIT_SIGNUP": "3/minute",
    "RUCHE_RATE_LIMIT_UNAUTHENTICATED": "3/minute",
    "RUCHE_RATE_LIMIT_TOKEN": "12/minute",
    "RUCHE_RATE_LIMIT_CLAIMS": "3/minute",
    "RUCHE_RATE_LIMIT_RELEASES": "2/minute",
    "RUCHE_LIVE_ASSIGNMENTS_START": "1",
    "RUCHE_ACCEPTED_ANSWERS_PER_EXTRA_ASSIGNMENT": "2",
    "RUCHE_MAX_LIVE_ASSIGNMENTS": "5",
    "RUCHE_ADMIN_TOKEN": ADMIN_TOKEN,
}
POLICY = re.compile(r'^"(\w+)";q=(\d+)(?:;w=(\d+))?$')
STATE = re.compile(r'^"(\w+)";r=(\d+);t=(\d+)$')
MODERATION = {"content": "Boil water before drinking.", "labels": ["ok", "spam"]}


@dataclass(frozen=True)
class Api:
    url: str
    process: subprocess.Popen[bytes]


def _start_api(redis_url: str, log: Path, **env: str) -> Api:
    port = free_port()
    process = start(["api", "--port", str(port)], redis_url, log, **env)
    api = Api(f"http://127.0.0.1:{port}", process)

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{api.url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, f"the API on port {port}", timeout=90)
    return api


@pytest.fixture(scope="module")
def apis(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Api]]:
    """A and B (trusting 127.0.0.1 as a proxy), and C (trusting no proxy)."""
    logs = tmp_path_factory.mktemp("limits")
    started: list[Api] = []
    try:
        for name, trusted in (("a", "127.0.0.1"), ("b", "127.0.0.1"), ("c", "")):
            started.append(
                _start_api(redis_url, logs / f"{name}.log", RUCHE_TRUSTED_PROXIES=trusted, **LIMITS)
            )
        yield started
    finally:
        for api in started:
            stop_group(api.process)


@pytest.fixture
def a_b(apis: list[Api], redis_client: redis.Redis) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Clients of A and B, on a freshly flushed Redis (``redis_client`` flushes it)."""
    with httpx.Client(base_url=apis[0].url) as a, httpx.Client(base_url=apis[1].url) as b:
        yield a, b


def address() -> dict[str, str]:
    """A client address of its own (documentation range), as a trusted proxy passes it on
    (here behind a second trusted hop, which is skipped)."""
    client = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    return {"X-Forwarded-For": f"{client}, 127.0.0.1"}


def refused(
    response: httpx.Response, limit: str, quota: int, window: int | None, remaining: int = 0
) -> int:
    """The response is the 429 of ``limit``, with all its headers (``remaining``: what the
    window still allowed, less than the refused request's cost); returns the Retry-After."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"]["code"] in {"rate_limited", "too_many_assignments", "too_many_requests"}
    retry_after = int(response.headers["Retry-After"])
    policy = POLICY.match(response.headers["RateLimit-Policy"])
    state = STATE.match(response.headers["RateLimit"])
    assert policy is not None and state is not None, response.headers
    assert policy.group(1) == limit and int(policy.group(2)) == quota
    assert policy.group(3) == (None if window is None else str(window))
    assert state.group(1) == limit and int(state.group(2)) == remaining
    assert int(state.group(3)) == retry_after
    assert 1 <= retry_after <= (window or 3600)
    return retry_after


def sign_up(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return api.post(
        "/v1/volunteers", json={"display_name": "Ada", "languages": ["en"]}, headers=headers
    )


def volunteer(api: httpx.Client) -> dict[str, str]:
    return volunteer_and_id(api)[0]


def volunteer_and_id(api: httpx.Client) -> tuple[dict[str, str], str]:
    response = sign_up(api, address())
    assert response.status_code == 201, response.text
    headers = bearer(response.json()["token"])
    assert api.post("/v1/me/charter", json={"accept": True}, headers=headers).status_code == 200
    return headers, str(response.json()["id"])


def org(api: httpx.Client) -> tuple[str, dict[str, str]]:
    response = api.post(
        "/v1/orgs",
        json={"name": "Water for all", "contact_email": "ops@example.org"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], bearer(response.json()["api_key"])


def project(api: httpx.Client, headers: dict[str, str], tasks: int = 0, **policy: object) -> str:
    body = {"name": "Posters", "task_type": "moderation", "instructions": "Label it.", **policy}
    created = api.post("/v1/projects", json=body, headers=headers)
    assert created.status_code == 201, created.text
    project_id = str(created.json()["id"])
    if tasks:
        sent = submit(api, headers, project_id, tasks)
        assert sent.status_code == 200 and sent.json()["accepted"] == tasks, sent.text
    return project_id


def served_by(clients: tuple[httpx.Client, ...], project_id: str) -> None:
    """Wait until every process serves the new project (each reads the claim index again
    within a second): a fresh volunteer, at a fresh address, claims on each until it gets a
    task, then gives it back, so the tests' own volunteers count only their own claims."""
    for client in clients:

        def serves(api: httpx.Client = client) -> bool:
            prober = volunteer(api)
            claimed = api.post("/v1/assignments", json={"project_id": project_id}, headers=prober)
            if claimed.status_code != 201:
                return False
            release = f"/v1/assignments/{claimed.json()['id']}/release"
            assert api.post(release, json={"reason": "probe"}, headers=prober).status_code == 204
            return True

        wait_for(serves, f"{project_id} served by {client.base_url}")


def submit(
    api: httpx.Client, headers: dict[str, str], project_id: str, count: int
) -> httpx.Response:
    items = [
        {"payload": {**MODERATION, "content": f"Boil water ({secrets.token_hex(4)})."}}
        for _ in range(count)
    ]
    return api.post(f"/v1/projects/{project_id}/tasks", json={"tasks": items}, headers=headers)


# -- per client address ---------------------------------------------------------------------


def test_sign_ups_are_limited_per_address_over_both_processes(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    me, neighbour = address(), {"X-Forwarded-For": "192.0.2.200"}
    assert sign_up(a, me).status_code == 201
    assert sign_up(b, me).status_code == 201
    assert sign_up(a, me).status_code == 201
    refused(sign_up(b, me), "signup", 3, 60)
    refused(sign_up(a, me), "signup", 3, 60)  # and on the other process, at once
    # Another address (through the trusted proxy) has its own count.
    assert sign_up(b, neighbour).status_code == 201


def test_an_address_refused_is_answered_before_its_body_is_read_and_counted_under_the_route(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    """Once A has refused an address, A answers its next sign-ups from memory before routing
    (api.remembered_refusals): a body the route would refuse with 422 gets the same 429, with
    every header, a request id, and the metrics count it under the route."""
    a, _ = a_b
    me, neighbour = address(), address()
    for _ in range(3):
        assert sign_up(a, me).status_code == 201
    refused(sign_up(a, me), "signup", 3, 60)  # the route refuses it, and A remembers
    counted_before = _refused_sign_ups_counted(a)
    malformed = {"display_name": ["not", "a", "name"]}
    answered = a.post("/v1/volunteers", json=malformed, headers=me)
    refused(answered, "signup", 3, 60)
    assert answered.headers["X-Request-ID"]
    assert answered.json()["error"]["code"] == "rate_limited"
    assert _refused_sign_ups_counted(a) == counted_before + 1
    # An address A remembers nothing of goes to the route, which reads the body.
    assert a.post("/v1/volunteers", json=malformed, headers=neighbour).status_code == 422


def _refused_sign_ups_counted(api: httpx.Client) -> float:
    """The process's count of sign-ups answered 429, under the sign-up route (api.metrics)."""
    line = 'ruche_http_requests_total{method="POST",route="/v1/volunteers",status="429"} '
    for row in api.get("/metrics").text.split("\n"):
        if row.startswith(line):
            return float(row.removeprefix(line))
    return 0.0


def test_forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy(
    apis: list[Api], redis_client: redis.Redis
) -> None:
    with httpx.Client(base_url=apis[2].url) as c:
        for _ in range(3):
            assert sign_up(c, address()).status_code == 201
        # A new X-Forwarded-For each time, and still the peer's (127.0.0.1) count.
        refused(sign_up(c, address()), "signup", 3, 60)


def test_failed_tokens_are_limited_per_address_and_a_valid_token_still_works(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    me = address()
    valid = volunteer(a)
    for api in (a, b, a):
        response = api.get("/v1/me", headers={**me, **bearer("rk_vol_" + "x" * 40)})
        assert response.status_code == 401
    refused(b.get("/v1/me", headers=me), "unauthenticated", 3, 60)  # no token at all
    refused(
        a.get("/v1/projects", headers={**me, **bearer("rk_org_nope")}), "unauthenticated", 3, 60
    )
    # Only failures count: the same address with a valid token is served.
    assert b.get("/v1/me", headers={**me, **valid}).status_code == 200


# -- per token and per volunteer ------------------------------------------------------------


def test_every_request_of_a_token_counts_against_its_limit(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    me = volunteer(a)  # the charter: its first counted request
    for i in range(11):
        assert (a if i % 2 else b).get("/v1/me", headers=me).status_code == 200
    refused(a.get("/v1/me", headers=me), "token", 12, 60)
    refused(b.get("/v1/me/assignments", headers=me), "token", 12, 60)
    # Another volunteer is not affected.
    assert b.get("/v1/me", headers=volunteer(b)).status_code == 200


def test_claims_and_releases_are_limited_per_volunteer(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    _, ngo = org(a)
    served_by(a_b, project(a, ngo, tasks=10))
    me = volunteer(a)
    first = a.post("/v1/assignments", headers=me)
    assert first.status_code == 201, first.text
    assert b.post(f"/v1/assignments/{first.json()['id']}/release", json={"reason": "no_time"},
                  headers=me).status_code == 204  # fmt: skip
    second = b.post("/v1/assignments", headers=me)
    assert second.status_code == 201, second.text
    assert a.post(f"/v1/assignments/{second.json()['id']}/release", json={"reason": "no_time"},
                  headers=me).status_code == 204  # fmt: skip
    third = a.post("/v1/assignments", headers=me)
    assert third.status_code == 201, third.text
    refused(
        b.post(f"/v1/assignments/{third.json()['id']}/release", json={"reason": "no_time"},
               headers=me),
        "releases", 2, 60,
    )  # fmt: skip
    refused(a.post("/v1/assignments", headers=me), "claims", 3, 60)
    # The refused release left the assignment live and the volunteer's.
    assert b.get(f"/v1/assignments/{third.json()['id']}", headers=me).status_code == 200


def test_a_new_volunteer_holds_one_live_assignment_then_more_as_answers_are_accepted(
    a_b: tuple[httpx.Client, httpx.Client], redis_client: redis.Redis
) -> None:
    a, b = a_b
    _, ngo = org(a)
    served_by(a_b, project(a, ngo, tasks=10))
    newcomer = volunteer(a)
    assert a.post("/v1/assignments", headers=newcomer).status_code == 201
    refused(b.post("/v1/assignments", headers=newcomer), "live_assignments", 1, None)
    # Two accepted answers earn a second slot (the stats actor's counter, written as it does,
    # before either process read this volunteer's profile).
    trusted, trusted_id = volunteer_and_id(b)
    redis_client.hset(Keys().volunteer_stats(trusted_id), "accepted", 2)
    assert a.post("/v1/assignments", headers=trusted).status_code == 201
    assert b.post("/v1/assignments", headers=trusted).status_code == 201
    refused(a.post("/v1/assignments", headers=trusted), "live_assignments", 2, None)


def test_a_project_caps_the_tasks_one_volunteer_claims(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    _, ngo = org(a)
    project_id = project(a, ngo, tasks=6, max_tasks_per_volunteer=1, redundancy=1)
    served_by(a_b, project_id)
    me, other = volunteer(a), volunteer(b)
    mine = a.post("/v1/assignments", json={"project_id": project_id}, headers=me)
    assert mine.status_code == 201
    assert b.post(f"/v1/assignments/{mine.json()['id']}/submit", json={"answer": {"label": "ok"}},
                  headers=me).status_code == 202  # fmt: skip
    # Five tasks are still open, none for this volunteer; another volunteer gets one.
    assert a.post("/v1/assignments", json={"project_id": project_id}, headers=me).status_code == 204
    assert (
        b.post("/v1/assignments", json={"project_id": project_id}, headers=other).status_code == 201
    )
    shown = a.get(f"/v1/projects/{project_id}", headers=ngo).json()
    assert shown["max_tasks_per_volunteer"] == 1


def test_a_project_cap_must_be_positive(a_b: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = a_b
    _, ngo = org(a)
    body = {"name": "P", "task_type": "moderation", "instructions": "x"}
    for bad in (0, -1, True, "3"):
        response = a.post("/v1/projects", json={**body, "max_tasks_per_volunteer": bad},
                          headers=ngo)  # fmt: skip
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["code"] == "invalid_request"


# -- per organisation -----------------------------------------------------------------------


def test_bulk_tasks_are_limited_per_organisation_at_the_rate_the_operator_set(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    org_id, ngo = org(a)
    project_id = project(a, ngo)
    limits = b.put(f"/v1/orgs/{org_id}/limits", json={"bulk_tasks": "5/minute"},
                   headers=bearer(ADMIN_TOKEN))  # fmt: skip
    assert limits.status_code == 200, limits.text
    assert limits.json()["bulk_tasks"] == "5/minute"
    assert limits.json()["set_by_operator"] == ["bulk_tasks"]
    too_big = submit(a, ngo, project_id, 6)
    assert too_big.status_code == 422 and too_big.json()["error"]["code"] == "batch_too_large"
    assert submit(a, ngo, project_id, 3).json()["accepted"] == 3
    refused(submit(b, ngo, project_id, 3), "bulk_tasks", 5, 60, remaining=2)
    assert submit(a, ngo, project_id, 2).json()["accepted"] == 2
    refused(submit(b, ngo, project_id, 1), "bulk_tasks", 5, 60)
    # Past the rate, a batch is refused before its body is read: a flood costs no parsing (not
    # even of a body that is not JSON, which would otherwise be a 400).
    junk = a.post(f"/v1/projects/{project_id}/tasks", content=b"{not json",
                  headers={**ngo, "Content-Type": "application/json"})  # fmt: skip
    refused(junk, "bulk_tasks", 5, 60)
    # Another organisation, on the instance's own rate, is not affected.
    _, other = org(b)
    assert submit(b, other, project(b, other), 10).json()["accepted"] == 10


def test_a_full_task_quota_refuses_the_items_past_it_then_whole_batches(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    org_id, ngo = org(a)
    first, second = project(a, ngo), project(a, ngo)
    admin = bearer(ADMIN_TOKEN)
    assert a.put(f"/v1/orgs/{org_id}/limits", json={"quota_tasks": 5},
                 headers=admin).status_code == 200  # fmt: skip
    assert submit(a, ngo, first, 3).json()["accepted"] == 3
    part = submit(b, ngo, second, 4)  # over both projects: room for 2 more
    assert part.status_code == 200, part.text
    body = part.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["errors"][0]["type"]) for r in body["rejected"]] == [
        (2, "quota_exceeded"),
        (3, "quota_exceeded"),
    ]
    assert body["task_ids"][2:] == [None, None]
    full = submit(a, ngo, first, 1)
    assert full.status_code == 507, full.text
    assert full.json()["error"]["code"] == "quota_exceeded"
    assert full.json()["error"]["details"][0]["tasks_held"] == 5
    seen = b.get("/v1/org/limits", headers=ngo).json()
    assert seen["quota_tasks"] == 5 and seen["usage"]["tasks"] == 5
    # The operator lifts it (null: back to the instance's quota).
    assert a.put(f"/v1/orgs/{org_id}/limits", json={"quota_tasks": None},
                 headers=admin).json()["set_by_operator"] == []  # fmt: skip
    assert submit(b, ngo, first, 1).json()["accepted"] == 1


def test_a_full_payload_byte_quota_refuses_what_does_not_fit(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = a_b
    org_id, ngo = org(a)
    project_id = project(a, ngo)
    assert submit(a, ngo, project_id, 2).json()["accepted"] == 2
    held = a.get(f"/v1/orgs/{org_id}/limits", headers=bearer(ADMIN_TOKEN)).json()["usage"]
    per_task = held["payload_bytes"] // 2
    assert per_task > 50  # the JSON of one payload
    room = held["payload_bytes"] + per_task + per_task // 2  # one more fits, not two
    assert b.put(f"/v1/orgs/{org_id}/limits", json={"quota_payload_bytes": room},
                 headers=bearer(ADMIN_TOKEN)).status_code == 200  # fmt: skip
    body = submit(b, ngo, project_id, 2).json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["errors"][0]["type"] == "quota_exceeded"
    # Half a payload's room is left: a task is refused as an item, not the request.
    again = submit(a, ngo, project_id, 1)
    assert again.status_code == 200 and again.json()["accepted"] == 0
    assert again.json()["rejected"][0]["errors"][0]["type"] == "quota_exceeded"
    assert b.put(f"/v1/orgs/{org_id}/limits", json={"quota_payload_bytes": room - per_task},
                 headers=bearer(ADMIN_TOKEN)).status_code == 200  # fmt: skip
    assert submit(a, ngo, project_id, 1).status_code == 507


def test_the_operators_limit_routes_refuse_bad_values_and_unknown_organisations(
    a_b: tuple[httpx.Client, httpx.Client],
) -> None:
    a, _ = a_b
    org_id, ngo = org(a)
    admin = bearer(ADMIN_TOKEN)
    for bad in ({"bulk_tasks": "lots"}, {"bulk_tasks": "0/minute"}, {"quota_tasks": -1},
                {"quota_tasks": True}, {"other": 1}):  # fmt: skip
        response = a.put(f"/v1/orgs/{org_id}/limits", json=bad, headers=admin)
        assert response.status_code == 422, (bad, response.text)
    assert a.put("/v1/orgs/org_nope/limits", json={}, headers=admin).status_code == 404
    assert a.put(f"/v1/orgs/{org_id}/limits", json={}, headers=ngo).status_code == 403


def test_a_full_redis_refuses_writes_with_507_storage_full_and_keeps_its_data(
    a_b: tuple[httpx.Client, httpx.Client], redis_client: redis.Redis
) -> None:
    a, b = a_b
    _, ngo = org(a)
    project_id = project(a, ngo, tasks=3)
    used = int(redis_client.info("memory")["used_memory"])
    redis_client.config_set("maxmemory-policy", "noeviction")
    redis_client.config_set("maxmemory", used)
    try:
        full = submit(b, ngo, project_id, 50)
        assert full.status_code == 507, full.text
        assert full.json()["error"]["code"] == "storage_full"
        assert int(full.headers["Retry-After"]) >= 1
        # Reads still work, and nothing was evicted.
        shown = a.get(f"/v1/projects/{project_id}", headers=ngo)
        assert shown.status_code == 200 and shown.json()["counts"]["open"] == 3
    finally:
        redis_client.config_set("maxmemory", 0)
    assert submit(a, ngo, project_id, 1).json()["accepted"] == 1
