"""Hours come from lease time, capped: an answer counts the time from its claim to its
submission, at most one lease; a review counts the time from its claim to its decision. Both
per organisation and task type too (what a certificate lists), each once per event."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from core.board.models import BoardPolicy, Claimed, NewTask, ReviewClaimed, ReviewDecision
from core.board.operations import text
from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.volunteers.stats import month_of
from core.volunteers.stats_updates import answer_minutes, record_review, record_submission
from tests.support.board import TestBoard
from tests.support.pipeline import SAMPLES, last_event

ORG = "org_" + "a" * 20


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def board(redis_client: redis.Redis, clock: ManualClock) -> Iterator[TestBoard]:
    yield TestBoard(redis_client, clock=clock)


def project(board: TestBoard, *, redundancy: int = 1, lease_seconds: int = 600) -> str:
    payload, _, _ = SAMPLES["moderation"]
    document = {
        "name": "Posts",
        "org_id": ORG,
        "task_type": "moderation",
        "redundancy": redundancy,
        "review": {"agreement": 0.6},
        "instructions": "Label each post.",
    }
    policy = BoardPolicy(redundancy=redundancy, lease_seconds=lease_seconds)
    project_id = board.create_project(policy, document=document)
    board.create_tasks(project_id, [NewTask(payload, external_id="post-1")])
    return project_id


def stats(board: TestBoard, volunteer_id: str) -> dict[str, float]:
    raw = board.client.hgetall(board.keys.volunteer_stats(volunteer_id))
    return {
        text(k): float(text(v))
        for k, v in raw.items()
        if not text(k).startswith(("applied:", "markers_"))
    }


def test_answer_minutes_run_from_claim_to_submission_within_one_lease() -> None:
    assert answer_minutes(1_000, 91_000, 600_000) == pytest.approx(1.5)
    assert answer_minutes(0, 3_600_000, 600_000) == pytest.approx(10.0)  # capped
    assert answer_minutes(5_000, 1_000, 600_000) == 0.0  # a clock gone backwards counts nothing
    assert answer_minutes(0, 120_000, 0) == pytest.approx(2.0)  # no lease length known


def test_an_answer_counts_its_lease_time_not_the_time_its_client_reported(
    board: TestBoard, clock: ManualClock
) -> None:
    project_id = project(board)
    volunteer = new_volunteer_id()
    lease = board.claim(project_id, volunteer)
    assert isinstance(lease, Claimed)
    clock.advance(90)
    submitted = board.submit(lease.assignment_id, volunteer, {"label": "spam"}, seconds_spent=5000)
    task_id = lease.task_id

    assert record_submission(board, project_id, task_id, submitted.submission_id)
    assert not record_submission(board, project_id, task_id, submitted.submission_id)

    counted = stats(board, volunteer)
    assert counted["tasks"] == 1
    assert counted["minutes"] == pytest.approx(1.5)
    assert counted[f"org:{ORG}:moderation:tasks"] == 1
    assert counted[f"org:{ORG}:moderation:minutes"] == pytest.approx(1.5)
    assert counted[f"org:{ORG}:moderation:amount"] == 1  # one item moderated
    month = month_of(clock.now_ms)  # the month of the answer, on the board's clock
    monthly = {name: value for name, value in counted.items() if name.startswith("orgm:")}
    assert monthly == {
        f"orgm:{ORG}:{month}:moderation:tasks": 1,
        f"orgm:{ORG}:{month}:moderation:minutes": pytest.approx(1.5),
        f"orgm:{ORG}:{month}:moderation:amount": 1,
    }
    projects = board.client.zrange(board.keys.volunteer_projects(volunteer), 0, -1)
    assert [text(p) for p in projects] == [project_id]


def test_a_lease_kept_alive_by_heartbeats_counts_one_lease_at_most(
    board: TestBoard, clock: ManualClock
) -> None:
    project_id = project(board, lease_seconds=60)
    volunteer = new_volunteer_id()
    lease = board.claim(project_id, volunteer)
    assert isinstance(lease, Claimed)
    for _ in range(6):  # five minutes, the lease renewed every fifty seconds
        clock.advance(50)
        board.heartbeat(lease.assignment_id, volunteer)
    submitted = board.submit(lease.assignment_id, volunteer, {"label": "ok"})

    assert record_submission(board, project_id, lease.task_id, submitted.submission_id)

    counted = stats(board, volunteer)
    assert counted["minutes"] == pytest.approx(1.0)  # 300 s held, one 60 s lease counted
    [week] = [name for name in counted if name.startswith("week:")]
    assert counted[week] == pytest.approx(1.0)


def test_a_review_decision_counts_for_its_reviewer_once_with_its_lease_time(
    board: TestBoard, clock: ManualClock
) -> None:
    project_id = project(board, redundancy=2)
    task_ids = set()
    for label in ("spam", "ok"):
        volunteer = new_volunteer_id()
        lease = board.claim(project_id, volunteer)
        assert isinstance(lease, Claimed)
        board.submit(lease.assignment_id, volunteer, {"label": label})
        task_ids.add(lease.task_id)
    [task_id] = task_ids
    board.open_review(project_id, task_id, "disagreement")
    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project_id).reviewers, reviewer)
    item = board.claim_review(project_id, reviewer, lease_seconds=900)
    assert isinstance(item, ReviewClaimed)
    clock.advance(120)
    board.decide_review(item.review_id, reviewer, ReviewDecision("reject", comment="unclear"))
    _, fields = last_event(board, project_id, "review.decided")

    assert record_review(board, project_id, fields["review"], fields["reviewer"])
    assert not record_review(board, project_id, fields["review"], fields["reviewer"])
    # Someone else named as the reviewer of that review counts nothing.
    assert not record_review(board, project_id, fields["review"], new_volunteer_id())

    counted = stats(board, reviewer)
    assert counted["reviews"] == 1
    assert counted["review_minutes"] == pytest.approx(2.0)
    assert counted[f"org:{ORG}:moderation:reviews"] == 1
    assert counted[f"org:{ORG}:moderation:review_minutes"] == pytest.approx(2.0)
    [week] = [name for name in counted if name.startswith("week:")]
    assert counted[week] == pytest.approx(2.0)
    assert "tasks" not in counted  # reviewing is not answering
