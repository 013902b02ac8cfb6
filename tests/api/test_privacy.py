"""Personal data and deletion through the API, with the jobs run in-process: a volunteer's export
and erasure, deleting a task, a project and an organisation, retention, and each job stopped
halfway (an exception after some batches, as a crash would) then run again to the end.

The proofs are key scans (tests/support/key_scan.py): after an erasure no key or value anywhere
in Redis holds the volunteer's id or display name; after a deletion none holds the project's id.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio

from core.accounts.emails import email_digest
from core.accounts.links import SignInLinks
from core.accounts.recovery import RecoveryCodes
from core.accounts.store import Accounts
from core.board.runner import Board
from core.delivery.results import Result, publish_result
from core.insights.rollup import fold_project
from core.insights.unclear import record_unclear
from core.privacy import run_due_jobs, sweep_project_retention
from core.privacy.volunteers import PSEUDONYM_PREFIX
from core.redis.keys import Keys
from core.settings import Settings
from core.volunteers.certificates import Certificates
from core.volunteers.stats_updates import record_submission
from tests.support.api.client import ADMIN, ADMIN_TOKEN, app_client
from tests.support.key_scan import holding
from web.secret import ServerSecret
from web.sessions import Sessions

pytestmark = pytest.mark.anyio

FAR_FUTURE_MS = 4_000_000_000_000  # 2096: every job is due
NAME = "Zelda Quintessa Erasable"
ADDRESS = "zelda.erasable@example.org"


class Crash(Exception):
    """Stands for a process dying between two batches."""


@pytest.fixture
async def api(redis_client: object, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, webhook_allow_private=True)
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def aclient(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def board(redis_url: str) -> Iterator[Board]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield Board(client)
    finally:
        client.close()


def consume_events(board: Board) -> None:
    """What the relay does to every project stream: read each event and acknowledge it."""
    for project_id in board.project_ids():
        stream = board.keys.project(project_id).events
        with contextlib.suppress(redis.ResponseError):  # the group exists
            board.client.xgroup_create(stream, "relay", id="0", mkstream=True)
        read: Any = board.client.xreadgroup("relay", "test", {stream: ">"}, count=100_000)
        ids = [entry_id for _, entries in read or [] for entry_id, _ in entries]
        if ids:
            board.client.xack(stream, "relay", *ids)


def run_to_the_end(board: Board, *, crash_after: int | None = None, batch: int = 2) -> int:
    """Run every queued job in batches of ``batch`` records, the first run dying after
    ``crash_after`` batches when given; returns how many batches it took."""
    total = 0
    if crash_after is not None:
        seen = []

        def crash(job_id: str, phase: str) -> None:
            seen.append(phase)
            if len(seen) >= crash_after:
                raise Crash(phase)

        with pytest.raises(Crash):
            run_due_jobs(
                board, now_ms=FAR_FUTURE_MS, batch=batch, max_batches=10_000, on_batch=crash
            )
        total += len(seen)
        assert board.client.zcard(board.keys.privacy_jobs) > 0, "the crash left nothing to do"
    for step in range(1, 1000):
        consume_events(board)
        # Later and later: a job waiting for the relay comes due again.
        now = FAR_FUTURE_MS + step * 60_000
        report = run_due_jobs(board, now_ms=now, batch=batch, max_batches=10_000)
        total += report.batches
        if report.pending == 0:
            return total
    raise AssertionError("the jobs never finished")


async def volunteer(api: httpx.AsyncClient, name: str) -> tuple[str, dict[str, str]]:
    signed = await api.post("/v1/volunteers", json={"display_name": name, "languages": ["en"]})
    assert signed.status_code == 201, signed.text
    headers = {"Authorization": f"Bearer {signed.json()['token']}"}
    assert (await api.post("/v1/me/charter", json={"accept": True}, headers=headers)).is_success
    return signed.json()["id"], headers


async def web_volunteer(
    api: httpx.AsyncClient, client: redis.asyncio.Redis, name: str, email: str
) -> tuple[str, dict[str, str]]:
    """Someone who joined on the web pages: an account with an e-mail address, a recovery
    code and a signed-in session (what /join and its mailed link make)."""
    keys = Keys()
    volunteer_id, token = await Accounts(client, keys, None).create_volunteer(
        name, ["en"], [], email=email
    )
    await RecoveryCodes(client, keys).issue(volunteer_id)
    await Sessions(client, keys).start(volunteer_id)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.post("/v1/me/charter", json={"accept": True}, headers=headers)).is_success
    return volunteer_id, headers


async def what_workers_and_pages_add(
    board: Board, client: redis.asyncio.Redis, s: dict[str, Any]
) -> None:
    """What the stats actor, the insights fold and the pages add once people worked: stats
    per organisation, the projects each worked on, the insights' per-volunteer counters, an
    "instructions unclear" report, and a certificate stating the erased volunteer's name."""
    project_id, (erased_id, _) = s["project_id"], s["erased"]
    pk = board.keys.project(project_id)
    for task_id, raw in board.client.hgetall(pk.answers).items():
        for entry in json.loads(raw):
            assert record_submission(board, project_id, str(task_id), entry["submission_id"])
    assert board.client.zscore(board.keys.volunteer_projects(erased_id), project_id)
    assert board.run(
        record_unclear(board.keys, board.clock, project_id, erased_id, s["task_ids"][0], "Huh?")
    )
    assert fold_project(board, project_id).events > 0
    assert board.client.hget(pk.insights_volunteers, f"{erased_id}:a")
    certificates = Certificates(client, Keys(), ServerSecret(client, Keys()))

    async def organisation(org_id: str) -> str:
        return "Forum Care"

    figures = await certificates.current_figures(erased_id, NAME, organisation, {})
    assert figures["lines"][0]["org_id"] == s["org_id"]
    s["certificate"] = (await certificates.issue(erased_id, figures)).id
    # The API counted the erased volunteer's requests (claims, token) in the rate limits.
    limits = [k for k in board.client.scan_iter(f"{board.keys.rate_limits}:*{erased_id}*")]
    assert limits, "no rate-limit counter names the volunteer"


