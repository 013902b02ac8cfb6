"""The crash run: the whole pipeline under kill -9, and nothing is lost, stuck or sent twice.

A real ``ruche api`` (uvicorn), two dramatiq worker processes (``ruche worker``), the relay and
the scheduler, all on the session's Redis, and a real local HTTP receiver registered with
``PUT /v1/webhook``. An NGO submits 200 tasks of each built-in type in four waves; twelve
simulated volunteers of varied reliability answer through the API (some skip a task, a few
abandon one and let its lease expire), so answers disagree: tasks ask for a fourth answer
(``max_redundancy`` 4 over a redundancy of 3) and go to two reviewers, who accept, correct,
reopen or reject. Meanwhile a chaos thread kills the worker processes with SIGKILL at random
moments at least 20 times (starting them again at once), and the relay and the scheduler three
times each; each wave of tasks waits for five more worker kills, so the kills fall while work
is in flight. The answers are fixed by the seed for each (volunteer, task); who claims what
depends on timing, and nothing asserted here depends on it.

Afterwards: every task is resolved or rejected; every result reached the receiver at least once,
every copy of one result carries the same ``webhook-id`` and body, and every request verifies
with the ``standardwebhooks`` library; the results cursor, polled all along, returned each
result exactly once; what reviewers decided is what the results say; every answer was counted
once in its volunteer's stats, and every result once for each of its contributors. The worst
delay between a result's publication and its first delivery, and the kills, are printed (not
asserted: the machine is shared and noisy). A worker killed in the middle of an attempt does not
hold its delivery for the attempt lease: the broker hands its message to another worker within
seconds, and that message takes its own attempt back at once (``workers.delivery.deliverer``).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from standardwebhooks import Webhook

from core.redis.keys import Keys
from tests.support.crash_run import (
    TYPES,
    WORKERS,
    Chaos,
    Fleet,
    Received,
    WebhookReceiver,
    draw,
    is_true,
    number_of,
    payload,
    true_answer,
    volunteer_answer,
)
from tests.support.live_ruche import ADMIN_TOKEN, RunningApi
from tests.support.threads import ThreadCrew

SEED = 20240501
TASKS_PER_TYPE = 200
WAVES = 4
REDUNDANCY, MAX_REDUNDANCY = 3, 4
LEASE_SECONDS = 30  # the shortest allowed: abandoned leases come back within the run
# Twelve volunteers from careful to careless; two reviewers who answer nothing themselves.
RELIABILITY = (0.97, 0.95, 0.93, 0.9, 0.88, 0.85, 0.82, 0.8, 0.76, 0.72, 0.66, 0.6)
REVIEWERS = 2
SPOT_CHECK_RATE = 0.05
MIN_WORKER_KILLS = 20
KILLS_PER_WAVE = 5  # the last wave comes after 15 of them
PLAN = [*(["worker-a", "worker-b"] * (MIN_WORKER_KILLS // 2)), *["relay"] * 3, *["scheduler"] * 3]
# Generous ceilings for conditions waited on; a healthy run takes a fraction of each.
WORK_TIMEOUT_S = 300.0
DELIVERY_TIMEOUT_S = 180.0
KILLS_TIMEOUT_S = 300.0  # five kills, each after the fleet's start-up (seconds when busy)
STATS_TIMEOUT_S = 60.0
POLL_S = 0.25

TaskKey = tuple[str, str]  # (project id, task id): task ids are numbered per project


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout: float,
    guard: Callable[[], None],
    state: Callable[[], object] = lambda: "",
) -> None:
    """Poll ``condition`` until it holds; ``guard`` raises when a helper thread failed, and
    ``state`` tells what things looked like when time ran out."""
    deadline = time.monotonic() + timeout
    while not condition():
        guard()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {state()}")
        time.sleep(POLL_S)


@dataclass
class World:
    http: httpx.Client
    ngo: dict[str, str]
    projects: dict[str, str]  # task type -> project id
    secret: str
    volunteers: list[tuple[str, dict[str, str]]]  # (id, auth headers)
    reviewers: list[dict[str, str]]


@dataclass
class Crowd(ThreadCrew):
    """What the simulated people did, shared by their threads."""

    submitted: Counter[str] = field(default_factory=Counter)  # volunteer id -> 202s
    late: int = 0  # submissions refused because the lease had expired (409)
    released: int = 0
    abandoned: int = 0
    finals: int = 0  # review decisions other than reopen
    # (project id, task id) -> the review decisions taken on it, in order
    decisions: dict[TaskKey, list[str]] = field(default_factory=lambda: defaultdict(list))


class Cursor:
    """An NGO polling one project's results by cursor, keeping everything it ever received."""

    def __init__(self, project_id: str, headers: dict[str, str]) -> None:
        self.project_id, self.headers = project_id, headers
        self.after = "0-0"
        self.items: list[dict[str, Any]] = []

    def drain(self, http: httpx.Client) -> None:
        while True:
            page = http.get(
                f"/v1/projects/{self.project_id}/results",
                params={"after": self.after, "limit": 7},  # small pages: many cursor steps
                headers=self.headers,
            )
            assert page.status_code == 200, page.text
            body = page.json()
            self.items += body["items"]
            self.after = body["next"]
            if not body["items"]:
                return


