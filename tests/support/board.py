"""``TestBoard``: the synchronous board with one method per board operation, for the tests.

Production code runs an operation as ``board.run(board.ops.<operation>(...))`` and keeps on
:class:`~core.board.runner.Board` only the calls it makes; the tests drive every operation one
by one, so they get a method each here. Each only runs its operation: what the operation does
is in :mod:`core.board.operations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from core import ids
from core.board.models import (
    BoardPolicy,
    Claimed,
    CreatedTask,
    Decided,
    Heartbeat,
    NewTask,
    NothingToClaim,
    NothingToReview,
    ReviewClaimed,
    ReviewDecision,
    Submitted,
)
from core.board.runner import Board

__all__ = ["PolicyFields", "TestBoard"]


class PolicyFields(TypedDict, total=False):
    """A :class:`~core.board.models.BoardPolicy`'s numbers, as keyword arguments
    (``**policy: Unpack[PolicyFields]``) for helpers that make projects."""

    redundancy: int
    lease_seconds: int
    max_lease_seconds: int
    max_attempts: int


class TestBoard(Board):
    """A :class:`~core.board.runner.Board` with a synchronous call for every board operation."""

    __test__ = False  # a helper, not a test class for pytest to collect

    # -- projects ----------------------------------------------------------------------------

    def create_project(
        self,
        policy: BoardPolicy,
        *,
        project_id: str | None = None,
        document: Mapping[str, Any] | None = None,
    ) -> str:
        return self.run(
            self.ops.create_project(project_id or ids.new_project_id(), policy, document)
        )

    def update_project(self, project_id: str, fields: Mapping[str, str | int]) -> None:
        self.run(self.ops.update_project(project_id, fields))

    def set_policy(self, project_id: str, policy: BoardPolicy) -> None:
        """Change lease length, cap, redundancy of new tasks and the attempt limit."""
        self.run(self.ops.set_policy(project_id, policy))

    def set_paused(self, project_id: str, paused: bool) -> None:
        self.run(self.ops.set_paused(project_id, paused))

    def counts(self, project_id: str) -> dict[str, int]:
        """Number of tasks per state (kept up to date by the scripts, O(1) to read)."""
        return self.run(self.ops.counts(project_id))

    # -- tasks -------------------------------------------------------------------------------

    def create_tasks(self, project_id: str, tasks: Iterable[NewTask]) -> list[CreatedTask]:
        """Create tasks in chunks sent down one pipeline; idempotent on external id."""
        return self.run(self.ops.create_tasks(project_id, tasks))

    def answers(self, project_id: str, task_id: str) -> list[dict[str, Any]]:
        return self.run(self.ops.answers(project_id, task_id))

    # -- leases ------------------------------------------------------------------------------

    def claim(self, project_id: str, volunteer_id: str) -> Claimed | NothingToClaim:
        return self.run(self.ops.claim(project_id, volunteer_id))

    def heartbeat(self, assignment_id: str, volunteer_id: str) -> Heartbeat:
        return self.run(self.ops.heartbeat(assignment_id, volunteer_id))

    def release(self, assignment_id: str, volunteer_id: str, reason: str) -> None:
        self.run(self.ops.release(assignment_id, volunteer_id, reason))

    def submit(
        self,
        assignment_id: str,
        volunteer_id: str,
        answer: Mapping[str, Any],
        *,
        seconds_spent: float | None = None,
    ) -> Submitted:
        """Record an answer (already validated by its task type) on a live lease."""
        return self.run(self.ops.submit(assignment_id, volunteer_id, answer, seconds_spent))

    def assignment(self, assignment_id: str) -> dict[str, Any]:
        return self.run(self.ops.assignment(assignment_id))

    def expire_leases(self, project_id: str, limit: int = 500) -> list[str]:
        """Expire up to ``limit`` leases whose time is up; returns their assignment ids."""
        return self.run(self.ops.expire_leases(project_id, limit))

    # -- reviews -----------------------------------------------------------------------------

    def claim_review(
        self, project_id: str, reviewer_id: str, *, lease_seconds: int = 900
    ) -> ReviewClaimed | NothingToReview:
        return self.run(self.ops.claim_review(project_id, reviewer_id, lease_seconds))

    def decide_review(
        self,
        review_id: str,
        reviewer_id: str,
        decision: ReviewDecision,
        *,
        max_answers: int | None = None,
    ) -> Decided:
        """Record a decision (a correction already validated by its task type)."""
        return self.run(self.ops.decide_review(review_id, reviewer_id, decision, max_answers))

    def expire_review_leases(self, project_id: str, limit: int = 500) -> list[str]:
        """Return up to ``limit`` review items whose lease ran out to their queue."""
        return self.run(self.ops.expire_review_leases(project_id, limit))

    # -- a volunteer's live-assignment slots -------------------------------------------------

    def reserve_slot(self, volunteer_id: str, member: str, *, cap: int, hold_ms: int) -> int:
        return self.run(self.ops.reserve_slot(volunteer_id, member, cap, hold_ms))

    def confirm_slot(
        self, volunteer_id: str, member: str, assignment_id: str, expires_at_ms: int
    ) -> None:
        self.run(self.ops.confirm_slot(volunteer_id, member, assignment_id, expires_at_ms))

    def drop_slot(self, volunteer_id: str, member: str) -> None:
        self.run(self.ops.drop_slot(volunteer_id, member))

    def live_slots(self, volunteer_id: str) -> list[tuple[str, int]]:
        return self.run(self.ops.live_slots(volunteer_id))
