"""Bulk submission: JSON and NDJSON, item-by-item validation, duplicates, limits, reading a task."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from api.limits import DEFAULT_MAX_BODY_BYTES
from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.ngo import new_project, submit, translation

pytestmark = pytest.mark.anyio

SENSITIVE = "Patient Jane Doe, HIV positive"  # must never come back in an error


@pytest.fixture
async def project(api: httpx.AsyncClient, actors: Actors) -> tuple[str, dict[str, str]]:
    _, org = await actors.org()
    return (await new_project(api, org))["id"], org


def tasks_url(project_id: str) -> str:
    return f"/v1/projects/{project_id}/tasks"


async def test_valid_items_are_created_and_invalid_ones_rejected_without_echo(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    items = [
        {"external_id": "a", "payload": translation(1)},
        {
            "external_id": "b",
            "payload": {"source_text": SENSITIVE, "source_lang": "English", "target_lang": "fr"},
        },
        {"external_id": "c", "payload": translation(3), "priority": 5},
        {"payload": {**translation(4), "colour": SENSITIVE}},
        {"external_id": "e", "payload": translation(5), "notes": SENSITIVE},
        "just a string",
        {"external_id": "g", "payload": translation(7), "priority": 1000},
    ]
    body = await submit(api, org, project_id, items)
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [r["index"] for r in body["rejected"]] == [1, 3, 4, 5, 6]
    assert [r["external_id"] for r in body["rejected"]] == ["b", None, "e", None, "g"]
    assert body["rejected"][0]["errors"][0]["loc"] == ["payload", "source_lang"]
    for rejected in body["rejected"]:
        for error in rejected["errors"]:
            assert set(error) == {"loc", "msg", "type"}
    assert SENSITIVE not in json.dumps(body)
    assert "English" not in json.dumps(body)
    assert body["task_ids"][1] is None and body["task_ids"][0] and body["task_ids"][2]
    counts = (await api.get(f"/v1/projects/{project_id}", headers=org)).json()["counts"]
    assert counts["open"] == 2


async def test_ndjson_batches_report_bad_lines_by_index(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    lines = [
        json.dumps({"external_id": "n1", "payload": translation(1)}),
        "",
        "{not json " + SENSITIVE,
        json.dumps({"external_id": "n2", "payload": translation(2)}),
        "   ",
        json.dumps({"external_id": "n3", "payload": {"source_text": ""}}),
        "NaN",
    ]
    response = await api.post(
        tasks_url(project_id),
        content="\r\n".join(lines).encode(),
        headers={**org, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["external_id"]) for r in body["rejected"]] == [
        (1, None),
        (3, "n3"),
        (4, None),
    ]
    assert body["rejected"][0]["errors"] == [
        {"loc": [], "msg": "this line is not valid JSON", "type": "json_invalid"}
    ]
    assert SENSITIVE not in response.text
    assert len(body["task_ids"]) == 5


async def test_resending_external_ids_never_makes_a_second_task(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    first = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": "x1", "payload": translation(1)},
            {"external_id": "x2", "payload": translation(2)},
            {"external_id": "x1", "payload": translation(1)},  # same batch, same id
        ],
    )
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    assert first["task_ids"][0] == first["task_ids"][2]
    again = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": "x2", "payload": translation(2)},
            {"external_id": "x3", "payload": translation(3)},
            {"payload": translation(4)},
            {"payload": translation(4)},  # no external id: always a new task
        ],
    )
    assert (again["accepted"], again["duplicates"]) == (3, 1)
    assert again["task_ids"][0] == first["task_ids"][1]
    counts = (await api.get(f"/v1/projects/{project_id}", headers=org)).json()["counts"]
    assert counts["open"] == 5


async def test_a_resent_external_id_with_another_payload_is_a_conflict(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    original = translation(1)
    first = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": "x1", "payload": original},
            {"external_id": "x1", "payload": translation(2)},  # same batch, another payload
        ],
    )
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    [conflict] = first["rejected"]
    assert (conflict["index"], conflict["external_id"]) == (1, "x1")
    assert [(e["loc"], e["type"]) for e in conflict["errors"]] == [(["external_id"], "conflict")]
    assert first["task_ids"] == [first["task_ids"][0], None]

    reordered = dict(reversed(list(original.items())))  # the same JSON, keys in another order
    again = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": "x1", "payload": translation(3)},
            {"external_id": "x1", "payload": reordered, "priority": 5},
            {"external_id": "x2", "payload": translation(3)},
        ],
    )
    assert (again["accepted"], again["duplicates"]) == (1, 1)
    assert [(r["index"], r["errors"][0]["type"]) for r in again["rejected"]] == [(0, "conflict")]
    assert again["task_ids"][1] == first["task_ids"][0]
    task = await api.get(f"/v1/projects/{project_id}/tasks/{first['task_ids'][0]}", headers=org)
    assert (task.json()["payload"], task.json()["priority"]) == (original, 0)  # left as it was


async def test_gold_answers_are_checked_and_stored_for_new_tasks_only(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]], redis_client: redis.Redis
) -> None:
    project_id, org = project
    body = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": "g1", "payload": translation(1), "gold_answer": {"text": "Lavez"}},
            {"external_id": "g2", "payload": translation(2), "gold_answer": {"txt": SENSITIVE}},
            {"external_id": "g3", "payload": translation(3), "gold_answer": {"text": "   "}},
            {"external_id": "g1", "payload": translation(1), "gold_answer": {"text": "Other"}},
        ],
    )
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["errors"][0]["loc"][0] == "gold_answer"
    assert SENSITIVE not in json.dumps(body)
    gold = redis_client.hgetall(Keys().project(project_id).gold)
    stored = {"answer": {"text": "Lavez"}, "explanation": None}
    assert gold == {body["task_ids"][0]: json.dumps(stored, separators=(",", ":"))}


async def test_item_limits_are_enforced_per_item(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    # otherwise valid, but over 64 KiB of UTF-8 JSON ("é" is two bytes)
    big = {
        "source_text": "é" * 9_000,
        "source_lang": "en",
        "target_lang": "fr",
        "glossary": {f"t{i}": "é" * 190 for i in range(150)},
    }
    assert len(json.dumps(big, ensure_ascii=False).encode()) > 64 * 1024
    body = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": "e" * 200, "payload": translation(1)},
            {"external_id": "e" * 201, "payload": translation(2)},
            {"external_id": "", "payload": translation(3)},
            {"external_id": "big", "payload": big},
        ],
    )
    assert body["accepted"] == 1
    types = {r["index"]: r["errors"][0]["type"] for r in body["rejected"]}
    assert types == {1: "string_too_long", 2: "string_too_short", 3: "payload_too_large"}


async def test_a_payload_spelling_a_lone_surrogate_is_rejected_alone(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    # "\ud800" is valid JSON syntax but no Unicode text: that item is refused, not the batch.
    project_id, org = project
    good = json.dumps({"payload": translation(1)})
    bad = json.dumps({"payload": translation(2)}).replace("Wash", "W\\ud800ash")
    for media, body in (
        ("application/json", '{"tasks": [' + bad + ", " + good + "]}"),
        ("application/x-ndjson", bad + "\n" + good + "\n"),
    ):
        response = await api.post(
            tasks_url(project_id), content=body, headers={**org, "Content-Type": media}
        )
        assert response.status_code == 200, response.text
        outcome = response.json()
        assert [r["index"] for r in outcome["rejected"]] == [0]
        assert outcome["rejected"][0]["errors"][0]["type"] == "unicode"
        assert outcome["task_ids"][1] is not None


async def test_ten_thousand_items_pass_and_one_more_is_refused(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    line = json.dumps({"payload": translation(1)})
    over = await api.post(
        tasks_url(project_id),
        content="\n".join([line] * 10_001),
        headers={**org, "Content-Type": "application/x-ndjson"},
    )
    assert over.status_code == 422
    assert over.json()["error"]["code"] == "batch_too_large"
    over_json = await api.post(
        tasks_url(project_id), json={"tasks": [{"payload": translation(1)}] * 10_001}, headers=org
    )
    assert over_json.status_code == 422
    assert over_json.json()["error"]["code"] == "batch_too_large"
    assert (await api.get(f"/v1/projects/{project_id}", headers=org)).json()["counts"]["open"] == 0

    full = await api.post(
        tasks_url(project_id),
        content="\n".join([line] * 10_000),
        headers={**org, "Content-Type": "application/x-ndjson"},
    )
    assert full.status_code == 200
    assert full.json()["accepted"] == 10_000
    counts = (await api.get(f"/v1/projects/{project_id}", headers=org)).json()["counts"]
    assert counts["open"] == 10_000


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 422, "invalid_request"),
        (b'{"tasks": {}}', "application/json", 422, "invalid_request"),
        (b'{"tasks": [], "dry_run": true}', "application/json", 422, "invalid_request"),
        (b"[" * 100_000, "application/json", 422, "invalid_request"),
        (b"tasks=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
async def test_malformed_bodies_are_refused_whole(
    api: httpx.AsyncClient,
    project: tuple[str, dict[str, str]],
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    project_id, org = project
    response = await api.post(
        tasks_url(project_id), content=content, headers={**org, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_an_empty_batch_is_fine(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    assert await submit(api, org, project_id, []) == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
        "task_ids": [],
    }


async def test_bodies_over_the_limit_get_413_with_or_without_a_content_length(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    oversized = b'{"tasks": [' + b" " * DEFAULT_MAX_BODY_BYTES + b"]}"
    declared = await api.post(
        tasks_url(project_id),
        content=oversized,
        headers={**org, "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 1 << 20):
            yield oversized[start : start + (1 << 20)]

    streamed = await api.post(
        tasks_url(project_id),
        content=chunks(),
        headers={**org, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
    assert (await api.get(f"/v1/projects/{project_id}", headers=org)).json()["counts"]["open"] == 0


async def test_a_task_reads_back_with_its_state_and_payload(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, org = project
    created = await submit(
        api, org, project_id, [{"external_id": "t-1", "payload": translation(1), "priority": 7}]
    )
    task_id = created["task_ids"][0]
    response = await api.get(f"{tasks_url(project_id)}/{task_id}", headers=org)
    assert response.status_code == 200
    task = response.json()
    assert task["id"] == task_id and task["external_id"] == "t-1"
    assert (task["state"], task["priority"], task["need"]) == ("open", 7, 3)
    assert (task["answers"], task["live"], task["attempts"]) == (0, 0, 0)
    assert task["payload"] == translation(1)
    assert task["created_at"]


async def test_unknown_and_malformed_task_ids_are_404(
    api: httpx.AsyncClient, project: tuple[str, dict[str, str]], actors: Actors
) -> None:
    project_id, org = project
    other = await new_project(api, org, name="Second")
    created = await submit(api, org, other["id"], [{"payload": translation(1)}])
    bodies = set()
    # unknown, malformed, and a task id that exists in another project of the same org
    for task_id in ("t9999999999", "t12;DROP", "T0000000001", created["task_ids"][0]):
        response = await api.get(f"{tasks_url(project_id)}/{task_id}", headers=org)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "task_not_found"
        bodies.add(response.content)
    assert len(bodies) == 1


async def test_gold_answers_that_break_the_payload_rules_are_rejected_without_echo(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org, task_type="moderation"))["id"]
    payload = {"content": SENSITIVE, "labels": ["keep", "remove"]}
    body = await submit(
        api,
        org,
        project_id,
        [
            {"payload": payload, "gold_answer": {"label": "remove"}},
            {"payload": payload, "gold_answer": {"label": "Jane Doe lives at 4 Elm St"}},
            {"payload": {"content": "x", "labels": ["Dup", "dup"]}},
        ],
    )
    assert body["accepted"] == 1
    gold_error, payload_error = (r["errors"][0] for r in body["rejected"])
    assert gold_error["loc"] == ["gold_answer", "label"]
    assert gold_error["type"] == "invalid_answer"
    assert payload_error["loc"][0] == "payload"
    for leaked in ("Jane Doe", "keep", "remove", "Dup", SENSITIVE):
        assert leaked not in json.dumps(body["rejected"]), leaked
