"""The console's data in and out, in process: uploads in each format (bad rows reported by
line, a second upload adds nothing), the size bound, the storage quota, who may upload and
download, another organisation's project, the audit stream, and the downloads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.board.runner import AsyncBoard
from core.delivery.results import Result, publish_result
from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN
from tests.support.api.ngo import new_project, publish
from tests.support.ngo_staff import Person, StaffScene, csrf_of, staff_scene
from tests.support.web_inprocess import in_process

pytestmark = pytest.mark.anyio
MAX_BYTES = 64 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def scene(redis_client: object, redis_url: str) -> AsyncIterator[StaffScene]:
    settings = Settings(
        redis_url=redis_url, admin_token=ADMIN_TOKEN, ngo_upload_max_bytes=MAX_BYTES
    )
    async with in_process(settings) as site:
        made = await staff_scene(site)
        try:
            yield made
        finally:
            await made.close()


def translation_csv(rows: int, bad: frozenset[int] = frozenset()) -> bytes:
    """A CSV of ``rows`` translation tasks; the rows whose index is in ``bad`` lack their
    source text (row ``i`` is on line ``i + 2``: the header is line 1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["source_text", "source_lang", "target_lang"])
    for i in range(rows):
        writer.writerow(["" if i in bad else f"Wash your hands, {i}.", "en", "fr"])
    return out.getvalue().encode()


async def upload(
    person: Person,
    project_id: str,
    name: str,
    data: bytes,
    fields: dict[str, str] | None = None,
) -> httpx.Response:
    page = await person.client.get(f"/ngo/projects/{project_id}/data?lang=en")
    assert page.status_code == 200, page.text[:300]
    return await person.client.post(
        f"/ngo/projects/{project_id}/data/upload",
        data={"csrf_token": csrf_of(page.text), **(fields or {})},
        files={"file": (name, data, "application/octet-stream")},
    )


async def task_count(scene: StaffScene, project_id: str) -> int:
    response = await scene.api.get(f"/v1/projects/{project_id}", headers=scene.org_headers)
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    return sum(int(n) for n in counts.values())


async def test_csv_upload_reports_bad_rows_by_line_and_a_second_upload_adds_nothing(
    scene: StaffScene,
) -> None:
    project = await new_project(scene.api, scene.org_headers)
    manager = scene.people["manager"]
    data = translation_csv(40, bad=frozenset({3, 17, 38}))
    first = await upload(manager, project["id"], "leaflets.csv", data)
    assert first.status_code == 200, first.text[:500]
    for line in (5, 19, 40):
        assert f"<dt>Line {line}</dt>" in first.text
    assert "<dt>Line 6</dt>" not in first.text
    assert await task_count(scene, project["id"]) == 37
    second = await upload(manager, project["id"], "leaflets.csv", data)
    assert second.status_code == 200
    assert await task_count(scene, project["id"]) == 37
    figures = second.text.split('class="ngo-figure">')
    assert figures[2].startswith("0<"), "no task added the second time"
    assert figures[3].startswith("37<"), "all 37 already there"


async def test_jsonl_po_and_xliff_uploads(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    owner = scene.people["owner"]
    lines = [
        json.dumps(
            {
                "external_id": f"j{i}",
                "payload": {"source_text": f"Hello {i}", "source_lang": "en", "target_lang": "fr"},
            }
        )
        for i in range(3)
    ]
    lines.insert(1, "{not json")
    jsonl = await upload(owner, project["id"], "tasks.jsonl", "\n".join(lines).encode())
    assert jsonl.status_code == 200, jsonl.text[:500]
    assert "<dt>Line 2</dt>" in jsonl.text
    assert await task_count(scene, project["id"]) == 3
    po = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Language: fr\\n"\n"X-Source-Language: en\\n"\n\n'
        'msgid "Open every day"\nmsgstr ""\n\nmsgid "Closed on Sunday"\nmsgstr ""\n'
    )
    made = await upload(owner, project["id"], "site.po", po.encode())
    assert made.status_code == 200, made.text[:500]
    assert await task_count(scene, project["id"]) == 5
    xliff = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">'
        '<file original="app" source-language="en" target-language="fr" datatype="plaintext">'
        '<body><trans-unit id="a"><source>Book a visit</source></trans-unit>'
        '<trans-unit id="b"><source>Cancel a visit</source></trans-unit></body></file></xliff>'
    )
    made = await upload(owner, project["id"], "app.xlf", xliff.encode())
    assert made.status_code == 200, made.text[:500]
    assert await task_count(scene, project["id"]) == 7
    # A PO file that does not name its languages: said so; given them, it goes in.
    bare = 'msgid "Welcome"\nmsgstr ""\n'
    refused = await upload(owner, project["id"], "bare.po", bare.encode())
    assert refused.status_code == 422
    assert "does not name its source language" in refused.text
    taken = await upload(
        owner, project["id"], "bare.po", bare.encode(), {"source_lang": "en", "target_lang": "fr"}
    )
    assert taken.status_code == 200, taken.text[:500]
    assert await task_count(scene, project["id"]) == 8
    # A format the name does not tell, and a file of another kind: a message, never a 500.
    unknown = await upload(owner, project["id"], "tasks.txt", b"hello")
    assert unknown.status_code == 422
    assert "Choose the file" in unknown.text
    header = await upload(owner, project["id"], "wrong.csv", b"texte,source_lang\nBonjour,fr\n")
    assert header.status_code == 422
    assert "The header row (line 1) of this file does not fit this project" in header.text
    assert "unknown column" in header.text
    latin = await upload(
        owner, project["id"], "latin.csv", "source_text\nCaf\u00e9\n".encode("latin-1")
    )
    assert latin.status_code == 200
    assert "<dt>The file</dt>" in latin.text and "not UTF-8" in latin.text
    broken = await upload(owner, project["id"], "broken.xliff", b"<xliff><unclosed")
    assert broken.status_code == 422
    assert "cannot be read as XLIFF" in broken.text
    missing = await owner.client.post(
        f"/ngo/projects/{project['id']}/data/upload",
        data={
            "csrf_token": csrf_of(
                (await owner.client.get(f"/ngo/projects/{project['id']}/data")).text
            )
        },
    )
    assert missing.status_code == 422
    assert "Choose a file to upload." in missing.text


