"""Deleting a task or a project with everything under it, and per-project
retention (results and answers removed some days after the project closes).

Each deletion starts with what must hold at once, in the request (:func:`project_deletion`,
:func:`task_deletion`: operations that the API's asyncio board and the
command line's synchronous one both run), then queues a job whose phases
(:data:`PHASES`, run by :mod:`core.privacy.jobs`) remove the rest in bounded batches.

Project (job ``project:<id>``). At once: it leaves its organisation's set (every NGO route
answers 404 from then on), the claim index and the project set (no claim, relay, deadline or
retention sweep looks at it again), and its hash is marked closed and ``deleting``. Then:
its assignment and review records are read for the volunteers who worked on it (their live
slots on it are freed), its reviewers and qualification records likewise; each such volunteer's
own keys lose what names the project (live slots, reputation per project and agreement credits,
stats markers, feedback items, their "already claimed" set, its place among the projects they
worked on); the organisation's webhook deliveries and idempotency records of the project go;
every key of the project is emptied in batches (its insights and "instructions unclear" reports
among them), its hash last; finally a SCAN for any key left under the project's hash tag.

Task (job ``task:<project>:<task>``). At once (``delete_task.lua``): its record, payload,
external id, answers, gold answer and decision, its place in every queue, and the live leases on
it. Then: its assignment and review records, its results and published marks, the events naming
it once the relay has handled them, its "instructions unclear" reports, its webhook
deliveries, and what volunteers' keys hold about it.

Organisation: see :mod:`core.privacy.organisations`.

Retention (job ``purge:<project>``). A project with ``retention_days`` set, closed (its deadline
passed) that many days ago, loses its answers, results, payloads, assignment and review
records, decisions, qualification records, consumed events, webhook deliveries, "instructions
unclear" reports and the insights' per-volunteer counters; the project
itself (name, policy, counts) stays, marked ``purged_at``. :func:`sweep_project_retention`
queues those jobs; the scheduler calls it with the retention sweep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import redis

from core import ids
from core.board.script_calls import Commands, ScriptCall, text
from core.delivery.records import due_member
from core.privacy.batches import (
    drain_families,
    drain_key,
    filter_stream,
    glob_escape,
    hash_page,
    json_field,
    scan_page,
)
from core.privacy.jobs import JobContext, Phase, Step, queue_commands
from core.redis.keys import Keys, ProjectKeys
from core.redis.scripts import ScriptName

__all__ = [
    "PHASES",
    "SETTLE_MS",
    "project_deletion",
    "project_key_families",
    "sweep_project_retention",
    "task_deletion",
]

DAY_MS = 86_400_000
#: A deletion's batches start this long after the request: API processes and the relay drop
#: what they remembered of the project (claim index, stream list) within about a second.
SETTLE_MS = 2_000
#: Volunteers whose keys are cleaned per batch (each costs a few small reads and writes).
VOLUNTEERS_PER_BATCH = 50


def project_key_families(pk: ProjectKeys) -> list[str]:
    """Every key of a project but the per-volunteer ones, its hash last (what a deletion
    empties, in this order)."""
    return [
        pk.ready, pk.unclaimed, pk.leases, pk.review_leases, pk.review_queue, pk.gold_pool,
        pk.answers, pk.payloads, pk.assignments, pk.review_assignments, pk.decisions, pk.gold,
        pk.qualification, pk.reviewers, pk.published, pk.results, pk.results_rewrite,
        pk.events, pk.external_ids, pk.unclear, pk.unclear_seen, pk.insights_volunteers,
        pk.insights_volunteer_rank, pk.insights_review_open, pk.insights_review_waits,
        pk.insights, pk.quality_recent, pk.provisional, pk.tasks, pk.project,
    ]  # fmt: skip


#: What retention removes (the project, its task records and external ids stay, and its
#: insights but for the per-volunteer counters).
def _purged_families(pk: ProjectKeys) -> list[str]:
    return [
        pk.review_leases, pk.review_queue, pk.answers, pk.payloads, pk.assignments,
        pk.review_assignments, pk.decisions, pk.gold, pk.gold_pool, pk.qualification,
        pk.published, pk.results, pk.results_rewrite, pk.unclear, pk.unclear_seen,
        pk.insights_volunteers, pk.insights_volunteer_rank, pk.quality_recent, pk.provisional,
    ]  # fmt: skip


# -- starting ------------------------------------------------------------------------------


def project_deletion(keys: Keys, project_id: str, org_id: str, now_ms: int) -> Commands[None]:
    """What deleting a project does at once, and its job queued (see the module docstring)."""
    pk = keys.project(ids.validate_project_id(project_id))
    commands: list[tuple[str | int, ...]] = [
        ("SREM", keys.org_projects(org_id), project_id),
        ("HDEL", keys.project_index, project_id),
        ("SREM", keys.projects, project_id),
        ("HSET", pk.project, "state", "closed", "deleting", now_ms),
        *queue_commands(
            keys,
            f"project:{project_id}",
            {"kind": "project", "target": project_id, "org": org_id, "created": now_ms},
            now_ms + SETTLE_MS,
        ),
    ]
    return Commands(commands, lambda _: None)


def task_deletion(
    keys: Keys, project_id: str, task_id: str
) -> ScriptCall[tuple[bool, list[tuple[str, str]]]]:
    """Take the task off its project at once (``delete_task.lua``); returns whether it was
    there and the (volunteer, lease id) pairs of the leases it ended (free their slots and
    queue the job with :func:`task_job`)."""
    pk = keys.project(ids.validate_project_id(project_id))
    ids.validate_task_id(task_id)
    call_keys = [
        pk.project, pk.tasks, pk.payloads, pk.external_ids, pk.ready, pk.unclaimed, pk.gold,
        pk.gold_pool, pk.answers, pk.decisions, pk.review_queue, pk.assignments, pk.leases,
        pk.review_assignments, pk.review_leases, pk.provisional,
    ]  # fmt: skip

    def parse(reply: Sequence[Any]) -> tuple[bool, list[tuple[str, str]]]:
        rest = [text(v) for v in reply[1:]]
        return bool(int(reply[0])), list(zip(rest[::2], rest[1::2], strict=True))

    return ScriptCall(ScriptName.DELETE_TASK, call_keys, [task_id, project_id], parse)


def task_job(
    keys: Keys,
    project_id: str,
    task_id: str,
    org_id: str,
    ended: Sequence[tuple[str, str]],
    now_ms: int,
) -> Commands[None]:
    """After :func:`task_deletion`: free the ended leases' slots and queue the job."""
    commands: list[tuple[str | int, ...]] = [
        ("ZREM", keys.volunteer_live(volunteer_id), lease_id)
        for volunteer_id, lease_id in ended
        if ids.VOLUNTEER_ID.match(volunteer_id)
    ]
    commands += queue_commands(
        keys,
        f"task:{project_id}:{task_id}",
        {
            "kind": "task",
            "target": f"{project_id}:{task_id}",
            "project": project_id,
            "task": task_id,
            "org": org_id,
            "created": now_ms,
        },
        now_ms + SETTLE_MS,
    )
    return Commands(commands, lambda _: None)


