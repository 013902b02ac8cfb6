"""``ruche results --format po|xliff`` against a real Ruche: the file is the server's export,
streamed, and written whole or not at all.

Results are published straight onto the real Redis behind the real API (the board operation the
pipeline's actors call), so no worker is needed; a recording proxy between the command and the
API shows which requests made the file, and cuts a download short for the interruption tests.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from translate.storage import pypo

from core.delivery.export import CATALOG_REVIEW_BELOW
from core.delivery.results import Result, publish_result
from producers import NewProject
from producers.result_feed import EXPORT_REVIEW_BELOW
from ruche.cli import main
from tests.producers.conftest import Ngo
from tests.support.board import TestBoard
from tests.support.servers.export_proxy import ExportProxy

SOURCES = {
    "welcome": ("Welcome to our volunteer guide", "Bienvenue dans notre guide", 0.95),
    "thanks": ("Thank you for your precious help", "Merci pour votre aide", 0.6),
    "join": ("Join us", "Rejoignez-nous", 0.85),
    "rules": ("Please read the rules", None, 0.0),  # rejected by a reviewer: no unit
}
PO_FILE: Any = pypo.pofile
WAIT_S = 10.0


@dataclass(frozen=True)
class Translated:
    project_id: str
    cursor_after_first: str  # the cursor after the first published result


@pytest.fixture
def translated(ngo: Ngo, redis_client: redis.Redis) -> Translated:
    """A translation project with four tasks and their results (one rejected)."""
    spec = NewProject(
        name="Site FR", task_type="translation", instructions="Into French.", languages=["en", "fr"]
    )
    project = ngo.client.create_project(spec)
    languages = {"source_lang": "en", "target_lang": "fr"}
    tasks = [
        {"external_id": ext, "payload": {"source_text": source, **languages}}
        for ext, (source, _, _) in SOURCES.items()
    ]
    outcome = ngo.client.submit_tasks(project.id, tasks)
    board = TestBoard(redis_client)
    for task_id, (text, confidence) in zip(
        outcome.task_ids, [(t, c) for _, t, c in SOURCES.values()], strict=True
    ):
        assert task_id is not None
        answer = None if text is None else {"text": text}
        method = "rejected" if text is None else "agreement"
        result = Result(task_id, answer, confidence, method)
        board.run(publish_result(board.keys, project.id, result))
    first = ngo.client.results(project.id, limit=1).next
    return Translated(project.id, first)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the command writes (``tmp_path`` also holds the API's log)."""
    made = tmp_path / "files"
    made.mkdir()
    return made


@pytest.fixture
def proxy(ngo: Ngo) -> Iterator[ExportProxy]:
    with ExportProxy(ngo.url) as running:
        yield running