@pytest.fixture
def fleet(redis_url: str, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(redis_url, tmp_path)
    for name in ("worker-a", "worker-b", "relay", "scheduler"):
        fleet.start(name)
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        try:
            yield receiver
        finally:
            receiver.dump(tmp_path / "received.jsonl")


def make_world(http: httpx.Client, receiver: WebhookReceiver) -> World:
    org = http.post(
        "/v1/orgs",
        json={"name": "Crash Test NGO", "contact_email": "ops@example.org"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert org.status_code == 201, org.text
    ngo = bearer(org.json()["api_key"])
    hook = http.put("/v1/webhook", json={"url": receiver.url}, headers=ngo)
    assert hook.status_code == 200, hook.text
    projects = {}
    for task_type in TYPES:
        spec = {
            "name": f"{task_type} under fire",
            "task_type": task_type,
            "redundancy": REDUNDANCY,
            "max_redundancy": MAX_REDUNDANCY,
            "lease_seconds": LEASE_SECONDS,
            "instructions": "Answer carefully.",
            # Some agreed results go to a reviewer too (spot checks).
            "review": {"spot_check_rate": SPOT_CHECK_RATE},
        }
        made = http.post("/v1/projects", json=spec, headers=ngo)
        assert made.status_code == 201, made.text
        projects[task_type] = made.json()["id"]

    def sign_up(name: str) -> tuple[str, dict[str, str]]:
        signed = http.post("/v1/volunteers", json={"display_name": name, "languages": ["en", "fr"]})
        assert signed.status_code == 201, signed.text
        headers = bearer(signed.json()["token"])
        assert http.post("/v1/me/charter", json={"accept": True}, headers=headers).is_success
        return signed.json()["id"], headers

    volunteers = [sign_up(f"Volunteer {i}") for i in range(len(RELIABILITY))]
    reviewers = []
    for i in range(REVIEWERS):
        reviewer_id, headers = sign_up(f"Reviewer {i}")
        for project_id in projects.values():
            granted = http.post(
                f"/v1/projects/{project_id}/reviewers", json={"volunteer_id": reviewer_id},
                headers=ngo,
            )  # fmt: skip
            assert granted.status_code == 201, granted.text
        reviewers.append(headers)
    return World(http, ngo, projects, hook.json()["secret"], volunteers, reviewers)


def submit_wave(world: World, wave: int) -> None:
    per_wave = TASKS_PER_TYPE // WAVES
    for task_type, project_id in world.projects.items():
        numbers = range(wave * per_wave, (wave + 1) * per_wave)
        tasks = [{"external_id": f"{task_type}-{n}", "payload": payload(task_type, n)}
                 for n in numbers]  # fmt: skip
        sent = world.http.post(
            f"/v1/projects/{project_id}/tasks", json={"tasks": tasks}, headers=world.ngo
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["accepted"] == per_wave, sent.text


def volunteer(base_url: str, crowd: Crowd, who: int, volunteer_id: str,
              headers: dict[str, str]) -> Callable[[], None]:  # fmt: skip
    """Claim, answer, now and then skip a task or walk away from one (once)."""

    def work() -> None:
        abandoned = False
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
            while not crowd.done.is_set():
                claim = http.post("/v1/assignments", json={})
                if claim.status_code in (204, 429):  # nothing fits, or too many held
                    crowd.done.wait(POLL_S)
                    continue
                assert claim.status_code == 201, claim.text
                assignment = claim.json()
                task_type, body = assignment["task"]["type"], assignment["task"]["payload"]
                n = number_of(task_type, body)
                luck = draw("claim", who, task_type, n)
                if luck < 0.03:
                    released = http.post(
                        f"/v1/assignments/{assignment['id']}/release", json={"reason": "no_time"}
                    )
                    assert released.status_code == 204, released.text
                    with crowd.lock:
                        crowd.released += 1
                    continue
                if luck < 0.045 and not abandoned:
                    abandoned = True  # the lease expires; the scheduler gives the slot back
                    with crowd.lock:
                        crowd.abandoned += 1
                    continue
                answer = volunteer_answer(task_type, n, who, RELIABILITY[who])
                submitted = http.post(
                    f"/v1/assignments/{assignment['id']}/submit",
                    json={"answer": answer, "seconds_spent": 60},
                )
                with crowd.lock:
                    if submitted.status_code == 202:
                        crowd.submitted[volunteer_id] += 1
                    elif submitted.status_code == 409:
                        crowd.late += 1  # a lease that ran out under load: refused, as it should
                    else:
                        raise AssertionError(submitted.text)

    return work


def decide(
    crowd: Crowd, task_type: str, n: int, candidates: list[dict[str, Any]]
) -> dict[str, Any]:
    """A reviewer's decision on task ``n``, deterministic in the order of decisions."""
    if len(candidates) < MAX_REDUNDANCY:  # a spot check: one more answer is still allowed
        return {"action": "reopen", "comment": "one more opinion"}
    with crowd.lock:
        crowd.finals += 1
        turn = crowd.finals
    if turn % 10 == 4:
        return {"action": "reject", "comment": "unanswerable"}
    right = [c for c in candidates if is_true(task_type, n, c["answer"])]
    if right:
        return {"action": "accept", "submission_id": right[0]["submission_id"]}
    return {"action": "correct", "answer": true_answer(task_type, n)}


def reviewer(base_url: str, crowd: Crowd, headers: dict[str, str]) -> Callable[[], None]:
    """Settle what the reviewers' queue holds. A spot check (it comes with fewer answers than
    the ceiling) is reopened for one more answer; of the rest, every tenth is rejected, and
    otherwise a right candidate is accepted, or the answer corrected when none is right."""

    def work() -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
            while not crowd.done.is_set():
                item = http.post("/v1/reviews", json={})
                if item.status_code == 204:
                    crowd.done.wait(POLL_S)
                    continue
                assert item.status_code == 201, item.text
                review = item.json()
                task_type, body = review["task"]["type"], review["task"]["payload"]
                n = number_of(task_type, body)
                decision = decide(crowd, task_type, n, review["candidates"])
                decided = http.post(f"/v1/reviews/{review['id']}/decision", json=decision)
                assert decided.status_code == 200, decided.text
                with crowd.lock:
                    task = review["task"]
                    crowd.decisions[task["project_id"], task["id"]].append(decision["action"])

    return work


def poller(base_url: str, crowd: Crowd, cursors: dict[str, Cursor]) -> Callable[[], None]:
    """The NGO follows its results by cursor all along the run."""

    def work() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            while not crowd.done.wait(0.5):
                for cursor in cursors.values():
                    cursor.drain(http)

    return work


def project_counts(world: World) -> dict[str, dict[str, int]]:
    counts = {}
    for task_type, project_id in world.projects.items():
        got = world.http.get(f"/v1/projects/{project_id}", headers=world.ngo)
        assert got.status_code == 200, got.text
        counts[task_type] = {k: v for k, v in got.json()["counts"].items() if v}
    return counts


def all_settled(counts: dict[str, dict[str, int]]) -> bool:
    return all(
        c.get("resolved", 0) + c.get("rejected", 0) == TASKS_PER_TYPE for c in counts.values()
    )


def ms_of(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def polled_results(world: World, cursors: dict[str, Cursor]) -> dict[TaskKey, dict[str, Any]]:
    """What the cursors returned, checked to hold each task's result exactly once."""
    results: dict[TaskKey, dict[str, Any]] = {}
    for task_type, cursor in cursors.items():
        cursor.drain(world.http)
        ids = [item["task_id"] for item in cursor.items]
        assert len(ids) == len(set(ids)) == TASKS_PER_TYPE, task_type
        assert {item["external_id"] for item in cursor.items} == {
            f"{task_type}-{n}" for n in range(TASKS_PER_TYPE)
        }
        pid = world.projects[task_type]
        results.update({(pid, i["task_id"]): {**i, "type": task_type} for i in cursor.items})
    return results


def check_deliveries(
    world: World, received: list[Received], results: dict[TaskKey, dict[str, Any]]
) -> dict[str, list[Received]]:
    """Every request verifies; all copies of one result carry one webhook-id and one body,
    which says what the cursor said. Returns the requests by webhook-id."""
    hook = Webhook(world.secret)
    copies: dict[str, list[Received]] = defaultdict(list)
    ids_of_task: dict[TaskKey, set[str]] = defaultdict(set)
    for request in received:
        event = hook.verify(request.body, request.headers)
        assert event["type"] == "result.ready"
        copies[request.webhook_id].append(request)
        ids_of_task[event["data"]["project_id"], event["data"]["task_id"]].add(request.webhook_id)
    assert set(ids_of_task) == set(results)
    assert all(len(ids) == 1 for ids in ids_of_task.values()), {
        task: ids for task, ids in ids_of_task.items() if len(ids) > 1
    }
    for webhook_id, requests in copies.items():
        assert len({r.body for r in requests}) == 1, webhook_id
        data = requests[0].event["data"]
        polled = results[data["project_id"], data["task_id"]]
        assert (data["answer"], data["method"]) == (polled["answer"], polled["method"])
    return copies


def check_reviews(crowd: Crowd, results: dict[TaskKey, dict[str, Any]]) -> Counter[str]:
    """What the reviewers decided last on a task is what its result says; results by method."""
    for task_key, result in results.items():
        actions = crowd.decisions.get(task_key, [])
        final = actions[-1] if actions else None
        n = int(result["external_id"].rsplit("-", 1)[1])
        if result["method"] == "review":
            assert final in ("accept", "correct"), (task_key, actions)
            assert is_true(result["type"], n, result["answer"]), result
        elif result["method"] == "rejected":
            assert (final, result["answer"]) == ("reject", None), (task_key, actions)
        else:
            assert result["method"] == "agreement", result
            assert final in (None, "reopen"), (task_key, actions)
    methods = Counter(r["method"] for r in results.values())
    assert methods["review"] > 0 and methods["rejected"] > 0, methods
    assert any("reopen" in actions for actions in crowd.decisions.values())
    return methods


def check_stats(
    world: World, crowd: Crowd, redis_client: redis.Redis, guard: Callable[[], None]
) -> None:
    """Each answer counted once in its volunteer's stats (``tasks``), and each result with an
    answer once for each of its contributors (``decided``), whatever was redelivered."""
    keys = Keys()
    decided: Counter[str] = Counter()
    for project_id in world.projects.values():
        entries: Any = redis_client.xrange(keys.project(project_id).results)
        for _, fields in entries:
            if json.loads(fields["answer"]) is not None:
                decided.update(set(json.loads(fields["contributors"])))
    wanted = {vid: (crowd.submitted[vid], decided[vid]) for vid, _ in world.volunteers}

    def counted() -> dict[str, tuple[int, int]]:
        got = {}
        for vid, _ in world.volunteers:
            stats = redis_client.hgetall(keys.volunteer_stats(vid))
            got[vid] = (int(stats.get("tasks", 0)), int(stats.get("decided", 0)))
        return got

    wait_for(lambda: counted() == wanted, "every answer and result in the volunteers' stats",
             STATS_TIMEOUT_S, guard, lambda: (counted(), wanted))  # fmt: skip
    for vid, headers in world.volunteers:
        me = world.http.get("/v1/me", headers=headers).json()
        assert me["stats"]["tasks"] == crowd.submitted[vid]
        assert len({item["id"] for item in me["feedback"]}) == len(me["feedback"])


def delay_figures(copies: dict[str, list[Received]]) -> str:
    """From the receiver's side: how long after its publication (``decided_at``) each result
    was first attempted, and first accepted (2xx; some first attempts get a 503)."""
    first, ok = [], []
    for requests in copies.values():
        decided_s = ms_of(requests[0].event["data"]["decided_at"]) / 1000
        first.append(requests[0].at - decided_s)
        ok.append(next(r.at for r in requests if r.status == 200) - decided_s)
    return (
        f"publication->first attempt p50 {percentile(first, 0.5):.2f} s, "
        f"p99 {percentile(first, 0.99):.2f} s, worst {max(first):.2f} s; "
        f"->first 2xx worst {max(ok):.2f} s"
    )


# About a minute on a quiet machine; its own ceilings above add up to several. Past them the
# test has already failed; this bound is for a hang none of them covers.
@pytest.mark.timeout(900)
def test_nothing_is_lost_stuck_or_sent_twice_when_processes_are_killed(
    running_api: RunningApi, fleet: Fleet, receiver: WebhookReceiver, redis_client: redis.Redis
) -> None:
    base_url = running_api.base_url
    chaos = Chaos(fleet, random.Random(SEED).sample(PLAN, len(PLAN)), seed=SEED)
    crowd = Crowd()

    def guard() -> None:
        crowd.check()
        assert chaos.error is None, repr(chaos.error)

    with httpx.Client(base_url=base_url, timeout=60) as http:
        world = make_world(http, receiver)
        cursors = {t: Cursor(pid, world.ngo) for t, pid in world.projects.items()}
        for who, (volunteer_id, headers) in enumerate(world.volunteers):
            crowd.spawn(f"volunteer-{who}", volunteer(base_url, crowd, who, volunteer_id, headers))
        for i, headers in enumerate(world.reviewers):
            crowd.spawn(f"reviewer-{i}", reviewer(base_url, crowd, headers))
        crowd.spawn("cursor-poller", poller(base_url, crowd, cursors))

        # The NGO submits a wave, the chaos kills workers five more times, the next wave...
        chaos.start()
        for wave in range(WAVES):
            if wave:
                chaos.wait_for_kills(wave * KILLS_PER_WAVE, timeout=KILLS_TIMEOUT_S)
            guard()
            submit_wave(world, wave)
        wait_for(lambda: all_settled(project_counts(world)), "every task to be resolved or "
                 "rejected", WORK_TIMEOUT_S, guard, lambda: project_counts(world))  # fmt: skip

        crowd.join()
        crowd.check()
        # Disagreements asked for more answers than the redundancy (dynamic redundancy).
        assert sum(crowd.submitted.values()) > REDUNDANCY * len(TYPES) * TASKS_PER_TYPE
        chaos.work_done.set()
        chaos.join(timeout=120)
        assert chaos.error is None, repr(chaos.error)
        assert fleet.ensure_running() == [], "a piece died without being killed (see its log)"

        # Every task once in the project counts: nothing lost, nothing stuck.
        for task_type, count in project_counts(world).items():
            assert set(count) <= {"resolved", "rejected"}, (task_type, count)
            assert sum(count.values()) == TASKS_PER_TYPE, (task_type, count)

        # Every task's result reaches the receiver, and nothing else does.
        expected = {(pid, f"{t}-{n}") for t, pid in world.projects.items()
                    for n in range(TASKS_PER_TYPE)}  # fmt: skip

        def delivered() -> set[tuple[str, str]]:
            return {
                (r.event["data"]["project_id"], r.event["data"]["external_id"])
                for r in receiver.received()
                if r.status == 200
            }

        wait_for(
            lambda: delivered() >= expected,
            "a delivery of every result",
            DELIVERY_TIMEOUT_S,
            guard,
            lambda: sorted(expected - delivered())[:10],
        )
        received = receiver.received()
        assert delivered() == expected

        results = polled_results(world, cursors)
        copies = check_deliveries(world, received, results)
        methods = check_reviews(crowd, results)
        check_stats(world, crowd, redis_client, guard)

    worker_kills = chaos.count(*WORKERS)
    relay_kills, scheduler_kills = chaos.count("relay"), chaos.count("scheduler")
    resent = sum(1 for requests in copies.values() if len(requests) > 1)
    twice = sum(1 for requests in copies.values() if sum(r.status == 200 for r in requests) > 1)
    print(
        f"\ncrash run: {len(results)} tasks, results {dict(methods)}, "
        f"{sum(map(len, crowd.decisions.values()))} review decisions, "
        f"{sum(crowd.submitted.values())} answers ({crowd.released} released, "
        f"{crowd.abandoned} abandoned, {crowd.late} late); kills: {worker_kills} worker, "
        f"{relay_kills} relay, {scheduler_kills} scheduler; {len(received)} webhook requests, "
        f"{resent} results sent more than once ({twice} accepted twice, same webhook-id); "
        + delay_figures(copies)
    )
    assert worker_kills >= MIN_WORKER_KILLS
    assert relay_kills >= 3 and scheduler_kills >= 3