# -- what volunteers' own keys hold about a project or task ----------------------------------


def forget_in_volunteer(
    client: redis.Redis, keys: Keys, volunteer_id: str, project_id: str, task_id: str | None
) -> None:
    """Remove from the volunteer's own keys what names the project (or only the task): live
    slots, per-project reputation and agreement credits, stats markers, feedback items, and
    (the whole project) its place among the projects they worked on."""
    prefix = f"{project_id}.{task_id}." if task_id else f"{project_id}."
    if task_id is None:
        client.zrem(keys.volunteer_projects(volunteer_id), project_id)
    live = keys.volunteer_live(volunteer_id)
    members: Any = client.zrange(live, 0, -1)
    stale = [m for m in members if text(m).startswith(prefix)]
    if stale:
        client.zrem(live, *stale)
    needle = f"{project_id}:{task_id}" if task_id else project_id
    for key in (keys.reputation(volunteer_id), keys.volunteer_stats(volunteer_id)):
        found = [text(f) for f, _ in client.hscan_iter(key, match=f"*{needle}*", count=500)]
        for start in range(0, len(found), 500):
            client.hdel(key, *found[start : start + 500])
    feedback = keys.volunteer_feedback(volunteer_id)
    for raw in client.lrange(feedback, 0, -1):
        item = json_field(text(raw))
        if not isinstance(item, dict) or item.get("project_id") != project_id:
            continue
        if task_id is None or item.get("task_id") == task_id:
            client.lrem(feedback, 0, text(raw))


