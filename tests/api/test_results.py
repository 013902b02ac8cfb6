"""Results by cursor and export: no result skipped or repeated, even while new ones arrive."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
import pytest
import redis.asyncio
from translate.storage.pypo import pofile
from translate.storage.xliff import xlifffile

from core.board.runner import AsyncBoard
from core.delivery.results import Result, publish_result
from tests.support.api.client import Actors
from tests.support.api.ngo import new_project, publish, submit, translation

pytestmark = pytest.mark.anyio


def cursor(text: str) -> tuple[int, int]:
    ms, seq = text.split("-")
    return int(ms), int(seq)


async def project_with_tasks(
    api: httpx.AsyncClient, actors: Actors, n: int
) -> tuple[str, dict[str, str], list[str]]:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    tasks = [{"external_id": f"row-{i}", "payload": translation(i)} for i in range(n)]
    task_ids = (await submit(api, org, project_id, tasks))["task_ids"]
    return project_id, org, task_ids


async def test_the_first_page_the_last_page_and_an_empty_poll(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    project_id, org, task_ids = await project_with_tasks(api, actors, 5)
    url = f"/v1/projects/{project_id}/results"
    empty = (await api.get(url, headers=org)).json()
    assert empty == {"items": [], "next": "0-0"}

    await publish(redis_url, project_id, task_ids)
    first = (await api.get(url, params={"limit": 3}, headers=org)).json()
    assert [i["task_id"] for i in first["items"]] == task_ids[:3]
    item = first["items"][0]
    assert set(item) == {"task_id", "external_id", "answer", "confidence", "method", "decided_at"}
    assert item["external_id"] == "row-0" and item["method"] == "agreement"
    assert item["confidence"] == 0.9 and item["answer"]["text"].startswith("Lavez")

    second = (await api.get(url, params={"after": first["next"], "limit": 3}, headers=org)).json()
    assert [i["task_id"] for i in second["items"]] == task_ids[3:]
    drained = (await api.get(url, params={"after": second["next"]}, headers=org)).json()
    assert drained == {"items": [], "next": second["next"]}


async def test_polling_while_results_are_published_never_skips_or_repeats(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    project_id, org, task_ids = await project_with_tasks(api, actors, 120)
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    board = AsyncBoard(client)
    published: list[str] = []

    async def publisher() -> None:
        for task_id in task_ids:
            result = Result(task_id, {"text": "ok"}, 1.0, "agreement")
            await board.run(publish_result(board.keys, project_id, result))
            published.append(task_id)
            if len(published) % 7 == 0:
                await asyncio.sleep(0)

    seen: list[str] = []
    after = "0-0"
    pages_while_publishing = 0
    try:
        producing = asyncio.create_task(publisher())
        while not producing.done() or len(seen) < len(task_ids):
            page = (
                await api.get(
                    f"/v1/projects/{project_id}/results",
                    params={"after": after, "limit": 5},
                    headers=org,
                )
            ).json()
            seen += [item["task_id"] for item in page["items"]]
            assert cursor(page["next"]) >= cursor(after)
            assert (page["next"] == after) == (not page["items"])
            after = page["next"]
            pages_while_publishing += not producing.done() and bool(page["items"])
            if producing.done() and not page["items"] and len(seen) >= len(task_ids):
                break
            await asyncio.sleep(0)
        await producing
    finally:
        await client.aclose()
    assert seen == task_ids  # in order, none twice, none missing
    assert pages_while_publishing > 3  # the polls really did interleave with publishing


@pytest.mark.parametrize(
    "params",
    [
        {"after": "garbage"},
        {"after": "1-2-3"},
        {"after": "-1"},
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
    ],
)
async def test_bad_cursors_and_limits_are_refused(
    api: httpx.AsyncClient, actors: Actors, params: dict[str, str | int]
) -> None:
    project_id, org, _ = await project_with_tasks(api, actors, 0)
    response = await api.get(f"/v1/projects/{project_id}/results", params=params, headers=org)
    assert response.status_code == 422
    code = response.json()["error"]["code"]
    assert code == ("invalid_cursor" if "after" in params else "invalid_request")


async def test_export_jsonl_streams_every_result(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    project_id, org, task_ids = await project_with_tasks(api, actors, 1203)
    await publish(redis_url, project_id, task_ids)
    response = await api.get(f"/v1/projects/{project_id}/export", headers=org)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["task_id"] for line in lines] == task_ids
    assert lines[0]["external_id"] == "row-0"


async def test_export_csv_has_a_header_and_defuses_formulas(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    created = await submit(
        api,
        org,
        project_id,
        [
            {"external_id": '=HYPERLINK("http://x")', "payload": translation(0)},
            {"external_id": "plain, with comma", "payload": translation(1)},
        ],
    )
    await publish(redis_url, project_id, created["task_ids"][:1])
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    board = AsyncBoard(client)
    second = Result(
        created["task_ids"][1],
        {"text": 'il a dit "oui"\nfin'},
        0.5,
        "review",
        external_id="plain, with comma",
    )
    await board.run(publish_result(board.keys, project_id, second))
    await client.aclose()

    response = await api.get(f"/v1/projects/{project_id}/export?format=csv", headers=org)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["task_id", "external_id", "answer", "confidence", "method", "decided_at"]
    assert len(rows) == 3
    assert rows[1][1] == '\'=HYPERLINK("http://x")'
    assert rows[2][1] == "plain, with comma"
    assert json.loads(rows[2][2]) == {"text": 'il a dit "oui"\nfin'}
    assert rows[2][3:5] == ["0.5", "review"]


async def test_export_of_an_empty_project_and_unsupported_formats(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    project_id, org, _ = await project_with_tasks(api, actors, 0)
    empty = await api.get(f"/v1/projects/{project_id}/export?format=jsonl", headers=org)
    assert empty.status_code == 200 and empty.text == ""
    header_only = await api.get(f"/v1/projects/{project_id}/export?format=csv", headers=org)
    assert header_only.text.splitlines() == [
        "task_id,external_id,answer,confidence,method,decided_at"
    ]
    response = await api.get(f"/v1/projects/{project_id}/export?format=xml", headers=org)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_format"
    labels = await new_project(api, org, task_type="moderation", languages=["en"])
    for fmt in ("po", "xliff"):  # catalogs are for translation projects
        response = await api.get(f"/v1/projects/{labels['id']}/export?format={fmt}", headers=org)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "unsupported_format"


async def test_a_translation_project_exports_po_and_xliff_that_parse_back(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    project_id, org, task_ids = await project_with_tasks(api, actors, 3)
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    board = AsyncBoard(client)
    for task_id, text, confidence in (
        (task_ids[0], "Lavez-vous les mains, 0.", 0.95),
        (task_ids[1], "Lavez vos mains, 1.", 0.6),  # low: marked for review
    ):
        await board.run(
            publish_result(
                board.keys, project_id, Result(task_id, {"text": text}, confidence, "agreement")
            )
        )
    await board.run(
        publish_result(board.keys, project_id, Result(task_ids[2], None, 1.0, "rejected"))
    )
    await client.aclose()

    po = await api.get(f"/v1/projects/{project_id}/export?format=po", headers=org)
    assert po.status_code == 200, po.text
    assert po.headers["content-type"].startswith("text/x-gettext-translation")
    store = pofile.parsestring(po.content)  # type: ignore[no-untyped-call]  # untyped library
    units = {unit.source: unit for unit in store.units if not unit.isheader()}
    assert set(units) == {"Wash your hands, 0.", "Wash your hands, 1."}  # rejected: left out
    assert units["Wash your hands, 0."].target == "Lavez-vous les mains, 0."
    assert not units["Wash your hands, 0."].isfuzzy()
    assert units["Wash your hands, 1."].isfuzzy()

    xml = await api.get(f"/v1/projects/{project_id}/export?format=xliff", headers=org)
    assert xml.status_code == 200, xml.text
    parsed = xlifffile.parsestring(xml.content)  # type: ignore[no-untyped-call]  # untyped library
    assert {unit.getid().split("\x04")[-1]: unit.target for unit in parsed.units} == {
        task_ids[0]: "Lavez-vous les mains, 0.",
        task_ids[1]: "Lavez vos mains, 1.",
    }
    assert parsed.gettargetlanguage() == "fr"