def server_export(ngo: Ngo, project_id: str, fmt: str) -> bytes:
    """The export as the server sends it, read with plain httpx."""
    answer = httpx.get(
        f"{ngo.url}/v1/projects/{project_id}/export",
        params={"format": fmt},
        headers={"Authorization": f"Bearer {ngo.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def results_command(
    url: str, ngo: Ngo, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, bytes, str]:
    """``ruche results`` through ``url``; the exit code, stdout as bytes, stderr."""
    code = main(["results", *args, "--url", url, "--token", ngo.token])
    captured = capsys.readouterr()
    return code, captured.out.encode(), captured.err


def test_the_server_bar_for_review_is_the_one_the_client_relies_on() -> None:
    assert EXPORT_REVIEW_BELOW == CATALOG_REVIEW_BELOW


def undated(export: bytes) -> bytes:
    """An export without the minute it was made at: a PO header carries it (translate-toolkit's
    ``POT-Creation-Date``/``PO-Revision-Date``), and two exports may fall either side of a
    minute."""
    return re.sub(rb"(POT-Creation-Date|PO-Revision-Date): [^\\\n]*", rb"\1: -", export)


@pytest.mark.parametrize("fmt", ["po", "xliff"])
def test_a_new_catalog_is_the_servers_export_byte_for_byte(
    ngo: Ngo,
    translated: Translated,
    proxy: ExportProxy,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    expected = server_export(ngo, translated.project_id, fmt)
    assert b"Bienvenue dans notre guide" in expected

    target = folder / f"fresh.{fmt}"
    project = ["--project", translated.project_id, "--format", fmt]
    code, out, err = results_command(proxy.url, ngo, capsys, *project, "-o", str(target))
    assert code == 0, err
    assert out == b"" and undated(target.read_bytes()) == undated(expected)
    assert f"{target}: {len(expected)} bytes, the server's {fmt} export" in err
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in folder.iterdir()) == [target.name]  # no temporary left

    code, out, err = results_command(proxy.url, ngo, capsys, *project)
    assert code == 0, err
    assert undated(out) == undated(expected)  # stdout too

    # One export request each, and no task read one by one.
    reads = proxy.paths()
    exports = [path for path in reads if "/export" in path]
    assert exports == [f"/v1/projects/{translated.project_id}/export?format={fmt}"] * 2
    assert not [path for path in reads if "/tasks/" in path or "/results" in path]


def test_after_a_cursor_or_with_another_bar_the_file_is_built_by_the_client(
    ngo: Ngo,
    translated: Translated,
    proxy: ExportProxy,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The export has neither: those files are built here from the feed and the tasks."""
    po = ["--project", translated.project_id, "--format", "po"]
    everything = folder / "strict.po"
    bar = ["--review-below", "1.01"]
    code, _, err = results_command(proxy.url, ngo, capsys, *po, "-o", str(everything), *bar)
    assert code == 0, err
    assert "next cursor:" in err
    units = [u for u in PO_FILE.parsefile(str(everything)).units if not u.isheader()]
    assert len(units) == 3 and all(unit.isfuzzy() for unit in units)
    assert not [path for path in proxy.paths() if "/export" in path]
    assert len([path for path in proxy.paths() if "/tasks/" in path]) == 3

    newer = folder / "newer.po"
    after = ["--after", translated.cursor_after_first]
    code, _, err = results_command(proxy.url, ngo, capsys, *po, "-o", str(newer), *after)
    assert code == 0, err
    sources = {str(u.source) for u in PO_FILE.parsefile(str(newer)).units if not u.isheader()}
    assert sources == {"Thank you for your precious help", "Join us"}


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_an_interrupted_download_leaves_no_half_file(
    ngo: Ngo, translated: Translated, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While the export arrives it grows a temporary file beside the target; cut short, that
    file goes and the target keeps its earlier content."""
    expected = server_export(ngo, translated.project_id, "po")
    half = len(expected) // 2
    target = folder / "site-fr.po"
    target.write_bytes(b"# last week's complete file\n")
    outcome: list[int] = []
    with ExportProxy(ngo.url, cut_after=half) as cutting:
        argv = ["results", "--project", translated.project_id, "--format", "po", "-o", str(target)]
        argv += ["--url", cutting.url, "--token", ngo.token]
        command = threading.Thread(target=lambda: outcome.append(main(argv)))
        command.start()
        try:
            assert cutting.holding.wait(WAIT_S)

            def partial() -> list[Path]:
                return [p for p in folder.iterdir() if p.name.endswith(".part")]

            wait_for(lambda: [p.stat().st_size for p in partial()] == [half], "the half file")
            [growing] = partial()
            assert growing.name.startswith(".site-fr.po.")
            assert growing.read_bytes() == expected[:half]  # written as it arrived
            assert target.read_bytes() == b"# last week's complete file\n"
        finally:
            cutting.release.set()
            command.join(WAIT_S)
    assert outcome == [1]
    assert "connection_error" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == [target.name]
    assert target.read_bytes() == b"# last week's complete file\n"


def test_an_interrupted_download_to_stdout_prints_nothing(
    ngo: Ngo, translated: Translated, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = server_export(ngo, translated.project_id, "xliff")
    with ExportProxy(ngo.url, cut_after=len(expected) // 2) as cutting:
        cutting.release.set()  # cut at once
        code, out, err = results_command(
            cutting.url, ngo, capsys, "--project", translated.project_id, "--format", "xliff"
        )
    assert (code, out) == (1, b"")
    assert "connection_error" in err


def test_output_is_refused_where_it_has_no_meaning(
    ngo: Ngo, translated: Translated, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(folder / "out")
    project = ["--project", translated.project_id]
    code, _, err = results_command(ngo.url, ngo, capsys, *project, "--format", "csv", "-o", out)
    assert code == 2 and "--output is for po/xliff" in err
    missing = str(folder / "nowhere" / "out.po")
    code, _, err = results_command(ngo.url, ngo, capsys, *project, "--format", "po", "-o", missing)
    assert code == 2 and "no such directory" in err
    code, _, err = results_command(ngo.url, ngo, capsys, *project, "--format", "po", "-o", ".")
    assert code == 2 and "not the directory" in err
    source = folder / "site.po"
    source.write_text('msgid ""\nmsgstr ""\n"Language: fr\\n"\n', encoding="utf-8")
    code, _, err = results_command(ngo.url, ngo, capsys, *project, "--into", str(source), "-o", out)
    assert code == 2 and "--output" in err


def test_results_as_csv_have_the_source_and_the_answer_in_columns(
    ngo: Ngo, translated: Translated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = results_command(
        ngo.url, ngo, capsys, "--project", translated.project_id, "--format", "csv"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    assert list(rows[0]) == [
        "task_id", "external_id", "source_text", "text", "confidence", "method", "decided_at",
        "answer_other",
    ]  # fmt: skip
    by_id = {row["external_id"]: row for row in rows}
    welcome = by_id["welcome"]
    assert (welcome["source_text"], welcome["text"]) == SOURCES["welcome"][:2]
    assert welcome["confidence"] == "0.950"
    assert (by_id["rules"]["text"], by_id["rules"]["method"]) == ("", "rejected")