def _collect_volunteers(ctx: JobContext, job_id: str, volunteer_ids: Iterator[str]) -> None:
    found = sorted({v for v in volunteer_ids if ids.VOLUNTEER_ID.match(v)})
    if found:
        ctx.client.sadd(ctx.keys.privacy_job_volunteers(job_id), *found)


def _job_id(state: Mapping[str, str]) -> str:
    return f"{state['kind']}:{state['target']}"


def _project(state: Mapping[str, str]) -> str:
    return state.get("project") or state["target"]


# -- project phases ------------------------------------------------------------------------


def project_assignments(ctx: JobContext, state: dict[str, str]) -> Step:
    """Who worked on the project (assignment records); their live slots on it are freed."""
    pk = ctx.keys.project(_project(state))
    page, over = hash_page(ctx.client, pk.assignments, state, ctx.batch)
    volunteers = []
    for assignment_id, raw in page.items():
        record = json_field(raw)
        if isinstance(record, dict) and isinstance(record.get("vol"), str):
            volunteers.append(record["vol"])
            if ids.VOLUNTEER_ID.match(record["vol"]):
                ctx.client.zrem(ctx.keys.volunteer_live(record["vol"]), assignment_id)
    _collect_volunteers(ctx, _job_id(state), iter(volunteers))
    return Step.DONE if over else Step.MORE


def project_reviewers(ctx: JobContext, state: dict[str, str]) -> Step:
    """Who reviewed on the project, holds review rights or a qualification record."""
    pk = ctx.keys.project(_project(state))
    page, over = hash_page(ctx.client, pk.review_assignments, state, ctx.batch)
    records = [json_field(raw) for raw in page.values()]
    found = [r["vol"] for r in records if isinstance(r, dict) and isinstance(r.get("vol"), str)]
    if over:
        found += [text(v) for v in ctx.client.smembers(pk.reviewers)]
        found += [text(v) for v in ctx.client.hkeys(pk.qualification)]
    _collect_volunteers(ctx, _job_id(state), iter(found))
    return Step.DONE if over else Step.MORE


def volunteer_keys(ctx: JobContext, state: dict[str, str]) -> Step:
    """Each volunteer met: their own keys forget the project (or the task)."""
    job_id = _job_id(state)
    project_id, task_id = _project(state), state.get("task")
    members = ctx.client.srandmember(ctx.keys.privacy_job_volunteers(job_id), VOLUNTEERS_PER_BATCH)
    if not members:
        return Step.DONE
    pk = ctx.keys.project(project_id)
    for member in members:
        volunteer_id = text(member)
        if task_id:
            ctx.client.srem(pk.touched(volunteer_id), task_id)
        else:
            ctx.client.delete(pk.touched(volunteer_id))  # a set of task ids, one per claim
        forget_in_volunteer(ctx.client, ctx.keys, volunteer_id, project_id, task_id)
        ctx.client.srem(ctx.keys.privacy_job_volunteers(job_id), volunteer_id)
    return Step.MORE


def deliveries(ctx: JobContext, state: dict[str, str]) -> Step:
    """The organisation's webhook deliveries of the project (or task): records, bodies, the
    listing and the due set."""
    org_id, project_id, task_id = state["org"], _project(state), state.get("task")
    keys = ctx.keys
    page, over = hash_page(ctx.client, keys.org_deliveries(org_id), state, ctx.batch)
    doomed = []
    for delivery_id, raw in page.items():
        record = json_field(raw)
        if not isinstance(record, dict) or record.get("project_id") != project_id:
            continue
        if task_id is None or record.get("task_id") == task_id:
            doomed.append(delivery_id)
    if doomed:
        pipe = ctx.client.pipeline(transaction=False)
        pipe.zrem(keys.webhook_due, *[due_member(org_id, d) for d in doomed])
        pipe.hdel(keys.org_delivery_bodies(org_id), *doomed)
        pipe.zrem(keys.org_delivery_log(org_id), *doomed)
        pipe.hdel(keys.org_deliveries(org_id), *doomed)
        pipe.execute()
    return Step.DONE if over else Step.MORE


