"""Every board script touches keys of one cluster slot only, all of them declared in KEYS.

Three proofs: the keys each wrapper passes hash to one slot (CRC16 of the hash tag, as Redis
Cluster computes it); each script's source only ever names a key through KEYS[n], and declares as
many KEYS in its header as the wrapper passes; and a real redis-server in cluster mode runs the
whole life cycle (it refuses, with CROSSSLOT, any command or script whose keys span slots).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from core.board.operations import Batch, Op, ScriptCall
from core.board.runner import BoardPolicy, Claimed, NewTask, ReviewClaimed, ReviewDecision
from core.clock import ManualClock
from core.delivery.results import Result, publish_result
from core.ids import new_volunteer_id
from core.insights.rollup import fold_call
from core.insights.unclear import record_unclear
from core.privacy.projects import task_deletion
from core.privacy.volunteers import pseudonymise, rewrite_results
from core.projects.deadlines import expire_deadline
from core.projects.reevaluation import close_collection
from core.quality import provisional
from core.quality.outcomes import PipelineOps
from core.quality.project_quality import record_decision
from core.quality.refit import replacement
from core.quality.reputation import ReputationOps, Update
from core.redis.scripts import ScriptName, lua_source, script_source
from core.redis.server import RedisServer
from tests.support.board import TestBoard
from tests.support.redis_cluster import cluster_port


class RecordingBoard(TestBoard):
    """A real board that also notes the keys of each script call it makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[ScriptName, list[str]]] = []

    def run(self, op: Op[Any]) -> Any:
        if isinstance(op, ScriptCall):
            self.calls.append((op.script, list(op.keys)))
        elif isinstance(op, Batch):
            self.calls.extend((call.script, list(call.keys)) for call in op.calls)
        return super().run(op)


def play_life_cycle(board: TestBoard, clock: ManualClock) -> None:
    project = board.create_project(BoardPolicy(redundancy=2, lease_seconds=10))
    board.create_tasks(project, [NewTask({"n": i}, external_id=f"e{i}") for i in range(3)])
    me, other = new_volunteer_id(), new_volunteer_id()
    first = board.claim(project, me)
    second = board.claim(project, other)
    assert isinstance(first, Claimed) and isinstance(second, Claimed)
    board.heartbeat(first.assignment_id, me)
    assert board.run(board.ops.count_claimable(project, me)).available
    board.set_paused(project, False)
    board.submit(first.assignment_id, me, {"text": "a"})
    board.release(second.assignment_id, other, "skip")
    third = board.claim(project, other)
    assert isinstance(third, Claimed)
    clock.advance(11)
    assert board.expire_leases(project) == [third.assignment_id]
    result = Result(first.task_id, {"text": "a"}, 1.0, "agreement")
    assert board.run(publish_result(board.keys, project, result)).created
    board.update_project(project, {"deadline_ms": clock.now_ms})  # the deadline is now
    assert expire_deadline(board, project).newly_closed
    play_review_cycle(board, clock)
    play_pipeline_cycle(board)
    play_insights_cycle(board, clock, project, me, first.task_id)
    play_privacy_cycle(board)


def play_insights_cycle(
    board: TestBoard, clock: ManualClock, project: str, volunteer: str, task_id: str
) -> None:
    """A project's events folded into its insights, and an "instructions unclear" report."""
    assert board.run(fold_call(board.keys, clock, project)).events > 0
    assert board.run(record_unclear(board.keys, clock, project, volunteer, task_id))


def play_privacy_cycle(board: TestBoard) -> None:
    """Erasure and deletion (core.privacy): a pseudonym written in answers and the results
    feed, a task deleted."""
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(2)])
    volunteer = new_volunteer_id()
    lease = board.claim(project, volunteer)
    assert isinstance(lease, Claimed)
    board.submit(lease.assignment_id, volunteer, {"label": "a"})
    result = Result(lease.task_id, {"label": "a"}, 1.0, "agreement", contributors=[volunteer])
    board.run(publish_result(board.keys, project, result))
    pk = board.keys.project(project)
    assert board.run(pseudonymise(pk.answers, volunteer, "anon_x", [lease.task_id])) == 1
    assert board.run(rewrite_results(board.keys, project, volunteer, "anon_x", 10, ""))
    found, _ = board.run(task_deletion(board.keys, project, lease.task_id))
    assert found


