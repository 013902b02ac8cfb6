"""Reviewers settling review items: which projects they review, claiming an item, deciding it.

A reviewer is a volunteer an organisation granted review rights on a project (``P:reviewers``).
They claim the best waiting item of their projects (highest project priority first, at most
:data:`~core.board.matching.MAX_PROJECTS_TRIED` projects tried) that they did not answer themselves
(DESIGN.md invariant 2, enforced inside ``claim_review.lua``), under a lease of
``review_lease_seconds``; they see its payload and the candidate answers, never who gave them.

Decisions: ``accept`` one candidate, ``correct`` with an answer of their own (validated by the
task type first), ``reopen`` the task for one more answer (all answers kept; refused past the
project's ``max_redundancy``), or ``reject`` it (terminal, no result).

Round trips: a review claim is four when the first project tried has an item (the claim index,
the reviewer's rights on each of its projects in one pipeline, ``claim_review``, the project's
instructions), one more per further project tried; the pages' queue (:meth:`Reviews.queue`)
is three (the claim index, the rights, then ``count_reviewable`` for every project in one
pipeline); reading a held item again (the pages' :meth:`Reviews.item`) is one; a decision is
two (the review's context: lease, project, payload and answers in one pipeline; then
``decide_review``). Reviews are rare
next to claims, so nothing of theirs is remembered in the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio

from core import ids
from core.board.answers import validate_answer
from core.board.matching import (
    MAX_PROJECTS_TRIED,
    ProjectCard,
    ProjectSource,
    VolunteerLike,
    by_priority,
    require_charter,
    speaks,
)
from core.board.models import Decided, ReviewAction, ReviewClaimed, ReviewDecision
from core.board.runner import AsyncBoard
from core.board.script_calls import Batch
from core.errors import (
    NotACandidate,
    NotAReviewer,
    ProjectNotFound,
    ReviewNotFound,
    ReviewNotLive,
)
from core.projects.index import claimable_projects
from core.redis.keys import Keys

__all__ = ["ReviewItem", "Reviews", "Waiting"]


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: str
    project_id: str
    task_id: str
    task_type: str
    instructions: str
    reason: str
    expires_at_ms: int
    payload: dict[str, Any] = field(repr=False)
    candidates: list[dict[str, Any]] = field(repr=False)
    #: Who gave each candidate, in order: for weighing them (reputations), never shown.
    authors: list[str] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class Waiting:
    """One project of a reviewer's queue: the items they could claim now (within the claim's
    scan bound; ``more``: the queue goes on past it)."""

    card: ProjectCard
    count: int
    more: bool


def _review_ref(review_id: str) -> ids.ReviewRef:
    try:
        return ids.parse_review_id(review_id)
    except ids.InvalidId:
        raise ReviewNotFound("no such review") from None


class Reviews:
    """The reviewer side of the board, for the API."""

    def __init__(
        self,
        board: AsyncBoard,
        client: redis.asyncio.Redis,
        keys: Keys,
        *,
        lease_seconds: int,
        projects: ProjectSource = claimable_projects,
    ) -> None:
        self.board = board
        self.ops = board.ops
        self.client = client
        self.keys = keys
        self.lease_seconds = lease_seconds
        self.projects = projects

    async def reviewer_of(self, volunteer_id: str) -> list[ProjectCard]:
        """The active projects this volunteer may review, best first."""
        cards = list(await self.projects(self.client, self.keys))
        if not cards:
            return []
        pipe = self.client.pipeline(transaction=False)
        for card in cards:
            pipe.sismember(self.keys.project(card.id).reviewers, volunteer_id)
        granted = await pipe.execute()
        return by_priority([card for card, ok in zip(cards, granted, strict=True) if ok])

    async def queue(self, volunteer: VolunteerLike) -> list[Waiting] | None:
        """The reviewer's queue, for the pages: the projects they review *and* whose languages
        they read, best first, each with the items a claim could give them (never one they
        answered; ``count_reviewable.lua``, one round trip for all). None without review
        rights on any active project."""
        cards = await self.reviewer_of(volunteer.id)
        if not cards:
            return None
        readable = [card for card in cards if speaks(card, volunteer)]
        if not readable:
            return []
        counts = await self.board.run(
            Batch(
                [self.ops.count_reviewable(card.id, volunteer.id) for card in readable],
                list,
            )
        )
        return [
            Waiting(card, count, more) for card, (count, more) in zip(readable, counts, strict=True)
        ]

    async def claim(
        self, volunteer: VolunteerLike, *, project_id: str | None = None
    ) -> ReviewItem | None:
        """Lease the best review item for this reviewer; when none waits for them, the item
        they already hold under a live lease (a claim made again after its reply was lost must
        not be told that nothing waits); None when neither."""
        require_charter(volunteer)
        cards = await self.reviewer_of(volunteer.id)
        if not cards:
            raise NotAReviewer("you have no review rights on any project")
        if project_id is not None:
            cards = [card for card in cards if card.id == project_id]
            if not cards:
                raise ProjectNotFound("no such project")
        held: tuple[ProjectCard, ReviewClaimed] | None = None
        for card in cards[:MAX_PROJECTS_TRIED]:
            try:
                outcome = await self.board.run(
                    self.ops.claim_review(card.id, volunteer.id, self.lease_seconds)
                )
            except (NotAReviewer, ProjectNotFound):
                continue  # rights revoked (or project gone) since they were read
            if isinstance(outcome, ReviewClaimed):
                if not outcome.held:
                    return await self._item(card, outcome)
                held = held or (card, outcome)
        # Nothing new anywhere: the item they hold, if any (its claim's reply may have been lost).
        return await self._item(*held) if held is not None else None

    async def _item(self, card: ProjectCard, claimed: ReviewClaimed) -> ReviewItem:
        document = await self.board.run(self.ops.project_document(card.id))
        return ReviewItem(
            id=claimed.review_id,
            project_id=card.id,
            task_id=claimed.task_id,
            task_type=card.task_type,
            instructions=str(document.get("instructions", "")),
            reason=claimed.reason,
            expires_at_ms=claimed.expires_at_ms,
            payload=claimed.payload,
            candidates=claimed.candidates,
            authors=[str(entry.get("volunteer_id") or "") for entry in claimed.answers],
        )

    async def item(self, volunteer_id: str, review_id: str) -> ReviewItem:
        """The review item this volunteer holds under a live lease, read again (one round trip,
        the decision's): ``ReviewNotFound`` for someone else's, an unknown or a malformed id,
        ``ReviewNotLive`` once the lease is over (expired, decided, revoked)."""
        ref = _review_ref(review_id)
        context = await self.board.run(self.ops.review_context(review_id))
        record = context.record
        if record is None or record.get("vol") != volunteer_id:
            raise ReviewNotFound("no such review")
        if record["state"] != "live":
            raise ReviewNotLive(str(record["state"]))
        if context.now_ms >= int(record["expires"]):
            raise ReviewNotLive("expired")
        document = context.document
        return ReviewItem(
            id=review_id,
            project_id=ref.project_id,
            task_id=ref.task_id,
            task_type=str(document.get("task_type", "")),
            instructions=str(document.get("instructions", "")),
            reason=str(record.get("reason", "")),
            expires_at_ms=int(record["expires"]),
            payload=context.payload or {},
            candidates=[
                {"submission_id": entry["submission_id"], "answer": entry["answer"]}
                for entry in context.answers
            ],
            authors=[str(entry.get("volunteer_id") or "") for entry in context.answers],
        )

    async def decide(
        self,
        volunteer_id: str,
        review_id: str,
        action: ReviewAction,
        *,
        submission_id: str | None = None,
        answer: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> Decided:
        """Check the lease, build the decision (validating a correction), record it."""
        _review_ref(review_id)
        context = await self.board.run(self.ops.review_context(review_id))
        record = context.record
        if record is None or record.get("vol") != volunteer_id:
            raise ReviewNotFound("no such review")
        if record["state"] != "live":
            raise ReviewNotLive(str(record["state"]))
        if context.now_ms >= int(record["expires"]):
            raise ReviewNotLive("expired")
        document = context.document
        if action == "accept":
            entry = next(
                (e for e in context.answers if e.get("submission_id") == submission_id), None
            )
            if entry is None:
                raise NotACandidate("submission_id is not one of this task's candidate answers")
            decision = ReviewDecision.accepting(entry, comment)
        elif action == "correct":
            final = validate_answer(document.get("task_type"), context.payload, answer or {})
            decision = ReviewDecision("correct", answer=final, comment=comment)
        else:
            decision = ReviewDecision(action, comment=comment)
        ceiling = document.get("max_redundancy")
        return await self.board.run(
            self.ops.decide_review(
                review_id, volunteer_id, decision, int(ceiling) if ceiling else None
            )
        )

    async def reviewer_project_ids(self, volunteer_id: str) -> list[str]:
        return sorted(card.id for card in await self.reviewer_of(volunteer_id))
