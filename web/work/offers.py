"""What "Find work" shows of each project that fits the volunteer, and what the task pages say
of their project: its NGO, its task type's name in the volunteer's words, how many tasks are
left and how long one takes.

Minutes per task: the median of ``seconds_spent`` over the project's most recent answers (at
most :data:`RECENT_ANSWERS`, from the answer lists of up to :data:`SAMPLED_TASKS` of its tasks
drawn at random: ``HRANDFIELD``, one round trip, never a scan of a large project), rounded up to
whole minutes; with fewer than :data:`MIN_ANSWERS` timed answers, the task type's default
(:data:`DEFAULT_MINUTES`). Answers sent through the API carry ``seconds_spent`` only when the
client said it; the pages always say it (the time from showing the task to submitting it). The
figure is kept per process for :data:`MINUTES_TTL_SECONDS`: it moves slowly.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

import redis.asyncio

from core.board.claims import Claims
from core.board.matching import ProjectCard
from core.board.models import Claimable
from core.board.script_calls import Batch
from core.errors import NotFound
from core.recent import Recent
from core.redis.keys import Keys
from web.i18n import N_
from web.visit import Visit

__all__ = [
    "DEFAULT_MINUTES",
    "MAX_OFFERS",
    "ProjectFacts",
    "claimable_projects",
    "minutes_per_task",
    "project_facts",
    "task_type_name",
]

#: A task type's name as volunteers read it (translated in the template).
TASK_TYPE_NAMES: dict[str, str] = {
    "translation": N_("Translation"),
    "data_entry": N_("Data entry"),
    "moderation": N_("Moderation"),
}
#: Minutes per task before a project has enough timed answers: a sentence to translate, a form
#: of a few fields to copy, one post to label.
DEFAULT_MINUTES: dict[str, int] = {"translation": 3, "data_entry": 4, "moderation": 1}
FALLBACK_MINUTES = 2
SAMPLED_TASKS = 12
RECENT_ANSWERS = 50
MIN_ANSWERS = 5
MINUTES_TTL_SECONDS = 60.0
_minutes: Recent[str, int] = Recent(MINUTES_TTL_SECONDS, 2048)
_org_names: Recent[str, str] = Recent(MINUTES_TTL_SECONDS, 2048)


#: Most projects "Find work" looks at (those that fit, best first), each with one bounded check.
MAX_OFFERS = 20


async def claimable_projects(
    claims: Claims, volunteer: Any
) -> tuple[int, list[tuple[ProjectCard, Claimable]]]:
    """The projects that fit the volunteer (how many, up to :data:`MAX_OFFERS`) and, of them,
    those where "Start" would give them a task now, with the tasks left for them: one round
    trip for all, each check reading at most the claim's scan bound (``count_claimable.lua``),
    never every task. A project whose remaining tasks the volunteer already took or skipped is
    left out (a claim would never serve those to them again)."""
    cards = await claims.matcher.candidates(volunteer, limit=MAX_OFFERS)
    if not cards:
        return 0, []
    checks = [claims.ops.count_claimable(card.id, volunteer.id) for card in cards]
    counted: list[Claimable] = await claims.board.run(Batch(checks, list))
    return len(cards), [
        (card, count) for card, count in zip(cards, counted, strict=True) if count.available
    ]


def task_type_name(task_type: str) -> str:
    """The message id of the type's name (a plug-in type without one: its name, readable)."""
    return TASK_TYPE_NAMES.get(task_type, task_type.replace("_", " ").capitalize())


def _timed(raw_lists: list[Any]) -> list[tuple[int, float]]:
    """(when, seconds) of every answer entry that says how long it took."""
    timed = []
    for raw in raw_lists:
        try:
            entries = json.loads(raw)
        except (TypeError, ValueError):
            continue
        for entry in entries if isinstance(entries, list) else []:
            seconds = entry.get("seconds_spent") if isinstance(entry, dict) else None
            if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
                timed.append((int(entry.get("at") or 0), float(seconds)))
    return timed


async def minutes_per_task(
    client: redis.asyncio.Redis, keys: Keys, project_id: str, task_type: str
) -> int:
    """See the module docstring."""
    known = _minutes.get(project_id)
    if known is not None:
        return known
    read_at = _minutes.now()
    # [task id, answers JSON, task id, answers JSON, ...]
    flat = await client.hrandfield(keys.project(project_id).answers, SAMPLED_TASKS, withvalues=True)
    values = flat[1::2] if isinstance(flat, list) else []
    timed = sorted(_timed(values), reverse=True)[:RECENT_ANSWERS]
    if len(timed) >= MIN_ANSWERS:
        median = statistics.median(seconds for _, seconds in timed)
        minutes = max(1, math.ceil(median / 60))
    else:
        minutes = DEFAULT_MINUTES.get(task_type, FALLBACK_MINUTES)
    _minutes.put(project_id, minutes, read_at)
    return minutes


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    id: str
    name: str
    organisation: str
    task_type: str
    type_name: str  # message id
    instructions: str
    impact_note: str | None
    languages: list[str]
    lease_seconds: int


async def organisation_name(page: Visit, org_id: str) -> str:
    known = _org_names.get(org_id)
    if known is None:
        try:
            known = str((await page.state.accounts.org(org_id)).get("name", ""))
        except NotFound:
            known = ""
        _org_names.put(org_id, known)
    return known


async def project_facts(page: Visit, project_id: str, document: dict[str, Any]) -> ProjectFacts:
    """What the pages say of a project, from its document (``ProjectCatalogue.document``)."""
    task_type = str(document.get("task_type", ""))
    impact = document.get("impact_note")
    languages = document.get("languages")
    return ProjectFacts(
        id=project_id,
        name=str(document.get("name", "")),
        organisation=await organisation_name(page, str(document.get("org_id", ""))),
        task_type=task_type,
        type_name=task_type_name(task_type),
        instructions=str(document.get("instructions", "")),
        impact_note=impact if isinstance(impact, str) and impact else None,
        languages=[str(code) for code in languages] if isinstance(languages, list) else [],
        lease_seconds=int(document.get("lease_seconds") or 0),
    )
