"""The whole flow on a real Redis Cluster, with a master killed in the middle of it.

Two ``ruche api`` processes, two ``ruche worker`` processes, the relay and the scheduler, all
with ``RUCHE_REDIS_CLUSTER=1`` on the session's 3-master, 3-replica cluster; the broker on a
plain Redis of its own (the session's server), then on RabbitMQ. An NGO submits tasks of two
types and follows its results by cursor; six volunteer threads answer (half through each API
process), a reviewer settles disagreements, a real local HTTP server receives the webhooks. Once
a third of the answers are in, the master serving the first project's slot is killed with
SIGKILL; its replica takes over, and the dead node is started again later (it rejoins as a
replica).

Afterwards: every task is resolved; the cursor returned each result once; each result reached
the receiver under one ``webhook-id`` only; every answer acknowledged (202) is stored; every
error a client saw meanwhile was a 503 with ``Retry-After`` (counted and printed), none a 500.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from core.redis.keys import Keys
from core.redis.server import free_port
from tests.support.cluster_flow import Api, Crowd, start_api, unresolved_tasks
from tests.support.crash_run import Fleet, WebhookReceiver, payload
from tests.support.live_ruche import ADMIN_TOKEN, bearer, sign_up
from tests.support.processes import wait_until
from tests.support.rabbitmq import delete_queues, rabbitmq_url, unique_prefix
from tests.support.redis_cluster import RedisClusterUnderTest

TYPES = ("moderation", "translation")
TASKS_PER_TYPE = 40
VOLUNTEERS = 6
SETTLE_TIMEOUT_S = 240.0


@pytest.fixture(params=["redis", "rabbitmq"])
def cluster_env(
    request: pytest.FixtureRequest,
    redis_cluster: RedisClusterUnderTest,
    redis_url: str,
    redis_client: object,
) -> Iterator[dict[str, str]]:
    """Every process's settings: the cluster, and the broker on a plain Redis (the session's,
    flushed by redis_client) or on RabbitMQ (queues behind a prefix of the test's own)."""
    prefix = unique_prefix()
    amqp = rabbitmq_url() if request.param == "rabbitmq" else None
    env = {
        "RUCHE_REDIS_URL": redis_cluster.url,
        "RUCHE_REDIS_CLUSTER": "1",
        "RUCHE_REDIS_CLUSTER_NODES": redis_cluster.node_list,
        "RUCHE_BROKER_URL": amqp or redis_url,
        "RUCHE_KEY_PREFIX": prefix,
        "RUCHE_ADMIN_TOKEN": ADMIN_TOKEN,
        "RUCHE_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    try:
        yield env
    finally:
        if amqp is not None:
            delete_queues(amqp, prefix)


@pytest.fixture
def apis(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[list[Api]]:
    started: list[Api] = []
    try:
        for name in ("api-a", "api-b"):
            started.append(start_api(free_port(), cluster_env, tmp_path / f"{name}.log"))
        yield started
    finally:
        for api in started:
            api.stop()


@pytest.fixture
def fleet(
    redis_cluster: RedisClusterUnderTest, cluster_env: dict[str, str], tmp_path: Path
) -> Iterator[Fleet]:
    fleet = Fleet(redis_cluster.url, tmp_path, env=cluster_env)
    for name in ("worker-a", "worker-b", "relay", "scheduler"):
        fleet.start(name)
    try:
        wait_until(lambda: not fleet.not_ready(), "the fleet at work", 120, poll=0.2)
        yield fleet
    finally:
        fleet.stop()


@pytest.mark.timeout(600)
def test_the_flow_survives_a_master_killed_mid_run(
    redis_cluster: RedisClusterUnderTest,
    cluster_env: dict[str, str],
    apis: list[Api],
    fleet: Fleet,
    tmp_path: Path,
) -> None:
    keys = Keys(cluster_env["RUCHE_KEY_PREFIX"])
    first, second = (httpx.Client(base_url=api.base_url, timeout=60) for api in apis)
    with WebhookReceiver() as receiver, first, second:
        org = first.post("/v1/orgs", json={"name": "Cluster NGO", "contact_email": "o@example.org"},
                         headers=bearer(ADMIN_TOKEN))  # fmt: skip
        assert org.status_code == 201, org.text
        ngo = bearer(org.json()["api_key"])
        hook = first.put("/v1/webhook", json={"url": receiver.url}, headers=ngo)
        assert hook.status_code == 200, hook.text
        projects: dict[str, str] = {}
        for task_type in TYPES:
            spec = {"name": f"{task_type} on a cluster", "task_type": task_type,
                    "redundancy": 2, "instructions": "Answer carefully."}  # fmt: skip
            made = first.post("/v1/projects", json=spec, headers=ngo)
            assert made.status_code == 201, made.text
            projects[task_type] = made.json()["id"]
            tasks = [{"external_id": f"{task_type}-{n}", "payload": payload(task_type, n)}
                     for n in range(TASKS_PER_TYPE)]  # fmt: skip
            sent = second.post(f"/v1/projects/{made.json()['id']}/tasks", json={"tasks": tasks},
                               headers=ngo)  # fmt: skip
            assert sent.status_code == 200 and sent.json()["accepted"] == TASKS_PER_TYPE, sent.text
        reviewer_id, reviewer = sign_up(second, "Reviewer")
        for project_id in projects.values():
            granted = first.post(f"/v1/projects/{project_id}/reviewers",
                                 json={"volunteer_id": reviewer_id}, headers=ngo)  # fmt: skip
            assert granted.status_code == 201, granted.text

        crowd = Crowd()
        for who in range(VOLUNTEERS):
            http, api = (first, apis[0]) if who % 2 == 0 else (second, apis[1])
            _, headers = sign_up(http, f"Volunteer {who}")
            crowd.spawn(f"volunteer-{who}", crowd.volunteer(api.base_url, who, headers))
        crowd.spawn("reviewer", crowd.reviewer(apis[1].base_url, reviewer))

        # The kill: the master of the first project's slot, once a third of the answers are in.
        victim = redis_cluster.master_of(keys.project(projects[TYPES[0]]).tasks)
        killed = threading.Event()

        def enough_answers() -> bool:
            crowd.check()
            return len(crowd.acknowledged) >= TASKS_PER_TYPE * len(TYPES) * 2 // 3

        wait_until(enough_answers, "a third of the answers", SETTLE_TIMEOUT_S, poll=0.05)
        killed_at = time.monotonic()
        redis_cluster.kill(victim)
        killed.set()
        redis_cluster.wait_healthy()  # a replica took over
        failover_s = time.monotonic() - killed_at
        redis_cluster.restart(victim)

        counts: dict[str, object] = {}

        def settled() -> bool:
            crowd.check()
            for project_id in projects.values():
                got = first.get(f"/v1/projects/{project_id}", headers=ngo)
                counts[project_id] = got.json().get("counts")
                if got.status_code != 200 or got.json()["counts"].get("resolved") != TASKS_PER_TYPE:
                    return False
            return True

        try:
            wait_until(settled, "every task resolved", SETTLE_TIMEOUT_S, poll=0.5)
        except AssertionError as timed_out:
            client = redis_cluster.client()
            try:
                stuck = {
                    project_id: unresolved_tasks(client, keys.project(project_id))
                    for project_id in projects.values()
                }
            finally:
                client.close()
            raise AssertionError(
                f"{timed_out}; counts by project: {counts}; unresolved: {stuck}"
            ) from None
        crowd.join()
        crowd.check()
        redis_cluster.wait_healthy()
        assert victim.role() == "slave"  # the dead master came back as a replica

        # The cursor: each result once.
        results: dict[tuple[str, str], dict[str, object]] = {}
        for project_id in projects.values():
            after, items = "0-0", []
            while True:
                page = second.get(f"/v1/projects/{project_id}/results",
                                  params={"after": after, "limit": 50}, headers=ngo)  # fmt: skip
                assert page.status_code == 200, page.text
                items += page.json()["items"]
                after = page.json()["next"]
                if not page.json()["items"]:
                    break
            ids = [item["task_id"] for item in items]
            assert len(ids) == len(set(ids)) == TASKS_PER_TYPE
            results.update({(project_id, item["task_id"]): item for item in items})

        # The webhooks: every result delivered, under one webhook-id each.
        def all_delivered() -> bool:
            delivered = {(r.event["data"]["project_id"], r.event["data"]["task_id"])
                         for r in receiver.received() if r.status == 200}  # fmt: skip
            return delivered == set(results)

        wait_until(all_delivered, "every result delivered", SETTLE_TIMEOUT_S, poll=0.5)
        hook_of = Webhook(hook.json()["secret"])
        ids_of_task: dict[tuple[str, str], set[str]] = defaultdict(set)
        for request in receiver.received():
            event = hook_of.verify(request.body, request.headers)
            ids_of_task[event["data"]["project_id"], event["data"]["task_id"]].add(
                request.webhook_id
            )
        assert all(len(ids) == 1 for ids in ids_of_task.values()), ids_of_task

        # Every acknowledged answer is stored.
        client = redis_cluster.client()
        try:
            stored = {
                project_id: " ".join(map(str, client.hvals(keys.project(project_id).answers)))
                for project_id in projects.values()
            }
        finally:
            client.close()
        missing = [sub for project_id, sub in crowd.acknowledged if sub not in stored[project_id]]
        assert not missing, missing
        assert killed.is_set()
        print(
            f"\ncluster flow: {len(crowd.acknowledged)} answers acknowledged, failover seen "
            f"after {failover_s:.1f} s, 503s by route {dict(crowd.unavailable)}, "
            f"{crowd.lost_replies} writes answered 503 but done, webhook requests "
            f"{len(receiver.received())} for {len(results)} results"
        )
