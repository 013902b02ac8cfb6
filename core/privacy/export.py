"""A volunteer's right of access and to portability: everything held about them, as JSON.

:func:`export_volunteer` gathers, from every place a volunteer's id is written
(see :mod:`core.redis.keys`):

- ``profile``: display name, languages, skills, charter acceptance, weekly goal, sign-up time;
- ``stats``: the counters behind ``GET /v1/me`` (the stats actor's de-duplication markers are
  bookkeeping, listed under ``stats_markers`` by count only);
- ``feedback``: what reviews made of their answers;
- ``reputation``: the per-type and per-project evidence and the agreement credits;
- ``answers``: every answer they gave, with its project, task, submission id and time;
- ``assignments``: their live assignments (project, task, expiry);
- ``review_rights``, ``review_decisions`` and ``qualifications`` per project;
- ``sessions``: their web sessions (when each started);
- ``certificates``: the certificates issued to them, as signed;
- ``projects_worked_on``: the projects "My work" lists, with when they last worked on each;
- ``unclear_reports``: their "instructions unclear" reports, with their notes.

:data:`SECTIONS` is where a feature storing personal data of its own adds its section.

Reading is bounded per call (projects in pages of :data:`PROJECT_PAGE`), and the whole is one
JSON document: a volunteer holds at most what they did, so it stays of a human size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

from core.board.script_calls import text
from core.redis.keys import Keys

__all__ = ["EXPORT_VERSION", "SECTIONS", "export_volunteer"]

EXPORT_VERSION = 1
PROJECT_PAGE = 200
ANSWER_PAGE = 500

Section = Callable[[redis.asyncio.Redis, Keys, str], Awaitable[Any]]
#: More sections of the export, by name: a feature storing personal data of its own (sign-in
#: sessions) registers a reader here, and the export lists what it returns.
SECTIONS: dict[str, Section] = {}


async def _sessions(client: redis.asyncio.Redis, keys: Keys, volunteer_id: str) -> list[Any]:
    """Their web sessions (when each started; the session tokens are stored only hashed)."""
    digests = sorted(text(d) for d in await client.smembers(keys.volunteer_sessions(volunteer_id)))
    found = []
    for digest in digests:
        record = _strings(await client.hgetall(keys.web_session(digest)))
        if record.get("vol") == volunteer_id:
            found.append({"created_ms": int(record.get("created") or 0)})
    return found


async def _certificates(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str
) -> list[dict[str, Any]]:
    """The certificates issued to them (the latest ones listed), as signed."""
    listed: list[Any] = await client.zrange(keys.volunteer_certificates(volunteer_id), 0, -1)
    found = []
    for certificate_id in (text(c) for c in listed):
        stored = _strings(await client.hgetall(keys.certificate(certificate_id)))
        record = _json(stored.get("record", "null"))
        if isinstance(record, dict) and record.get("volunteer_id") == volunteer_id:
            revoked = stored.get("revoked_at")
            found.append({**record, "revoked_at": int(revoked) if revoked else None})
    return found


async def _projects_worked_on(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str
) -> list[dict[str, Any]]:
    """The projects they worked on lately ("My work"), with when they last did."""
    listed: list[Any] = await client.zrange(
        keys.volunteer_projects(volunteer_id), 0, -1, withscores=True
    )
    return [{"project_id": text(p), "last_at_ms": int(score)} for p, score in listed]


async def _unclear_reports(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str
) -> list[dict[str, Any]]:
    """Their "instructions unclear" reports (each stream is capped: a bounded read)."""
    found: list[dict[str, Any]] = []
    for project_id in await _project_ids(client, keys):
        pk = keys.project(project_id)
        if not await client.exists(pk.touched(volunteer_id)):
            continue  # only a task they claimed can be reported
        entries: Any = await client.xrange(pk.unclear)
        for _, raw in entries or []:
            fields = _strings(raw)
            if fields.get("volunteer") == volunteer_id:
                found.append(
                    {
                        "project_id": project_id,
                        "task_id": fields.get("task", ""),
                        "note": fields.get("note", ""),
                        "at_ms": int(fields.get("at") or 0),
                    }
                )
    return found


SECTIONS.setdefault("sessions", _sessions)
SECTIONS.setdefault("certificates", _certificates)
SECTIONS.setdefault("projects_worked_on", _projects_worked_on)
SECTIONS.setdefault("unclear_reports", _unclear_reports)


def _json(raw: Any) -> Any:
    try:
        return json.loads(text(raw))
    except ValueError:
        return text(raw)


def _strings(raw: Any) -> dict[str, str]:
    return {text(k): text(v) for k, v in raw.items()}


async def _project_ids(client: redis.asyncio.Redis, keys: Keys) -> list[str]:
    found: list[str] = []
    cursor = 0
    while True:
        cursor, members = await client.sscan(keys.projects, cursor, count=PROJECT_PAGE)
        found += [text(m) for m in members]
        if cursor == 0:
            return sorted(set(found))


async def _answers(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str, project_id: str
) -> list[dict[str, Any]]:
    pk = keys.project(project_id)
    tasks = sorted(text(t) for t in await client.smembers(pk.touched(volunteer_id)))
    answers: list[dict[str, Any]] = []
    for start in range(0, len(tasks), ANSWER_PAGE):
        page = tasks[start : start + ANSWER_PAGE]
        for task_id, raw in zip(page, await client.hmget(pk.answers, page), strict=True):
            for entry in _json(raw) if raw else []:
                if isinstance(entry, dict) and entry.get("volunteer_id") == volunteer_id:
                    answers.append({"project_id": project_id, "task_id": task_id, **entry})
    return answers


async def _decisions(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str, project_id: str
) -> list[dict[str, Any]]:
    quoted = f'"{volunteer_id}"'
    found = []
    async for task_id, raw in client.hscan_iter(keys.project(project_id).decisions, count=500):
        if quoted in text(raw):
            found.append({"project_id": project_id, "task_id": text(task_id), **_json(raw)})
    return found


async def export_volunteer(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str
) -> dict[str, Any] | None:
    """Everything held about the volunteer (see the module docstring); None when there is no
    such volunteer."""
    profile = _strings(await client.hgetall(keys.volunteer(volunteer_id)))
    if not profile:
        return None
    # Hashes of their token and recovery code: secrets' fingerprints, of no use to them.
    profile.pop("token", None)
    profile.pop("recovery", None)
    profile.pop("rev", None)  # the profile's change stamp (core.accounts.store): bookkeeping
    stats_raw = _strings(await client.hgetall(keys.volunteer_stats(volunteer_id)))
    markers = sum(1 for k in stats_raw if k.startswith("applied:"))
    stats = {k: v for k, v in stats_raw.items() if not k.startswith("applied:")}
    feedback_raw = await client.lrange(keys.volunteer_feedback(volunteer_id), 0, -1)
    feedback = [_json(raw) for raw in feedback_raw]
    reputation = {
        text(k): _json(v)
        for k, v in (await client.hgetall(keys.reputation(volunteer_id))).items()
        if not text(k).startswith("applied:")
    }
    now = time.time_ns() // 1_000_000
    live: list[Any] = await client.zrange(keys.volunteer_live(volunteer_id), 0, -1, withscores=True)
    assignments = []
    for member, score in live:
        score = float(score)
        parts = text(member).split(".")
        if len(parts) == 3 and score > now:
            assignments.append(
                {
                    "id": text(member),
                    "project_id": parts[0],
                    "task_id": parts[1],
                    "expires_at_ms": int(score),
                }
            )

    answers: list[dict[str, Any]] = []
    rights: list[str] = []
    qualifications: dict[str, Any] = {}
    decisions: list[dict[str, Any]] = []
    project_ids = await _project_ids(client, keys)
    for start in range(0, len(project_ids), PROJECT_PAGE):
        page = project_ids[start : start + PROJECT_PAGE]
        pipe = client.pipeline(transaction=False)
        for project_id in page:
            pk = keys.project(project_id)
            pipe.exists(pk.touched(volunteer_id))
            pipe.sismember(pk.reviewers, volunteer_id)
            pipe.hget(pk.qualification, volunteer_id)
            pipe.hlen(pk.decisions)
        replies = await pipe.execute()
        for index, project_id in enumerate(page):
            touched, reviewer, qualification, decided = replies[4 * index : 4 * index + 4]
            if touched:
                answers += await _answers(client, keys, volunteer_id, project_id)
            if reviewer:
                rights.append(project_id)
            if qualification:
                qualifications[project_id] = _json(qualification)
            if decided:  # a former reviewer too: rights can be withdrawn, decisions stay
                decisions += await _decisions(client, keys, volunteer_id, project_id)

    export: dict[str, Any] = {
        "format": EXPORT_VERSION,
        "exported_at_ms": now,
        "volunteer_id": volunteer_id,
        "profile": profile,
        "stats": stats,
        "stats_markers": markers,
        "feedback": feedback,
        "reputation": reputation,
        "answers": answers,
        "assignments": assignments,
        "review_rights": rights,
        "review_decisions": decisions,
        "qualifications": qualifications,
    }
    for name, section in SECTIONS.items():
        export[name] = await section(client, keys, volunteer_id)
    return export