def idempotency_records(ctx: JobContext, state: dict[str, str]) -> Step:
    """The organisation's stored bulk-submission responses for the project."""
    org_id, project_id = state["org"], _project(state)
    pattern = ctx.keys.idempotency(glob_escape(org_id), "*")
    found, over = scan_page(ctx.client, state, pattern, ctx.batch)
    for key in found:
        record = json_field(text(ctx.client.get(key) or "null"))
        if isinstance(record, dict) and record.get("project") == project_id:
            ctx.client.delete(key)
    return Step.DONE if over else Step.MORE


def project_keys(ctx: JobContext, state: dict[str, str]) -> Step:
    """Every key of the project emptied in batches, its hash last."""
    return drain_families(ctx, state, project_key_families(ctx.keys.project(_project(state))))


def project_sweep(ctx: JobContext, state: dict[str, str]) -> Step:
    """Any key still under the project's hash tag (a volunteer's claimed set nobody's record
    led to): one SCAN page per batch."""
    pk = ctx.keys.project(_project(state))
    # The hash tag's braces are glob characters' neighbours, not glob characters: escape none.
    found, over = scan_page(ctx.client, state, f"{glob_escape(pk.base)}:*", ctx.batch)
    for key in found:
        while not drain_key(ctx.client, key, ctx.batch):
            pass  # only small keys are left by now (claimed sets)
    return Step.DONE if over else Step.MORE


def admissions(ctx: JobContext, state: dict[str, str]) -> Step:
    """The scope (a project, or an organisation) taken out of every person's invitation-only
    admissions (``G:vol:<id>:admitted``): one SCAN page of those sets. People admitted by an
    invitation who never claimed are found here, not among those who worked."""
    pattern = ctx.keys.volunteer_admitted("*")
    found, over = scan_page(ctx.client, state, pattern, ctx.batch, type_="set")
    for key in found:
        ctx.client.srem(key, state["target"])
    return Step.DONE if over else Step.MORE


# -- task phases ---------------------------------------------------------------------------


def task_assignments(ctx: JobContext, state: dict[str, str]) -> Step:
    pk = ctx.keys.project(state["project"])
    prefix = f"{state['project']}.{state['task']}."
    page, over = hash_page(ctx.client, pk.assignments, state, ctx.batch, match=f"{prefix}*")
    records = [json_field(raw) for raw in page.values()]
    found = [r["vol"] for r in records if isinstance(r, dict) and isinstance(r.get("vol"), str)]
    _collect_volunteers(ctx, _job_id(state), iter(found))
    if page:
        ctx.client.zrem(pk.leases, *page)
        ctx.client.hdel(pk.assignments, *page)
    return Step.DONE if over else Step.MORE


def task_reviews(ctx: JobContext, state: dict[str, str]) -> Step:
    pk = ctx.keys.project(state["project"])
    prefix = f"{state['project']}.{state['task']}.r"
    page, over = hash_page(ctx.client, pk.review_assignments, state, ctx.batch, match=f"{prefix}*")
    if page:
        ctx.client.zrem(pk.review_leases, *page)
        ctx.client.hdel(pk.review_assignments, *page)
    return Step.DONE if over else Step.MORE


def task_published(ctx: JobContext, state: dict[str, str]) -> Step:
    pk, task_id = ctx.keys.project(state["project"]), state["task"]
    page, over = hash_page(ctx.client, pk.published, state, ctx.batch, match=f"{task_id}:*")
    doomed = [task_id, *page]
    ctx.client.hdel(pk.published, *doomed)
    return Step.DONE if over else Step.MORE


def task_results(ctx: JobContext, state: dict[str, str]) -> Step:
    pk, task_id = ctx.keys.project(state["project"]), state["task"]
    end, _ = filter_stream(
        ctx.client,
        pk.results,
        state,
        ctx.batch,
        lambda fields: fields.get("task_id") == task_id,
        consumed_only=False,
    )
    return Step.DONE if end else Step.MORE


