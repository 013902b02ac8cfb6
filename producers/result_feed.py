"""Reading a project's results for ``ruche results``: printed, followed, or written into a file.

Most paths read the cursor feed (``GET /v1/projects/{id}/results``), so each returns the cursor
to pass as ``after`` next time: the caller resumes where it stopped, reading nothing twice.

A new PO or XLIFF file of every result is the server's own export
(``GET /v1/projects/{id}/export?format=po|xliff``), streamed: the server reads the tasks' source
texts next to the results. It has no cursor and marks for review below the server's bar
(:data:`EXPORT_REVIEW_BELOW`); a file of the results after a cursor, or with another bar, is
still built here, one task read per result (:func:`catalog_of_results`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from producers.client import RucheClient
from producers.formats.catalogs import Catalog, WriteBack
from producers.formats.result_files import CsvResults, build_catalog, jsonl_line
from producers.models import FIRST_CURSOR, Result

__all__ = [
    "EXPORT_REVIEW_BELOW",
    "CatalogDownload",
    "FileWritten",
    "catalog_download",
    "catalog_of_results",
    "print_results",
    "write_into",
]

#: The confidence under which the server's PO/XLIFF export marks a translation for review
#: (``CATALOG_REVIEW_BELOW`` in the API's export route; a test keeps the two equal).
EXPORT_REVIEW_BELOW = 0.8


def print_results(
    client: RucheClient,
    project_id: str,
    out: TextIO,
    *,
    fmt: str = "jsonl",
    after: str = FIRST_CURSOR,
    follow: bool = False,
    poll_interval: float = 2.0,
    on_cursor: Callable[[str], None] | None = None,
) -> str:
    """Print results as JSON lines or CSV from ``after`` on; returns the cursor to resume at.

    With ``follow`` it runs until interrupted, calling ``on_cursor`` after every page so the
    caller always knows where it got to."""
    table: CsvResults | None = None
    if fmt == "csv":
        # Translations get their source beside the answer: one task read per result.
        with_source = client.get_project(project_id).task_type == "translation"
        table = CsvResults(with_source=with_source)
    cursor = after
    for page in client.iter_result_pages(
        project_id, after, follow=follow, poll_interval=poll_interval
    ):
        if page.items and table is None:
            out.write("".join(jsonl_line(result) for result in page.items))
            out.flush()
        elif page.items and table is not None:
            lines = [] if table.started else [table.header(page.items)]
            for result in page.items:
                source = None
                if table.with_source:
                    payload = client.get_task(project_id, result.task_id).payload
                    source = str(payload.get("source_text", ""))
                lines.append(table.line(result, source))
            out.write("".join(lines))
            out.flush()
        cursor = page.next
        if on_cursor is not None:
            on_cursor(cursor)
    if table is not None and not table.started:
        out.write(table.header([]))  # no result yet: the header alone
    return cursor


def _all_results(client: RucheClient, project_id: str, after: str) -> tuple[list[Result], str]:
    results: list[Result] = []
    cursor = after
    for page in client.iter_result_pages(project_id, after):
        results += page.items
        cursor = page.next
    return results, cursor


@dataclass(frozen=True)
class FileWritten:
    report: WriteBack
    cursor: str
    results: int


def write_into(
    client: RucheClient,
    project_id: str,
    path: Path,
    *,
    target_lang: str | None = None,
    review_below: float = 0.8,
    after: str = FIRST_CURSOR,
) -> FileWritten:
    """Write the project's results into the PO/XLIFF file that was submitted (in place)."""
    catalog = Catalog.load(path)
    lang = target_lang or catalog.target_language
    if not lang:
        raise ValueError("the file does not name its target language: pass --target-lang")
    results, cursor = _all_results(client, project_id, after)
    by_id = {result.external_id: result for result in results if result.external_id}
    report = catalog.apply(by_id, lang, review_below)
    if report.translated or report.needs_review:
        catalog.save(path)
    return FileWritten(report, cursor, len(results))


def catalog_of_results(
    client: RucheClient,
    project_id: str,
    fmt: str,
    *,
    review_below: float = 0.8,
    after: str = FIRST_CURSOR,
) -> tuple[bytes, str]:
    """A new PO or XLIFF file of the project's translations (one task read per result, for
    its source text); returns it with the cursor to resume at."""
    results, cursor = _all_results(client, project_id, after)
    entries: list[tuple[Result, dict[str, Any]]] = []
    for result in results:
        if result.answer is not None:
            entries.append((result, client.get_task(project_id, result.task_id).payload))
    return build_catalog(fmt, entries, review_below), cursor


@dataclass(frozen=True)
class CatalogDownload:
    """A new PO or XLIFF file as chunks of bytes (lazy for the server's export)."""

    chunks: Iterable[bytes]
    #: Where to resume with ``after``; None for the server's export, which has no cursor.
    cursor: str | None


def catalog_download(
    client: RucheClient,
    project_id: str,
    fmt: str,
    *,
    review_below: float = EXPORT_REVIEW_BELOW,
    after: str = FIRST_CURSOR,
) -> CatalogDownload:
    """A new PO or XLIFF file of the project's translations: the server's export, streamed,
    when it is the file asked for (every result, the server's review bar); else built here from
    the results after ``after`` (:func:`catalog_of_results`)."""
    if after == FIRST_CURSOR and review_below == EXPORT_REVIEW_BELOW:
        return CatalogDownload(client.iter_export(project_id, fmt), None)
    data, cursor = catalog_of_results(
        client, project_id, fmt, review_below=review_below, after=after
    )
    return CatalogDownload((data,), cursor)
