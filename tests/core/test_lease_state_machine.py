"""A hypothesis state machine of the lease life cycle, run against the real scripts.

The model is a few lines of plain Python: which tasks exist, which leases are live until when,
who touched what. Every step (claim, heartbeat, release, submit with live and stale ids, clock
advance, expiry sweep) is played on both, and after each step the board must agree with the
model and uphold invariants 1-3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis.strategies as st
import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from core.board.runner import BoardPolicy, Claimed, NewTask, NothingToClaim
from core.clock import ManualClock
from core.errors import AssignmentNotFound, LeaseNotLive
from core.ids import new_volunteer_id
from tests.support.board import TestBoard

REDUNDANCY = 2
LEASE_MS = 60_000
MAX_LEASE_MS = 150_000
MAX_ATTEMPTS = 3
N_TASKS = 3
N_VOLUNTEERS = 4


@dataclass
class ModelTask:
    answers: int = 0
    attempts: int = 0
    releases: int = 0
    stalled: bool = False
    live: set[str] = field(default_factory=set)

    def collectable(self) -> bool:
        return not self.stalled and self.answers < REDUNDANCY

    def state(self) -> str:
        if self.answers >= REDUNDANCY:
            return "aggregating"
        if self.stalled:
            return "stalled"
        return "collecting" if self.live or self.answers else "open"


@dataclass
class ModelLease:
    task: str
    volunteer: str
    state: str
    expires: int
    cap: int


def lease_machine(board: TestBoard) -> type[RuleBasedStateMachine]:
    class LeaseLifeCycle(RuleBasedStateMachine):
        assignments = Bundle("assignments")

        @initialize()
        def setup(self) -> None:
            assert isinstance(board.clock, ManualClock)
            self.clock = board.clock
            self.project = board.create_project(
                BoardPolicy(
                    redundancy=REDUNDANCY,
                    lease_seconds=LEASE_MS // 1000,
                    max_lease_seconds=MAX_LEASE_MS // 1000,
                    max_attempts=MAX_ATTEMPTS,
                )
            )
            created = board.create_tasks(self.project, [NewTask({"n": i}) for i in range(N_TASKS)])
            self.tasks = {c.task_id: ModelTask() for c in created}
            self.volunteers = [new_volunteer_id() for _ in range(N_VOLUNTEERS)]
            self.touched: dict[str, set[str]] = {v: set() for v in self.volunteers}
            self.leases: dict[str, ModelLease] = {}

        # -- helpers ---------------------------------------------------------------------------

        def expected_refusal(self, aid: str, volunteer: str) -> str | None:
            lease = self.leases[aid]
            if lease.volunteer != volunteer:
                return "unknown"
            if lease.state != "live":
                return lease.state
            if self.clock.now_ms >= lease.expires:
                return "expired"
            return None

        def call_refused(self, aid: str, volunteer: str, action: str) -> bool:
            """Play ``action``; if the model says it must be refused, check the refusal."""
            refusal = self.expected_refusal(aid, volunteer)
            calls: dict[str, Callable[[], object]] = {
                "heartbeat": lambda: board.heartbeat(aid, volunteer),
                "release": lambda: board.release(aid, volunteer, "skip"),
                "submit": lambda: board.submit(aid, volunteer, {"v": volunteer}),
            }
            if refusal is None:
                return False
            if refusal == "unknown":
                with pytest.raises(AssignmentNotFound):
                    calls[action]()
            else:
                with pytest.raises(LeaseNotLive) as info:
                    calls[action]()
                assert info.value.state == refusal
            return True

        # -- rules -----------------------------------------------------------------------------

        @rule(target=assignments, who=st.integers(0, N_VOLUNTEERS - 1))
        def claim(self, who: int) -> str:
            volunteer = self.volunteers[who]
            candidates = [
                tid
                for tid, task in sorted(self.tasks.items())
                if task.collectable()
                and len(task.live) + task.answers < REDUNDANCY
                and tid not in self.touched[volunteer]
            ]
            outcome = board.claim(self.project, volunteer)
            if not candidates:
                assert outcome == NothingToClaim("nothing_fits")
                return "none"

            # Closest to completion first, then first come first served.
            def rank(tid: str) -> tuple[int, int]:
                return (len(self.tasks[tid].live) + self.tasks[tid].answers, -int(tid[1:]))

            best = max(candidates, key=rank)
            assert isinstance(outcome, Claimed)
            assert outcome.task_id == best
            assert outcome.expires_at_ms == self.clock.now_ms + LEASE_MS
            self.tasks[best].live.add(outcome.assignment_id)
            self.touched[volunteer].add(best)
            now = self.clock.now_ms
            self.leases[outcome.assignment_id] = ModelLease(
                best, volunteer, "live", now + LEASE_MS, now + MAX_LEASE_MS
            )
            return outcome.assignment_id

        @rule(aid=assignments, owner=st.booleans())
        def heartbeat(self, aid: str, owner: bool) -> None:
            if aid == "none":
                return
            lease = self.leases[aid]
            volunteer = lease.volunteer if owner else self.volunteers[0]
            if self.call_refused(aid, volunteer, "heartbeat"):
                return
            beat = board.heartbeat(aid, volunteer)
            lease.expires = max(lease.expires, min(self.clock.now_ms + LEASE_MS, lease.cap))
            assert beat.expires_at_ms == lease.expires
            assert beat.capped == (self.clock.now_ms + LEASE_MS >= lease.cap)

        @rule(aid=assignments, owner=st.booleans())
        def release(self, aid: str, owner: bool) -> None:
            if aid == "none":
                return
            lease = self.leases[aid]
            volunteer = lease.volunteer if owner else self.volunteers[0]
            if self.call_refused(aid, volunteer, "release"):
                return
            board.release(aid, volunteer, "skip")
            lease.state = "released"
            task = self.tasks[lease.task]
            task.live.discard(aid)
            task.releases += 1

        @rule(aid=assignments, owner=st.booleans())
        def submit(self, aid: str, owner: bool) -> None:
            if aid == "none":
                return
            lease = self.leases[aid]
            volunteer = lease.volunteer if owner else self.volunteers[0]
            if self.call_refused(aid, volunteer, "submit"):
                return
            result = board.submit(aid, volunteer, {"v": volunteer})
            lease.state = "submitted"
            task = self.tasks[lease.task]
            task.live.discard(aid)
            task.answers += 1
            assert result.answers == task.answers
            assert result.task_state == task.state()

        @rule(seconds=st.sampled_from([1, 30, 59, 60, 61, 120, 200]))
        def advance(self, seconds: int) -> None:
            self.clock.advance(seconds)

        @rule(limit=st.integers(1, 4))
        def sweep(self, limit: int) -> None:
            due = sorted(
                (lease.expires, aid)
                for aid, lease in self.leases.items()
                if lease.state == "live" and lease.expires <= self.clock.now_ms
            )
            expired = board.expire_leases(self.project, limit=limit)
            assert set(expired) <= {aid for _, aid in due}
            assert len(expired) == min(limit, len(due))
            for aid in expired:
                lease = self.leases[aid]
                lease.state = "expired"
                task = self.tasks[lease.task]
                task.live.discard(aid)
                task.attempts += 1
                if task.attempts >= MAX_ATTEMPTS and task.collectable():
                    task.stalled = True

        # -- invariants ------------------------------------------------------------------------

        @invariant()
        def board_matches_model(self) -> None:
            if not hasattr(self, "tasks"):
                return
            for tid, task in self.tasks.items():
                view = board.get_task(self.project, tid)
                assert (view.live, view.answers) == (len(task.live), task.answers)
                assert (view.attempts, view.releases) == (task.attempts, task.releases)
                assert view.state == task.state()
                # Invariant 1: never more live-or-submitted assignments than the redundancy.
                assert view.live + view.answers <= REDUNDANCY
            # Invariant 2: one volunteer, at most one assignment per task.
            pairs = [(lease.task, lease.volunteer) for lease in self.leases.values()]
            assert len(pairs) == len(set(pairs))
            counts = board.counts(self.project)
            expected: dict[str, int] = {}
            for task in self.tasks.values():
                expected[task.state()] = expected.get(task.state(), 0) + 1
            assert {k: v for k, v in counts.items() if v} == expected

    return LeaseLifeCycle


# 8,000 steps against the real scripts: 10 s on a quiet machine, near two minutes on a loaded
# one, past the suite's default limit.
@pytest.mark.timeout(600)
def test_lease_life_cycle_matches_the_model(redis_client: redis.Redis) -> None:
    board = TestBoard(redis_client, clock=ManualClock())
    run_state_machine_as_test(
        lease_machine(board),
        settings=settings(
            max_examples=200,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
