"""Operations on review items: open, claim under a lease, decide, expire; withdrawn rights."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from core import ids
from core.board.models import (
    REVIEW_REASONS,
    Decided,
    LeaseContext,
    NothingToReview,
    ReviewClaimed,
    ReviewDecision,
)
from core.board.script_calls import (
    Commands,
    OpsBase,
    ScriptCall,
    dumps,
    json_or_none,
    review_checked,
    text,
)
from core.logging import current_request_id
from core.redis.scripts import ScriptName

__all__ = ["HELD_REVIEWS_LOOKED_AT", "ReviewOps"]

#: Live review leases of a project a claim looks through, when nothing new waits, for one its
#: reviewer already holds (given back: a claim whose reply was lost, made again).
HELD_REVIEWS_LOOKED_AT = 64


class ReviewOps(OpsBase):
    # -- reviews -----------------------------------------------------------------------------

    def open_review(
        self, project_id: str, task_id: str, reason: str, priority: int = 0
    ) -> ScriptCall[bool]:
        """Queue a task for review; True when opened, False when it already was in review."""
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)
        if reason not in REVIEW_REASONS:
            raise ValueError(f"reason must be one of {', '.join(REVIEW_REASONS)}")

        def parse(reply: Sequence[Any]) -> bool:
            return bool(int(review_checked(reply)[1]))

        keys = [pk.project, pk.tasks, pk.ready, pk.review_queue, pk.events]
        args: list[str | int] = [self.clock.script_now(), task_id, reason, int(priority)]
        return ScriptCall(ScriptName.OPEN_REVIEW, keys, args, parse)

    def claim_review(
        self, project_id: str, reviewer_id: str, lease_seconds: int
    ) -> ScriptCall[ReviewClaimed | NothingToReview]:
        pk = self.project_keys(project_id)
        ids.validate_volunteer_id(reviewer_id)

        def parse(reply: Sequence[Any]) -> ReviewClaimed | NothingToReview:
            if text(review_checked(reply)[0]) == "empty":
                return NothingToReview()
            return ReviewClaimed(
                held=text(reply[0]) == "held",
                review_id=text(reply[1]),
                project_id=project_id,
                task_id=text(reply[2]),
                expires_at_ms=int(reply[3]),
                payload=json.loads(reply[4]),
                answers=list(json.loads(reply[5])),
                reason=text(reply[6]),
            )

        keys = [
            pk.reviewers, pk.review_queue, pk.review_assignments, pk.review_leases,
            pk.touched(reviewer_id), pk.answers, pk.payloads, pk.tasks, pk.events,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), reviewer_id, project_id, ids.new_token_part(),
            self.claim_scan_limit, lease_seconds * 1000, HELD_REVIEWS_LOOKED_AT,
        ]  # fmt: skip
        return ScriptCall(ScriptName.CLAIM_REVIEW, keys, args, parse)

    def count_reviewable(self, project_id: str, reviewer_id: str) -> ScriptCall[tuple[int, bool]]:
        """How many of the project's waiting items ``claim_review`` could give this reviewer (the
        same bounded scan), and whether the queue goes on past the bound."""
        pk = self.project_keys(project_id)
        ids.validate_volunteer_id(reviewer_id)

        def parse(reply: Sequence[Any]) -> tuple[int, bool]:
            return int(reply[0]), bool(int(reply[1]))

        keys = [pk.reviewers, pk.review_queue, pk.touched(reviewer_id), pk.answers]
        args: list[str | int] = [reviewer_id, self.claim_scan_limit]
        return ScriptCall(ScriptName.COUNT_REVIEWABLE, keys, args, parse)

    def review_context(self, review_id: str) -> Commands[LeaseContext]:
        """The review lease record, project document, task payload and answers behind a review
        id, with the board's time: what a decision is checked and validated against."""
        ref = ids.parse_review_id(review_id)
        pk = self.keys.project(ref.project_id)

        def parse(replies: list[Any]) -> LeaseContext:
            raw_record, raw_doc, raw_payload, raw_answers, now = replies
            return LeaseContext(
                record=json_or_none(raw_record),
                document=json_or_none(raw_doc) or {},
                payload=json_or_none(raw_payload),
                answers=list(json_or_none(raw_answers) or []),
                now_ms=self.now_from(now),
            )

        return Commands(
            [
                ("HGET", pk.review_assignments, review_id),
                ("HGET", pk.project, "doc"),
                ("HGET", pk.payloads, ref.task_id),
                ("HGET", pk.answers, ref.task_id),
                ("TIME",),
            ],
            parse,
        )

    def decide_review(
        self,
        review_id: str,
        reviewer_id: str,
        decision: ReviewDecision,
        max_answers: int | None = None,
    ) -> ScriptCall[Decided]:
        """Record a review decision; ``max_answers`` (the project's ``max_redundancy``) bounds
        how many answers a reopen may ask for."""
        ref = ids.parse_review_id(review_id)
        pk = self.keys.project(ref.project_id)
        record = dumps(
            {
                "action": decision.action,
                "submission_id": decision.submission_id,
                "reviewer": reviewer_id,
                "comment": decision.comment,
                "answer": None if decision.answer is None else dict(decision.answer),
            }
        )

        def parse(reply: Sequence[Any]) -> Decided:
            review_checked(reply)
            return Decided(ref.task_id, text(reply[1]), int(reply[2]))

        keys = [
            pk.project, pk.tasks, pk.ready, pk.review_assignments, pk.review_leases, pk.answers,
            pk.decisions, pk.events, pk.reviewers, pk.provisional,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), review_id, reviewer_id, decision.action,
            decision.submission_id or "", record, max_answers or 0,
            current_request_id(),  # the request the decision came in (its event carries it)
        ]  # fmt: skip
        return ScriptCall(ScriptName.DECIDE_REVIEW, keys, args, parse)

    def decision(self, project_id: str, task_id: str) -> Commands[dict[str, Any] | None]:
        """The latest review decision recorded for a task, if any."""
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)
        return Commands([("HGET", pk.decisions, task_id)], lambda r: json_or_none(r[0]))

    def revoke_reviewer(self, project_id: str, volunteer_id: str) -> ScriptCall[list[str]]:
        """Withdraw the volunteer's review rights on the project and end the review leases they
        hold there (their items go back to the queue); returns the review ids ended."""
        pk = self.project_keys(project_id)
        keys = [pk.reviewers, pk.review_assignments, pk.review_leases, pk.review_queue, pk.events]
        args: list[str | int] = [self.clock.script_now(), volunteer_id]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [text(review_id) for review_id in review_checked(reply)[1:]]

        return ScriptCall(ScriptName.REVOKE_REVIEWER, keys, args, parse)

    def expire_review_leases(self, project_id: str, limit: int) -> ScriptCall[list[str]]:
        pk = self.project_keys(project_id)
        keys = [pk.review_assignments, pk.review_leases, pk.review_queue, pk.events]
        args: list[str | int] = [self.clock.script_now(), limit]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [text(rid) for rid in reply]

        return ScriptCall(ScriptName.EXPIRE_REVIEW_LEASES, keys, args, parse)
