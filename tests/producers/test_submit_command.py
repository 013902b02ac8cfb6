"""``ruche project create`` and ``ruche submit`` against a real Ruche (uvicorn on real Redis).

The commands run as an NGO runs them: in a subprocess with only ``RUCHE_URL`` and
``RUCHE_TOKEN`` set (no Redis, no server settings), or in-process through ``ruche.cli.main``.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ruche.cli import main
from tests.producers.conftest import Ngo
from tests.support.limits import clean_env
from tests.support.servers.stalling_proxy import StallingProxy

ROWS = 10_000
CHUNK = 1_000
HANG_ON = 6  # the 6th chunk reaches the server, its answer never reaches the client


def ngo_env(url: str, token: str) -> dict[str, str]:
    env = clean_env()
    env.update(RUCHE_URL=url, RUCHE_TOKEN=token)
    return env


def create_project(ngo: Ngo, capsys: pytest.CaptureFixture[str], task_type: str) -> str:
    code = main(
        ["project", "create", "--name", f"{task_type} batch", "--task-type", task_type,
         "--redundancy", "2", "--languages", "en,fr", *ngo.cli_flags()]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    project = json.loads(out)
    assert project["task_type"] == task_type and project["redundancy"] == 2
    assert project["languages"] == ["en", "fr"]
    return str(project["id"])


def test_project_create_says_when_every_task_would_go_to_review(
    ngo: Ngo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: with one answer per task, a newcomer's answer never reaches moderation's
    threshold; the command prints the project and says so on stderr."""
    code = main(
        ["project", "create", "--name", "cheap", "--task-type", "moderation",
         "--redundancy", "1", *ngo.cli_flags()]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    [warning] = json.loads(captured.out)["warnings"]
    assert "every task will go to review" in warning
    assert captured.err.strip() == f"ruche: warning: {warning}"
    # Two answers: newcomers can agree above the threshold; no warning, nothing on stderr.
    code = main(
        ["project", "create", "--name", "pairs", "--task-type", "moderation",
         "--redundancy", "2", *ngo.cli_flags()]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["warnings"] == [] and captured.err == ""


def task_count(ngo: Ngo, project_id: str) -> int:
    return sum(ngo.client.get_project(project_id).counts.values())


def submit(ngo: Ngo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["submit", *args, "--no-progress", *ngo.cli_flags()])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_a_10000_row_csv_interrupted_halfway_then_run_again_lands_exactly_10000_tasks(
    ngo: Ngo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = create_project(ngo, capsys, "moderation")
    posts = tmp_path / "posts.csv"
    with posts.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["content", "labels"])
        for n in range(ROWS):
            writer.writerow([f"Forum post number {n}: is this fine?", "ok|spam|abuse"])
    log = tmp_path / "submit.err"

    with StallingProxy(ngo.url, hang_on=HANG_ON) as proxy, log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ruche", "submit", str(posts), "--project", project_id],
            env=ngo_env(proxy.url, ngo.token),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            assert proxy.hanging.wait(120), log.read_text()
            process.send_signal(signal.SIGINT)  # Ctrl-C, while it waits for chunk 6's answer
            assert process.wait(30) == 130, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    message = log.read_text()
    assert "interrupted" in message and "again" in message
    assert "submitting" in message  # the progress bar ran, on stderr
    assert task_count(ngo, project_id) == HANG_ON * CHUNK  # chunk 6 was done, unbeknown

    code, summary, _ = submit(ngo, capsys, str(posts), "--project", project_id)
    assert code == 0
    assert task_count(ngo, project_id) == ROWS
    assert summary["created"] == ROWS - HANG_ON * CHUNK
    assert summary["already_there"] == HANG_ON * CHUNK
    assert summary["replayed_chunks"] == HANG_ON  # chunk 6 too: its key had been completed
    assert summary["bad"] == []

    code, summary, _ = submit(ngo, capsys, str(posts), "--project", project_id)
    assert (code, summary["created"], summary["already_there"]) == (0, 0, ROWS)
    assert task_count(ngo, project_id) == ROWS


BAD_CSV = """\
external_id,content,labels,priority
p1,Hello neighbours!,ok|spam,
p2,,ok|spam,
p3,Cheap pills,"[""ok"", ""spam""]",5
p4,Only one label,ok,
p5,"A post
over two lines",ok|spam,
p6,Too many cells,ok|spam,1,extra
p7,Bad priority,ok|spam,urgent
p8,Way too urgent,ok|spam,5000
,No id given,ok|spam,
"""


def test_bad_csv_rows_are_reported_by_line_and_the_good_ones_uploaded(
    ngo: Ngo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = create_project(ngo, capsys, "moderation")
    posts = tmp_path / "posts.csv"
    posts.write_text(BAD_CSV, encoding="utf-8")
    code, summary, err = submit(ngo, capsys, str(posts), "--project", project_id)
    assert code == 1  # done, with bad rows
    bad = {row["line"]: row["problems"] for row in summary["bad"]}
    assert sorted(bad) == [3, 5, 8, 9, 10]
    assert bad[3] == ["payload.content: Field required"]
    assert "payload.labels" in bad[5][0]
    assert "cells" in bad[8][0]
    assert bad[9] == ["priority: not a whole number"]
    assert bad[10][0].startswith("priority:")
    assert "line 3: payload.content: Field required" in err
    assert summary["created"] == 4  # p1, p3, p5 (two lines) and the row without an id
    assert summary["rows"] == 9
    assert task_count(ngo, project_id) == 4
    two_lines = {"content": "A post\nover two lines", "labels": ["ok", "spam"]}
    results = ngo.client.submit_tasks(project_id, [{"external_id": "p5", "payload": two_lines}])
    assert results.duplicates == 1  # p5 kept its own external id
    task = ngo.client.get_task(project_id, str(results.task_ids[0]))
    assert task.payload == two_lines

    # Run again: the same rows are bad, nothing new is made (the id-less row included).
    code, summary, _ = submit(ngo, capsys, str(posts), "--project", project_id)
    assert (code, summary["created"], summary["already_there"]) == (1, 0, 4)
    assert task_count(ngo, project_id) == 4


def test_jsonl_takes_task_items_and_bare_payloads_and_reports_lines_that_are_not_json(
    ngo: Ngo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = create_project(ngo, capsys, "moderation")
    lines = [
        json.dumps({"external_id": "a", "payload": {"content": "hi", "labels": ["ok", "spam"]},
                    "priority": 7}),
        json.dumps({"content": "a bare payload", "labels": ["ok", "spam"]}),
        "",
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"content": "no labels"}),
    ]  # fmt: skip
    tasks = tmp_path / "posts.jsonl"
    tasks.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, summary, _ = submit(ngo, capsys, str(tasks), "--project", project_id)
    assert code == 1
    assert {row["line"] for row in summary["bad"]} == {4, 5, 6}
    assert summary["created"] == 2
    first = ngo.client.get_task(project_id, "t0000000001")
    assert (first.external_id, first.priority) == ("a", 7)
    second = ngo.client.get_task(project_id, "t0000000002")
    assert second.external_id is not None and second.external_id.startswith("row-")


def test_a_project_of_another_type_refuses_a_po_file_and_a_missing_token_is_a_usage_error(
    ngo: Ngo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = create_project(ngo, capsys, "moderation")
    catalog = tmp_path / "site.po"
    catalog.write_text('msgid ""\nmsgstr ""\n"Language: fr\\n"\n\nmsgid "Hi"\nmsgstr ""\n')
    code = main(["submit", str(catalog), "--project", project_id, *ngo.cli_flags()])
    assert code == 2
    assert "translation tasks" in capsys.readouterr().err
    run = subprocess.run(
        [sys.executable, "-m", "ruche", "submit", str(catalog), "--project", project_id],
        env={**ngo_env(ngo.url, ""), "RUCHE_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "RUCHE_TOKEN" in run.stderr
    code = main(["submit", str(catalog), "--project", "prj_nope", *ngo.cli_flags()])
    assert code == 1
    assert "not_found" in capsys.readouterr().err


def test_header_problems_are_said_once_and_nothing_is_uploaded(
    ngo: Ngo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = create_project(ngo, capsys, "translation")
    sentences = tmp_path / "sentences.csv"
    rows = "".join(f"s{n},Sentence number {n} of many.,fr\n" for n in range(50))
    sentences.write_text("key,text,target_lang\n" + rows, encoding="utf-8")
    code = main(["submit", str(sentences), "--project", project_id, "--no-progress",
                 *ngo.cli_flags()])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    # The command's own lines (a logging set up by an earlier test of the process may add
    # its JSON lines to the same stderr).
    [message] = [line for line in err.splitlines() if line.startswith("ruche:")]
    assert message.startswith("ruche: the header row of sentences.csv (line 1): ")
    assert "unknown column(s) 'key', 'text'" in message
    assert "'source_text', 'source_lang'" in message
    assert task_count(ngo, project_id) == 0


def test_a_plain_id_column_is_the_external_id_and_the_command_says_so(
    ngo: Ngo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = create_project(ngo, capsys, "moderation")
    posts = tmp_path / "posts.csv"
    posts.write_text("id,content,labels\np1,Hello,ok|spam\np2,Buy now,ok|spam\n")
    code, summary, err = submit(ngo, capsys, str(posts), "--project", project_id)
    assert (code, summary["created"]) == (0, 2)
    assert "note: the column 'id' is read as each task's external_id" in err
    again = ngo.client.submit_tasks(
        project_id,
        [{"external_id": "p1", "payload": {"content": "Hello", "labels": ["ok", "spam"]}}],
    )
    assert again.duplicates == 1


def test_project_create_can_turn_the_translation_memory_off(
    ngo: Ngo, capsys: pytest.CaptureFixture[str]
) -> None:
    made = [
        main(["project", "create", "--name", f"Leaflets {n}", "--task-type", "translation",
              "--languages", "en,fr", *extra, *ngo.cli_flags()])
        for n, extra in enumerate(([], ["--no-translation-memory"]))
    ]  # fmt: skip
    assert made == [0, 0]
    out = capsys.readouterr().out
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(out)
    second, _ = decoder.raw_decode(out[end:].lstrip())
    assert (first["translation_memory"], second["translation_memory"]) == (True, False)


def test_project_create_can_make_it_invitation_only(
    ngo: Ngo, capsys: pytest.CaptureFixture[str]
) -> None:
    made = [
        main(["project", "create", "--name", f"Quiet {n}", "--task-type", "moderation",
              *extra, *ngo.cli_flags()])
        for n, extra in enumerate(([], ["--invitation-only"]))
    ]  # fmt: skip
    assert made == [0, 0]
    out = capsys.readouterr().out
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(out)
    second, _ = decoder.raw_decode(out[end:].lstrip())
    assert (first["invitation_only"], second["invitation_only"]) == (False, True)
