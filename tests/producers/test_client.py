"""The typed client against a real Ruche (uvicorn on real Redis): projects, tasks, results by
cursor, export, webhook management, and the API's refusals as ``RucheError``."""

from __future__ import annotations

import json

import pytest

from producers import NewProject, RucheError, TaskItem
from producers.bulk import submit_in_chunks
from tests.producers.conftest import Ngo

SPEC = NewProject(
    name="Forum posts",
    task_type="moderation",
    instructions="Flag rule breakers.",
    redundancy=2,
    languages=["en"],
)


def posts(count: int) -> list[TaskItem]:
    return [
        TaskItem(
            external_id=f"post-{n}", payload={"content": f"Post {n}", "labels": ["ok", "spam"]}
        )
        for n in range(count)
    ]


def test_projects_are_created_listed_read_and_paused(ngo: Ngo) -> None:
    client = ngo.client
    project = client.create_project(SPEC)
    assert (project.task_type, project.redundancy, project.state) == ("moderation", 2, "active")
    assert [p.id for p in client.list_projects()] == [project.id]
    paused = client.pause_project(project.id)
    assert paused.state == "paused"
    assert client.update_project(project.id, redundancy=3, impact_note="Thanks!").redundancy == 3
    assert client.resume_project(project.id).state == "active"
    assert client.get_project(project.id).impact_note == "Thanks!"
    assert "moderation" in {t.name for t in client.task_types()}


def test_bulk_submission_counts_duplicates_and_reports_rejected_items(ngo: Ngo) -> None:
    client = ngo.client
    project = client.create_project(SPEC)
    bad = {"external_id": "bad", "payload": {"content": "x", "labels": ["only one"]}}
    first = client.submit_tasks(project.id, [*posts(3), bad])
    assert (first.accepted, first.duplicates, first.replayed) == (3, 0, False)
    assert [r.index for r in first.rejected] == [3]
    assert first.rejected[0].errors[0]["loc"][:2] == ["payload", "labels"]
    report = submit_in_chunks(client, project.id, posts(5), source="test", chunk_size=2)
    assert (report.created, report.already_there, report.chunks) == (2, 3, 3)
    again = submit_in_chunks(client, project.id, posts(5), source="test", chunk_size=2)
    assert (again.created, again.already_there, again.replayed_chunks) == (0, 5, 3)
    task = client.get_task(project.id, str(first.task_ids[0]))
    assert (task.external_id, task.state, task.payload["content"]) == ("post-0", "open", "Post 0")
    assert sum(client.get_project(project.id).counts.values()) == 5


def test_results_read_by_cursor_and_export_start_empty(ngo: Ngo) -> None:
    client = ngo.client
    project = client.create_project(SPEC)
    page = client.results(project.id)
    assert page.items == [] and page.next
    assert list(client.iter_results(project.id)) == []
    pages = list(client.iter_result_pages(project.id, page.next))
    assert len(pages) == 1 and pages[0].next == page.next
    assert b"".join(client.iter_export(project.id, "csv")).startswith(b"task_id,external_id")
    assert b"".join(client.iter_export(project.id, "jsonl")) == b""
    with pytest.raises(RucheError) as raised:
        b"".join(client.iter_export(project.id, "docx"))
    assert (raised.value.status, raised.value.code) == (422, "unsupported_format")


def test_the_webhook_endpoint_is_set_read_and_removed(ngo: Ngo) -> None:
    client = ngo.client
    created = client.set_webhook("http://127.0.0.1:9/hook")  # private targets allowed in tests
    assert created.secret.startswith("whsec_")
    assert client.get_webhook().url == created.url
    assert client.deliveries() == []
    with pytest.raises(RucheError) as raised:
        client.redeliver("msg_nope")
    assert raised.value.status == 404
    client.delete_webhook()
    assert client.get_webhook().url is None


def test_refusals_are_ruche_errors_with_the_api_shape(ngo: Ngo) -> None:
    client = ngo.client
    with pytest.raises(RucheError) as raised:
        client.get_project("prj_doesnotexist0000000")
    assert raised.value.status == 404
    with pytest.raises(RucheError) as raised:
        client.create_project(SPEC.model_copy(update={"task_type": "astrology"}))
    error = raised.value
    assert (error.status, error.code) == (422, "unknown_task_type")
    assert "moderation" in json.dumps(error.details)