async def test_size_bound(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    manager = scene.people["manager"]
    big = translation_csv(3000)
    assert len(big) > MAX_BYTES
    refused = await upload(manager, project["id"], "big.csv", big)
    assert refused.status_code == 413
    assert "This file is larger than" in refused.text
    assert await task_count(scene, project["id"]) == 0
    just_over = translation_csv(10) + b"x" * (MAX_BYTES - len(translation_csv(10)) + 1)
    refused = await upload(manager, project["id"], "over.csv", just_over)
    assert refused.status_code == 413
    assert await task_count(scene, project["id"]) == 0


async def test_quota_refusal_is_a_message(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    manager = scene.people["manager"]
    limits = await scene.api.put(
        f"/v1/orgs/{scene.org_id}/limits", json={"quota_tasks": 5}, headers=ADMIN
    )
    assert limits.status_code == 200, limits.text
    partly = await upload(manager, project["id"], "ten.csv", translation_csv(10))
    assert partly.status_code == 200, partly.text[:500]
    assert "5 rows were not added: your organisation's storage quota is full" in partly.text
    assert await task_count(scene, project["id"]) == 5
    full = await upload(manager, project["id"], "more.csv", translation_csv(12)[:-30])
    assert full.status_code == 507, full.text[:500]
    assert "storage quota is full: the upload stopped at line 2" in full.text
    assert await task_count(scene, project["id"]) == 5


async def test_rate_refusal_stops_the_upload_with_a_message(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    manager = scene.people["manager"]
    limits = await scene.api.put(
        f"/v1/orgs/{scene.org_id}/limits", json={"bulk_tasks": "1100/hour"}, headers=ADMIN
    )
    assert limits.status_code == 200, limits.text
    data = translation_csv(1200)
    first = await upload(manager, project["id"], "many.csv", data)
    assert first.status_code == 200, first.text[:500]
    assert "the upload stopped at line 1,002" in first.text
    assert await task_count(scene, project["id"]) == 1000


async def test_roles_and_other_organisations(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    pid = project["id"]
    data = translation_csv(3)
    for role in ("viewer", "reviewer"):
        person = scene.people[role]
        page = await person.client.get(f"/ngo/projects/{pid}/data")
        assert page.status_code == 200
        assert "File of tasks" not in page.text
        refused = await person.post_by_hand(f"/ngo/projects/{pid}/data/upload", {})
        assert refused.status_code == 403, role
    assert await task_count(scene, pid) == 0
    viewer = scene.people["viewer"]
    assert (await viewer.client.get(f"/ngo/projects/{pid}/results/csv")).status_code == 403
    reviewer = scene.people["reviewer"]
    assert (await reviewer.client.get(f"/ngo/projects/{pid}/results/csv")).status_code == 200
    # Another organisation's project: the same 404 as an id that never existed.
    outsider = scene.people["outsider"]
    await outsider.client.get("/logout")  # the sign-in's flash, shown once
    random_id = "prj_" + "0" * 26 if pid.startswith("prj_") else pid[:-4] + "zzzz"
    for path in ("data", "results/csv", "data/uploads/abcdefghijklmnop"):
        theirs = await outsider.client.get(f"/ngo/projects/{pid}/{path}")
        none = await outsider.client.get(f"/ngo/projects/{random_id}/{path}")
        assert theirs.status_code == none.status_code == 404, path
        assert theirs.text.replace(pid, random_id) == none.text
    posted = await outsider.post_by_hand(f"/ngo/projects/{pid}/data/upload", {})
    assert posted.status_code == 404
    owner = scene.people["owner"]
    assert (await owner.client.get(f"/ngo/projects/{pid}/results/xml")).status_code == 404
    made = await upload(owner, pid, "three.csv", data)
    assert made.status_code == 200
    assert await task_count(scene, pid) == 3


async def test_upload_lands_in_the_audit_stream_and_its_progress_is_kept(
    scene: StaffScene,
) -> None:
    project = await new_project(scene.api, scene.org_headers)
    manager = scene.people["manager"]
    upload_id = "abcdefghijklmnop"
    made = await upload(
        manager, project["id"], "five.csv", translation_csv(5), {"upload_id": upload_id}
    )
    assert made.status_code == 200
    progress = await manager.client.get(f"/ngo/projects/{project['id']}/data/uploads/{upload_id}")
    assert progress.json() == {"lines": 6, "line": 6, "done": 1}
    client = scene.site.app.state.redis
    events = await client.xrange(scene.site.app.state.keys.project(project["id"]).events)
    audits = [fields for _, fields in events if fields.get("type") == "audit"]
    uploaded = [a for a in audits if a["action"] == "tasks.uploaded"]
    assert len(uploaded) == 1
    assert uploaded[0]["by"] == manager.volunteer_id
    assert uploaded[0]["role"] == "manager"
    assert uploaded[0]["created"] == "5"
    assert uploaded[0]["file"] == "five.csv"


async def test_downloads(scene: StaffScene, redis_url: str) -> None:
    project = await new_project(scene.api, scene.org_headers)
    pid = project["id"]
    manager = scene.people["manager"]
    await upload(manager, pid, "three.csv", translation_csv(3))
    client = scene.site.app.state.redis
    ids = sorted(await client.hkeys(scene.site.app.state.keys.project(pid).tasks))
    assert len(ids) == 3
    await publish(redis_url, pid, ids)
    table = await manager.client.get(f"/ngo/projects/{pid}/results/csv")
    assert table.status_code == 200
    assert table.headers["cache-control"] == "no-store"
    assert table.headers["x-content-type-options"] == "nosniff"
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == 3
    assert list(rows[0]) == [
        "task_id",
        "external_id",
        "source_text",
        "answer.text",
        "confidence",
        "method",
        "decided_at",
    ]
    for row in rows:
        assert row["answer.text"] == f"Lavez-vous les mains ({row['task_id']})"
        assert row["source_text"].startswith("Wash your hands, ")
        assert row["confidence"] == "0.900"
    lines = (await manager.client.get(f"/ngo/projects/{pid}/results/jsonl")).text.splitlines()
    assert sorted(json.loads(line)["task_id"] for line in lines) == ids
    po = await manager.client.get(f"/ngo/projects/{pid}/results/po")
    assert po.status_code == 200
    assert 'msgstr "Lavez-vous les mains' in po.text
    xliff = await manager.client.get(f"/ngo/projects/{pid}/results/xliff")
    assert "<target" in xliff.text
    events = await client.xrange(scene.site.app.state.keys.project(pid).events)
    downloads = [
        fields
        for _, fields in events
        if fields.get("type") == "audit" and fields["action"] == "results.downloaded"
    ]
    assert [d["format"] for d in downloads] == ["csv", "jsonl", "po", "xliff"]
    assert {d["by"] for d in downloads} == {manager.volunteer_id}


async def test_the_csv_gives_each_nested_answer_field_a_column(scene: StaffScene) -> None:
    project = await new_project(
        scene.api, scene.org_headers, task_type="moderation", name="Slips", languages=[]
    )
    pid = project["id"]
    board = AsyncBoard(scene.site.app.state.redis)
    answers: list[dict[str, Any] | None] = [
        {"values": {"amount": 12.5, "name": "=HYPERLINK()"}, "tags": ["a", "b"], "ok": True},
        {"values": {"amount": None, "date": "2026-01-02"}, "tags": [{"x": 1}]},
        None,  # rejected by a reviewer: no answer at all
    ]
    for index, answer in enumerate(answers):
        method = "rejected" if answer is None else "review"
        result = Result(f"t{index:010d}", answer, 2 / 3, method, external_id=f"slip-{index}")
        await board.run(publish_result(board.keys, pid, result))
    table = await scene.people["reviewer"].client.get(f"/ngo/projects/{pid}/results/csv")
    assert table.status_code == 200
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert list(rows[0]) == [
        "task_id", "external_id", "answer.values.amount", "answer.values.name", "answer.tags",
        "answer.ok", "answer.values.date", "confidence", "method", "decided_at",
    ]  # fmt: skip
    first, second, rejected = rows
    assert first["answer.values.amount"] == "12.5"
    assert first["answer.values.name"] == "'=HYPERLINK()"  # never run as a formula
    assert first["answer.tags"] == "a|b"
    assert first["answer.ok"] == "true"
    assert first["answer.values.date"] == ""
    assert second["answer.values.amount"] == ""
    assert second["answer.values.date"] == "2026-01-02"
    assert second["answer.tags"] == '[{"x":1}]'
    assert all(rejected[key] == "" for key in rejected if key.startswith("answer."))
    assert rejected["method"] == "rejected"
    assert {row["confidence"] for row in rows} == {"0.667"}