async def scene(
    api: httpx.AsyncClient, board: Board, client: redis.asyncio.Redis
) -> dict[str, Any]:
    """An NGO's moderation project; two volunteers answer three tasks each, results are
    published naming them; the first (who joined on the web) also holds a live lease on a
    fourth task and review rights; an idempotent bulk submission is on record; then
    :func:`what_workers_and_pages_add`."""
    made = await api.post(
        "/v1/orgs", json={"name": "Forum Care", "contact_email": "a@example.org"}, headers=ADMIN
    )
    org_id, ngo = made.json()["id"], {"Authorization": f"Bearer {made.json()['api_key']}"}
    project = await api.post(
        "/v1/projects",
        json={
            "name": "Posts",
            "task_type": "moderation",
            "redundancy": 2,
            "instructions": "Label the post.",
        },
        headers=ngo,
    )
    project_id = project.json()["id"]
    tasks = [
        {"external_id": f"post-{n}", "payload": {"content": f"Post {n}", "labels": ["ok", "spam"]}}
        for n in range(4)
    ]
    sent = await api.post(
        f"/v1/projects/{project_id}/tasks",
        json={"tasks": tasks[:3]},
        headers={**ngo, "Idempotency-Key": "batch-1"},
    )
    assert sent.json()["accepted"] == 3, sent.text
    erased_id, erased = await web_volunteer(api, client, NAME, ADDRESS)
    kept_id, kept = await volunteer(api, "Kept Volunteer")
    task_ids: list[str] = []
    for headers in (erased, kept):
        while True:
            claim = await api.post(
                "/v1/assignments", json={"project_id": project_id}, headers=headers
            )
            if claim.status_code == 204:
                break
            assert claim.status_code == 201, claim.text
            submitted = await api.post(
                f"/v1/assignments/{claim.json()['id']}/submit",
                json={"answer": {"label": "spam"}, "seconds_spent": 30},
                headers=headers,
            )
            assert submitted.status_code == 202, submitted.text
            task_ids.append(claim.json()["task"]["id"])
    for task_id in sorted(set(task_ids)):
        result = Result(
            task_id, {"label": "spam"}, 1.0, "agreement", contributors=[erased_id, kept_id]
        )
        board.run(publish_result(board.keys, project_id, result))
    await api.post(f"/v1/projects/{project_id}/tasks", json={"tasks": tasks[3:]}, headers=ngo)
    live = await api.post("/v1/assignments", json={"project_id": project_id}, headers=erased)
    assert live.status_code == 201, live.text
    granted = await api.post(
        f"/v1/projects/{project_id}/reviewers", json={"volunteer_id": erased_id}, headers=ngo
    )
    assert granted.status_code == 201, granted.text
    found = {
        "org_id": org_id,
        "ngo": ngo,
        "project_id": project_id,
        "task_ids": sorted(set(task_ids)),
        "live_task": live.json()["task"]["id"],
        "erased": (erased_id, erased),
        "kept": (kept_id, kept),
    }
    await what_workers_and_pages_add(board, client, found)
    return found