def play_pipeline_cycle(board: TestBoard) -> None:
    """The event pipeline's scripts: extend and resolve a task, a volunteer's stats and feedback
    (the last two on one per-volunteer key each)."""
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": 0})])
    ops = PipelineOps(board.keys, board.clock)
    first, second = new_volunteer_id(), new_volunteer_id()
    lease = board.claim(project, first)
    assert isinstance(lease, Claimed)
    board.submit(lease.assignment_id, first, {"label": "a"})
    assert board.run(ops.extend_task(project, lease.task_id, expected_need=1, ceiling=2))
    again = board.claim(project, second)
    assert isinstance(again, Claimed)
    board.submit(again.assignment_id, second, {"label": "a"})
    result = Result(lease.task_id, {"label": "a"}, 1.0, "agreement")
    decision = f"{lease.task_id}:2"
    assert board.run(ops.resolve_task(project, result, decision_id=decision, answers=2)).created
    assert board.run(ops.record_stats(first, "sub:x", {"tasks": 1, "minutes": 0.5}))
    assert board.run(ops.add_feedback(first, {"id": "f1", "outcome": "upheld"}))
    credit = Update("agree:x", (("t:moderation", ("r",), 0.5),), "soft:x", True)
    reputations = ReputationOps(board.keys, board.clock)
    assert board.run(reputations.apply(first, credit))
    assert board.run(reputations.standings(first, ["moderation"]))["moderation"].right == 0.5
    board.create_tasks(project, [NewTask({"n": 1})])
    third = board.claim(project, new_volunteer_id())
    assert isinstance(third, Claimed)
    closing = close_collection(board.keys, board.clock, project, third.task_id, answers=0)
    assert not board.run(closing)  # nothing answered yet: left alone
    pk = board.keys.project(project)
    guess = provisional.encode({"label": "ok"}, 0.6, "aggregation")
    recorded = record_decision(pk, board.clock, lease.task_id, 2, 0.6, provisional=guess)
    assert not board.run(recorded).refit_due
    assert board.run(provisional.replacements(pk, {lease.task_id: guess})) == 1
    refit = replacement(board, first, "refit:x", f"p:moderation:{project}", {"a": {"a": 1.0}})
    assert board.run(refit)


def play_review_cycle(board: TestBoard, clock: ManualClock) -> None:
    """Reviews and the live-assignment cap: every script the volunteer routes add."""
    project = board.create_project(BoardPolicy(redundancy=1, lease_seconds=10))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(2)])
    answerer, reviewer = new_volunteer_id(), new_volunteer_id()
    board.reserve_slot(answerer, "res:x", cap=2, hold_ms=1000)
    for _ in range(2):
        lease = board.claim(project, answerer)
        assert isinstance(lease, Claimed)
        board.submit(lease.assignment_id, answerer, {"label": "a"})
        board.open_review(project, lease.task_id, "disagreement")
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    assert board.run(board.ops.count_reviewable(project, reviewer)) == (2, False)
    assert board.run(board.ops.count_reviewable(project, answerer)) == (0, False)
    first = board.claim_review(project, reviewer, lease_seconds=60)
    assert isinstance(first, ReviewClaimed)
    board.decide_review(first.review_id, reviewer, ReviewDecision.accepting(first.answers[0]))
    second = board.claim_review(project, reviewer, lease_seconds=60)
    assert isinstance(second, ReviewClaimed)
    clock.advance(61)
    assert board.expire_review_leases(project) == [second.review_id]
    third = board.claim_review(project, reviewer, lease_seconds=60)
    assert isinstance(third, ReviewClaimed)
    assert board.run(board.ops.revoke_reviewer(project, reviewer)) == [third.review_id]


def declared_keys(name: ScriptName) -> int:
    header = lua_source(name.value)
    return len(set(re.findall(r"^-- KEYS\[(\d+)\]", header, flags=re.MULTILINE)))


def test_each_script_call_stays_in_one_slot_and_matches_its_header(
    redis_client: redis.Redis,
) -> None:
    clock = ManualClock()
    board = RecordingBoard(redis_client, clock=clock)
    play_life_cycle(board, clock)
    seen = {name for name, _ in board.calls}
    assert seen == set(ScriptName), f"not exercised: {set(ScriptName) - seen}"
    for name, keys in board.calls:
        assert len({key_slot(key.encode()) for key in keys}) == 1, (name, keys)
        assert len(keys) == declared_keys(name), name


@pytest.mark.parametrize("name", list(ScriptName))
def test_scripts_name_keys_only_through_keys(name: ScriptName) -> None:
    source = script_source(name)
    calls = re.findall(r"redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?", source)
    assert calls
    for command, first_arg in calls:
        if command == "TIME":
            continue
        assert re.fullmatch(r"KEYS\[\d+\]|\w+_key", first_arg.strip()), (command, first_arg)
    # Helpers taking a *_key parameter are only ever given KEYS[n] by their callers.
    for argument in re.findall(
        r"(?:refresh_ready|set_state|settle_collecting_state|load_json|"
        r"live_assignment)\(([^,)]+)",
        source,
    ):
        if argument.strip().endswith("_key"):
            continue  # the helper's own definition
        assert re.fullmatch(r"KEYS\[\d+\]", argument.strip()), argument


@pytest.fixture(scope="module")
def cluster_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """A one-node Redis Cluster owning every slot: it enforces the one-slot rule for scripts."""
    server = RedisServer(
        tmp_path_factory.mktemp("cluster"),
        port=cluster_port(),
        appendonly=False,
        extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
    )
    server.start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    # redis-py leaves execute_command unannotated.
    client.execute_command("CLUSTER ADDSLOTS", *range(16384))  # type: ignore[no-untyped-call]
    for _ in range(200):
        info = client.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
        if info.get("cluster_state") == "ok":
            break
        time.sleep(0.05)
    yield client
    client.close()
    server.stop()


def test_the_life_cycle_runs_on_a_real_cluster_node(cluster_node: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError, match="same slot"):
        cluster_node.eval("return 1", 2, "{p:a}x", "{p:b}y")  # the node does enforce slots
    clock = ManualClock()
    board = TestBoard(cluster_node, clock=clock)
    # The global project index lives in its own slot, outside any script.
    play_life_cycle(board, clock)
