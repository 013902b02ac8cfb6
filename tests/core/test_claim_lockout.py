"""A volunteer's own history never locks them out of a project's remaining work.

The ready queue is shared and ranked (priority, then the task closest to completion), and a claim
looks at a bounded number of its best entries (256 by default). Tasks a volunteer released, or
answered while more answers are wanted, stay near the head of that queue, and they are never
served to that volunteer again: without a way past them, enough of them fill every entry the scan
looks at, and the volunteer got nothing (204) for good while thousands of tasks stayed open.
"""

from __future__ import annotations

from collections.abc import Callable

from core.board.runner import BoardPolicy, Claimed, NewTask, NothingToClaim
from tests.support.board import TestBoard


def claimed(outcome: Claimed | NothingToClaim) -> Claimed:
    assert isinstance(outcome, Claimed), outcome
    return outcome


def test_a_volunteer_who_skipped_5000_tasks_still_gets_the_other_5000(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(10_000)])
    me = volunteer()
    skipped: set[str] = set()
    for _ in range(5_000):
        outcome = claimed(board.claim(project, me))
        assert outcome.task_id not in skipped
        skipped.add(outcome.task_id)
        board.release(outcome.assignment_id, me, "not for me")
    assert len(skipped) == 5_000

    for _ in range(20):  # and the next ones too, each a task they never saw
        outcome = claimed(board.claim(project, me))
        assert outcome.task_id not in skipped
        skipped.add(outcome.task_id)
    # The skipped tasks stay served first to everybody else, as before.
    assert claimed(board.claim(project, volunteer())).task_id in skipped


def test_a_volunteer_whose_answers_fill_the_head_of_the_queue_still_gets_work(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    # Redundancy 2: each task they answered wants one more answer, from someone else, and
    # ranks before every untouched task (closest to completion first).
    project = board.create_project(BoardPolicy(redundancy=2))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(600)])
    me = volunteer()
    answered: set[str] = set()
    for _ in range(400):
        outcome = claimed(board.claim(project, me))
        assert outcome.task_id not in answered
        answered.add(outcome.task_id)
        board.submit(outcome.assignment_id, me, {"ok": True})
    outcome = claimed(board.claim(project, me))
    assert outcome.task_id not in answered
    assert board.get_task(project, outcome.task_id).answers == 0


def test_once_every_task_was_touched_nothing_fits(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(300)])
    me = volunteer()
    for _ in range(300):
        outcome = claimed(board.claim(project, me))
        board.release(outcome.assignment_id, me, "not for me")
    assert board.claim(project, me) == NothingToClaim("nothing_fits")
    assert isinstance(board.claim(project, volunteer()), Claimed)