async def test_a_volunteer_exports_everything_held_about_them(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    erased_id, erased = s["erased"]
    exported = await api.get("/v1/me/export", headers=erased)
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert body["volunteer_id"] == erased_id
    assert body["profile"]["display_name"] == NAME
    assert "token" not in body["profile"]
    assert sorted(a["task_id"] for a in body["answers"]) == s["task_ids"]
    assert {a["project_id"] for a in body["answers"]} == {s["project_id"]}
    assert all(a["answer"]["label"] == "spam" for a in body["answers"])
    assert [a["task_id"] for a in body["assignments"]] == [s["live_task"]]
    assert body["review_rights"] == [s["project_id"]]
    assert body["stats"] == {} or isinstance(body["stats"], dict)
    assert len(body["sessions"]) == 1  # they joined on the web: signed in there
    assert body["profile"]["email"] == ADDRESS
    [certificate] = body["certificates"]
    assert certificate["id"] == s["certificate"] and certificate["figures"]["name"] == NAME
    assert certificate["revoked_at"] is None
    assert [p["project_id"] for p in body["projects_worked_on"]] == [s["project_id"]]
    [report] = body["unclear_reports"]
    assert report["note"] == "Huh?" and report["task_id"] == s["task_ids"][0]
    # The operator can read the same for the volunteer; nobody else can.
    by_admin = await api.get(f"/v1/volunteers/{erased_id}/export", headers=ADMIN)
    assert by_admin.json()["answers"] == body["answers"]
    assert (
        await api.get(f"/v1/volunteers/{erased_id}/export", headers=s["ngo"])
    ).status_code == 403


async def test_an_erased_volunteer_leaves_no_trace_and_their_answers_stay_anonymous(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    (erased_id, erased), (kept_id, kept) = s["erased"], s["kept"]
    project_id = s["project_id"]
    # The scan does find them before: profile, e-mail index, session, recovery code, stats,
    # projects worked on, insights, unclear report, certificate, rate-limit counters.
    before = holding(board.client, [erased_id, NAME, ADDRESS])
    for what in ("certificate:", "email:", "web:session:", "recovery:", ":projects", ":unclear",
                 ":insights:vol", "limits:"):  # fmt: skip
        assert any(what in found for found in before), what

    gone = await api.delete("/v1/me", headers=erased)
    assert gone.status_code == 202, gone.text
    assert gone.json() == {"status": "deleting", "kind": "volunteer", "id": erased_id}
    # At once: the token is refused, everywhere.
    assert (await api.get("/v1/me", headers=erased)).status_code == 401
    assert (await api.get("/v1/me/export", headers=erased)).status_code == 401
    assert (await api.delete("/v1/me", headers=erased)).status_code == 401

    batches = run_to_the_end(board, crash_after=5)
    assert batches > 5

    needles = [erased_id, NAME, ADDRESS, email_digest(ADDRESS), s["certificate"]]
    assert holding(board.client, needles) == []
    # The insights still count the project's answers; the unclear report went with its author.
    pk = board.keys.project(project_id)
    assert board.client.hget(pk.insights_volunteers, f"{kept_id}:a")
    assert board.client.xlen(pk.unclear) == 0
    # The answers stay, under one pseudonym in the project; the other volunteer is untouched.
    pk = board.keys.project(project_id)
    for task_id in s["task_ids"]:
        entries = json.loads(board.client.hget(pk.answers, task_id) or "[]")
        who = sorted(e["volunteer_id"] for e in entries)
        assert len(who) == 2 and kept_id in who, who
        [alias] = [w for w in who if w != kept_id]
        assert alias.startswith(PSEUDONYM_PREFIX)
    results: Any = board.client.xrange(pk.results)
    assert len(results) == 3
    contributors = {json.dumps(sorted(json.loads(f["contributors"]))) for _, f in results}
    assert len(contributors) == 1  # the same pseudonym in every result of the project
    page = await api.get(f"/v1/projects/{project_id}/results", headers=s["ngo"])
    assert len(page.json()["items"]) == 3
    # The released live lease went back to the queue: the kept volunteer can claim it.
    claim = await api.post("/v1/assignments", json={"project_id": project_id}, headers=kept)
    assert claim.status_code == 201 and claim.json()["task"]["id"] == s["live_task"]
    assert (await api.get("/v1/me", headers=kept)).json()["display_name"] == "Kept Volunteer"


async def test_the_operator_erases_a_volunteer(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    erased_id, erased = s["erased"]
    assert (await api.delete(f"/v1/volunteers/{erased_id}", headers=s["ngo"])).status_code == 403
    gone = await api.delete(f"/v1/volunteers/{erased_id}", headers=ADMIN)
    assert gone.status_code == 202, gone.text
    assert (await api.get("/v1/me", headers=erased)).status_code == 401
    run_to_the_end(board)
    assert holding(board.client, [erased_id, NAME]) == []
    again = await api.delete(f"/v1/volunteers/{erased_id}", headers=ADMIN)
    assert again.status_code == 404


async def test_a_deleted_project_is_404_at_once_and_leaves_no_key(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    project_id, ngo = s["project_id"], s["ngo"]
    erased, (kept_id, _) = s["erased"][1], s["kept"]
    # What accepting an invitation to the project left (Invitations.admit), on someone who
    # never claimed there: found by the admissions' own scan, not among those who worked.
    board.client.sadd(board.keys.volunteer_admitted(kept_id), project_id, "prj_other")
    gone = await api.delete(f"/v1/projects/{project_id}", headers=ngo)
    assert gone.status_code == 202, gone.text
    assert (await api.get(f"/v1/projects/{project_id}", headers=ngo)).status_code == 404
    assert (await api.get(f"/v1/projects/{project_id}/results", headers=ngo)).status_code == 404
    assert (await api.delete(f"/v1/projects/{project_id}", headers=ngo)).status_code == 404
    claim = await api.post("/v1/assignments", json={}, headers=erased)
    assert claim.status_code == 204

    run_to_the_end(board, crash_after=4, batch=1)

    assert holding(board.client, [project_id]) == []
    assert board.client.exists(board.keys.certificate(s["certificate"]))
    # The volunteers and the organisation are still there.
    assert (await api.get("/v1/me", headers=erased)).status_code == 200
    assert (await api.get("/v1/org", headers=ngo)).status_code == 200
    assert board.client.exists(board.keys.volunteer(kept_id))
    assert board.client.smembers(board.keys.volunteer_admitted(kept_id)) == {"prj_other"}


async def test_a_deleted_task_goes_with_its_answers_and_results(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    project_id, ngo = s["project_id"], s["ngo"]
    doomed, *others = s["task_ids"]
    gone = await api.delete(f"/v1/projects/{project_id}/tasks/{doomed}", headers=ngo)
    assert gone.status_code == 202, gone.text
    assert (
        await api.get(f"/v1/projects/{project_id}/tasks/{doomed}", headers=ngo)
    ).status_code == 404
    # The live lease's task can be deleted too: its lease ends at once.
    live = s["live_task"]
    assert (
        await api.delete(f"/v1/projects/{project_id}/tasks/{live}", headers=ngo)
    ).status_code == 202
    held = await api.get("/v1/me/assignments", headers=s["erased"][1])
    assert held.json()["items"] == []  # the lease ended with its task

    run_to_the_end(board, crash_after=3, batch=1)

    pk = board.keys.project(project_id)
    # Its "instructions unclear" report (the scene's, on this task) went with it.
    assert board.client.xlen(pk.unclear) == 0
    seen = [str(m) for m in board.client.smembers(pk.unclear_seen)]
    assert not [m for m in seen if m.endswith(f":{doomed}")]
    needle = f"{project_id}.{doomed}"
    for text in (doomed, needle):
        found = [h for h in holding(board.client, [text]) if not h.startswith("dramatiq")]
        # A task id is a sequence number: only the results of the other tasks may share its
        # prefix; nothing may hold it whole.
        assert all(text not in h.split(": ", 1)[0] for h in found), found
    assert board.client.hget(pk.answers, doomed) is None
    page = (await api.get(f"/v1/projects/{project_id}/results", headers=ngo)).json()
    assert sorted(i["task_id"] for i in page["items"]) == others
    counts = (await api.get(f"/v1/projects/{project_id}", headers=ngo)).json()["counts"]
    assert sum(counts.values()) == 2


async def test_the_operator_deletes_an_organisation_and_everything_it_owns(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    org_id, ngo, project_id = s["org_id"], s["ngo"], s["project_id"]
    invited = await api.post("/v1/invitations", json={"uses": 5}, headers=ngo)
    assert invited.status_code == 201, invited.text
    kept_id = s["kept"][0]  # admitted by the organisation's invitation (Invitations.admit)
    board.client.sadd(board.keys.volunteer_admitted(kept_id), org_id)
    assert (await api.delete(f"/v1/orgs/{org_id}", headers=ngo)).status_code == 403
    gone = await api.delete(f"/v1/orgs/{org_id}", headers=ADMIN)
    assert gone.status_code == 202, gone.text
    assert (await api.get("/v1/org", headers=ngo)).status_code == 401
    assert (await api.delete(f"/v1/orgs/{org_id}", headers=ADMIN)).status_code == 404

    run_to_the_end(board, crash_after=6, batch=1)

    # Certificates already issued stay as signed (the volunteer's record of what they did,
    # naming the organisation as it was): the only keys left that name it.
    left = holding(board.client, [org_id, project_id])
    assert left == [f"{board.keys.certificate(s['certificate'])}: {org_id}"]
    stats = board.client.hgetall(board.keys.volunteer_stats(s["erased"][0]))
    assert int(stats["tasks"]) == 3 and not [f for f in stats if org_id in f]


async def test_retention_removes_answers_and_results_after_the_project_closes(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    project_id, ngo = s["project_id"], s["ngo"]
    patched = await api.patch(
        f"/v1/projects/{project_id}", json={"retention_days": 30}, headers=ngo
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["retention_days"] == 30
    pk = board.keys.project(project_id)
    closed_at = 1_700_000_000_000
    # As expire_deadline.lua closes a project at its deadline.
    board.client.hset(pk.project, mapping={"state": "closed", "closed_at": closed_at})
    day = 86_400_000
    assert sweep_project_retention(board.client, board.keys, closed_at + 29 * day) == 0
    assert sweep_project_retention(board.client, board.keys, closed_at + 30 * day) == 1
    assert sweep_project_retention(board.client, board.keys, closed_at + 30 * day) == 0

    run_to_the_end(board, crash_after=2, batch=1)

    assert board.client.exists(pk.answers, pk.results, pk.payloads, pk.assignments) == 0
    # The volunteers' traces in the insights and reports go too; the counts per day stay.
    assert board.client.exists(pk.unclear, pk.unclear_seen, pk.insights_volunteers) == 0
    assert board.client.exists(pk.insights)
    project = (await api.get(f"/v1/projects/{project_id}", headers=ngo)).json()
    assert project["purged_at"] is not None
    assert project["counts"]["aggregating"] + project["counts"]["collecting"] >= 3
    page = await api.get(f"/v1/projects/{project_id}/results", headers=ngo)
    assert page.json()["items"] == []
    assert sweep_project_retention(board.client, board.keys, closed_at + 99 * day) == 0


def test_keys_are_what_the_layout_says() -> None:
    keys = Keys("x:")
    assert keys.privacy_job("vol:v") == "x:privacy:job:vol:v"
    assert keys.project("prj_a").results_rewrite == "x:{p:prj_a}:results:rewrite"


async def test_erasure_ends_web_sessions_recovery_codes_links_and_frees_the_address(
    api: httpx.AsyncClient, board: Board, redis_url: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys()
    try:
        address = "mina.mailed@example.org"
        volunteer_id, token = await Accounts(client, keys, None).create_volunteer(
            "Mina Mailed", ["fr"], [], email=address
        )
        code = await RecoveryCodes(client, keys).issue(volunteer_id)
        session = await Sessions(client, keys).start(volunteer_id)
        links = SignInLinks(client, keys)
        assert await links.may_send(address)
        await links.issue(volunteer_id, "/work")
        headers = {"Authorization": f"Bearer {token}"}
        assert (await api.get("/v1/me/export", headers=headers)).json()["sessions"] != []

        assert (await api.delete("/v1/me", headers=headers)).status_code == 202
        # At once: no way in is left.
        assert await Sessions(client, keys).find(session.token) is None
        assert await RecoveryCodes(client, keys).find(code) is None
        assert not await client.exists(keys.email(email_digest(address)))

        run_to_the_end(board)
        needles = [volunteer_id, "Mina Mailed", address, email_digest(address)]
        assert holding(board.client, needles) == []
        # The address is free for a new account.
        again, _ = await Accounts(client, keys, None).create_volunteer(
            "Mina", ["fr"], [], email=address
        )
        assert again != volunteer_id
    finally:
        await client.aclose()