def task_events(ctx: JobContext, state: dict[str, str]) -> Step:
    """Events naming the task, once the relay has handled them (else: wait, then look again)."""
    pk, task_id = ctx.keys.project(state["project"]), state["task"]
    prefix = f"{state['project']}.{task_id}."

    def names_task(fields: dict[str, str]) -> bool:
        return fields.get("task") == task_id or any(
            value.startswith(prefix) for value in fields.values()
        )

    end, left = filter_stream(
        ctx.client, pk.events, state, ctx.batch, names_task, consumed_only=True
    )
    if not end:
        return Step.MORE
    if left:
        state.pop("c_stream", None)
        state.pop("c_left", None)
        return Step.WAIT
    return Step.DONE


def task_insights(ctx: JobContext, state: dict[str, str]) -> Step:
    """The task's "instructions unclear" reports and marks, and its review wait in the
    insights (the stream is capped: one read)."""
    pk, task_id = ctx.keys.project(state["project"]), state["task"]
    entries: Any = ctx.client.xrange(pk.unclear)
    doomed = [i for i, fields in entries or [] if text(fields.get("task", "")) == task_id]
    if doomed:
        ctx.client.xdel(pk.unclear, *doomed)
    marks = list(ctx.client.sscan_iter(pk.unclear_seen, match=f"*:{task_id}", count=500))
    if marks:
        ctx.client.srem(pk.unclear_seen, *marks)
    ctx.client.zrem(pk.insights_review_open, task_id)
    return Step.DONE


# -- retention -----------------------------------------------------------------------------


def purge_keys(ctx: JobContext, state: dict[str, str]) -> Step:
    return drain_families(ctx, state, _purged_families(ctx.keys.project(state["target"])))


def purge_events(ctx: JobContext, state: dict[str, str]) -> Step:
    pk = ctx.keys.project(state["target"])
    end, left = filter_stream(
        ctx.client, pk.events, state, ctx.batch, lambda fields: True, consumed_only=True
    )
    if not end:
        return Step.MORE
    if left:
        state.pop("c_stream", None)
        state.pop("c_left", None)
        return Step.WAIT
    return Step.DONE


def purge_mark(ctx: JobContext, state: dict[str, str]) -> Step:
    pk = ctx.keys.project(state["target"])
    if ctx.client.exists(pk.project):
        ctx.client.hset(pk.project, "purged_at", ctx.now_ms)
    return Step.DONE


def _retention_due(fields: Sequence[Any], now_ms: int) -> bool:
    state, closed_at, doc, purged = (text(f) if f is not None else None for f in fields)
    if state != "closed" or not closed_at or not doc or purged:
        return False
    days = json_field(doc).get("retention_days") if isinstance(json_field(doc), dict) else None
    return isinstance(days, int) and int(closed_at) + days * DAY_MS <= now_ms


def sweep_project_retention(client: redis.Redis, keys: Keys, now_ms: int) -> int:
    """Queue a purge for every project whose retention ran out; returns how many were queued
    now (a project already purged, or queued, is not queued again)."""
    queued = 0
    for member in client.sscan_iter(keys.projects, count=500):
        project_id = text(member)
        pk = keys.project(project_id)
        fields = client.hmget(pk.project, ["state", "closed_at", "doc", "purged_at"])
        if not _retention_due(fields, now_ms):
            continue
        doc = json.loads(text(fields[2]))
        job_id = f"purge:{project_id}"
        pipe: Any = client.pipeline(transaction=False)
        job = {"kind": "purge", "target": project_id, "org": str(doc.get("org_id", ""))}
        for command in queue_commands(keys, job_id, {**job, "created": now_ms}, now_ms):
            pipe.execute_command(*command)
        replies = pipe.execute()
        queued += int(replies[-1])
    return queued


def _purge_deliveries(ctx: JobContext, state: dict[str, str]) -> Step:
    if not state.get("org"):
        return Step.DONE
    return deliveries(ctx, state)


_purge_deliveries.__name__ = "purge_deliveries"

PHASES: Mapping[str, Sequence[Phase]] = {
    "project": (
        project_assignments, project_reviewers, volunteer_keys, deliveries,
        idempotency_records, project_keys, project_sweep, admissions,
    ),
    "task": (
        task_assignments, task_reviews, volunteer_keys, task_published, task_results,
        task_events, task_insights, deliveries,
    ),
    "purge": (
        project_assignments, project_reviewers, volunteer_keys, _purge_deliveries, purge_keys,
        purge_events, purge_mark,
    ),
}  # fmt: skip
