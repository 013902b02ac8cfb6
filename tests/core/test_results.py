"""The results feed: publishing once per decision, and reading after a cursor."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import redis

from core.board.models import BoardPolicy
from core.delivery.results import FIRST_CURSOR, Result, parse_cursor, publish_result, read_results
from core.errors import InvalidCursor
from tests.support.board import TestBoard
from tests.support.streams import entries


def result(task_id: str = "t0000000001", **overrides: Any) -> Result:
    return replace(Result(task_id, {"text": "Bonjour"}, 0.75, "agreement"), **overrides)


@pytest.fixture
def project_id(board: TestBoard) -> str:
    return board.create_project(BoardPolicy())


def test_a_result_is_published_with_every_field_and_an_event(
    board: TestBoard, project_id: str, redis_client: redis.Redis
) -> None:
    published = board.run(
        publish_result(
            board.keys,
            project_id,
            result(external_id="row-7", decided_at_ms=1_700_000_000_123, contributors=["p1"]),
        )
    )
    assert published.created
    page = board.run(read_results(board.keys, project_id))
    (entry,) = page.items
    assert entry.cursor == published.cursor == page.next
    assert (entry.task_id, entry.external_id, entry.method) == ("t0000000001", "row-7", "agreement")
    assert entry.answer == {"text": "Bonjour"} and entry.confidence == 0.75
    assert entry.decided_at_ms == 1_700_000_000_123 and entry.contributors == ["p1"]
    events = entries(redis_client, board.keys.project(project_id).events)
    assert events[-1][1]["type"] == "result.published"
    assert events[-1][1]["result"] == published.cursor
    assert json.loads(entries(redis_client, board.keys.project(project_id).results)[0][1]["answer"])


def test_publishing_a_decision_twice_appends_it_once(board: TestBoard, project_id: str) -> None:
    first = board.run(publish_result(board.keys, project_id, result()))
    again = board.run(publish_result(board.keys, project_id, result(confidence=0.1)))
    assert (again.cursor, again.created) == (first.cursor, False)
    redecided = board.run(
        publish_result(board.keys, project_id, result(method="review"), decision_id="t1:2")
    )
    assert redecided.created and redecided.cursor > first.cursor
    page = board.run(read_results(board.keys, project_id))
    assert [e.method for e in page.items] == ["agreement", "review"]


def test_pages_follow_each_other_without_gaps_or_repeats(board: TestBoard, project_id: str) -> None:
    cursors = [
        board.run(publish_result(board.keys, project_id, result(f"t{i:010d}"))).cursor
        for i in range(1, 8)
    ]
    seen: list[str] = []
    after = FIRST_CURSOR
    while True:
        page = board.run(read_results(board.keys, project_id, after, 3))
        seen += [entry.cursor for entry in page.items]
        if not page.items:
            assert page.next == after
            break
        after = page.next
    assert seen == cursors


def test_an_empty_feed_returns_the_cursor_it_was_given(board: TestBoard, project_id: str) -> None:
    assert board.run(read_results(board.keys, project_id)).next == FIRST_CURSOR
    assert board.run(read_results(board.keys, project_id, "17-3")).next == "17-3"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "0",
        "abc",
        "1-2-3",
        "-1-0",
        "1-",
        "99999999999999999999-0",
        "1 -0",
        "0-18446744073709551615",
        "$",
        "+",
        "(0-0",
    ],
)
def test_garbage_cursors_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        parse_cursor(garbage)


def test_cursors_are_normalised() -> None:
    assert parse_cursor("0001-002") == "1-2"
    assert parse_cursor("0-0") == FIRST_CURSOR
