"""Submitting a file of tasks: read it, check every row here, upload the good ones in chunks.

This is ``ruche submit`` without the terminal: the command adds the progress bar and prints.
Bad rows (unreadable, or refused by the task type's rules, here or by the server) are
reported with their line and never block the good ones. A re-run of the same file sends the
same chunks with the same Idempotency-Keys and the same external ids (see
:mod:`producers.bulk` and :mod:`producers.formats.rows`), so an interrupted submission is
finished by running it again, and nothing is created twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from producers.bulk import DEFAULT_CHUNK, ChunkDone, SubmitReport, submit_in_chunks
from producers.client import RucheClient, encode_task
from producers.formats import format_of
from producers.formats.catalogs import Catalog
from producers.formats.csv_rows import csv_header_check, read_csv
from producers.formats.jsonl_rows import read_jsonl
from producers.formats.rows import Problem, Row, content_external_id
from producers.validation import ItemValidator
from task_types.base import CATALOG_FORMATS

__all__ = [
    "BadRow",
    "FileOptions",
    "FileSubmission",
    "ReadFile",
    "SubmitFileError",
    "prepare_file",
    "read_data",
    "read_file",
    "submit_file",
]


class SubmitFileError(Exception):
    """The file cannot be submitted at all (wrong format, no languages, wrong project type).

    ``reason`` says which, for a caller that words it in its own language (the console):
    ``unreadable``, ``no_source_lang``, ``no_target_lang``, ``not_catalog_type``,
    ``unknown_format``, ``bad_header`` (``detail``: what is wrong with the CSV's header)."""

    def __init__(self, message: str, reason: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FileOptions:
    fmt: str | None = None  # csv, jsonl, po, xliff; None: from the file's extension
    source_lang: str | None = None  # PO/XLIFF: overrides the file's own
    target_lang: str | None = None
    chunk_size: int = DEFAULT_CHUNK


@dataclass(frozen=True)
class BadRow:
    where: str  # "line 12", or "line 40 (msgid 'Welcome')"
    problems: list[Problem]
    line: int | None = None


@dataclass
class FileSubmission:
    """What reading and uploading the file did."""

    rows: int = 0
    bad: list[BadRow] = field(default_factory=list)
    report: SubmitReport = field(default_factory=SubmitReport)
    checked_locally: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def good(self) -> int:
        return self.rows - len(self.bad)


@dataclass
class ReadFile:
    """An open file's rows, read lazily in file order (reading, too, overlaps uploading)."""

    rows: Iterable[Row]
    lines: int  # lines in the file: the progress bar's total
    source: str  # names the file's content, for the chunks' Idempotency-Keys
    validator: ItemValidator
    notes: list[str] = field(default_factory=list)  # how the file is read, said once
    count: int = 0  # rows read so far

    def checked(self, bad: list[BadRow], good: list[Row]) -> Iterator[bytes]:
        """The good rows' items as NDJSON lines, read and checked one by one as they are
        asked for; bad rows go to ``bad``, good ones to ``good`` (so ``good[i]`` made line
        ``i``). Rows without an external id get their content's."""
        for row in self.rows:
            self.count += 1
            item, problems = row.item, row.problems
            if item is None or problems:
                bad.append(BadRow(row.where, problems, row.line))
                continue
            if not item.get("external_id"):
                item["external_id"] = content_external_id(item)
            line = encode_task(item)
            problems = self.validator.problems(item, encoded_size=len(line))
            if problems:
                bad.append(BadRow(row.where, problems, row.line))
                continue
            good.append(row)
            yield line


def _catalog_rows(data: bytes, kind: str, options: FileOptions) -> list[Row]:
    try:
        catalog = Catalog.parse(data, kind)
    except Exception as error:  # translate-toolkit raises many kinds for a broken file
        raise SubmitFileError(
            f"cannot read this {kind.upper()} file: {error}", "unreadable"
        ) from None
    source = options.source_lang or catalog.source_language
    target = options.target_lang or catalog.target_language
    if not source:
        raise SubmitFileError(
            "the file does not name its source language: pass --source-lang", "no_source_lang"
        )
    if not target:
        raise SubmitFileError(
            "the file does not name its target language: pass --target-lang", "no_target_lang"
        )
    rows = []
    for unit in catalog.untranslated(target):
        payload: dict[str, Any] = {
            "source_text": unit.source_text,
            "source_lang": source,
            "target_lang": target,
        }
        if unit.context:
            payload["context"] = unit.context
        item = {"external_id": unit.external_id, "payload": payload}
        rows.append(Row(unit.line, item, label=unit.label))
    return rows


def read_file(client: RucheClient, task_type: str, path: Path, options: FileOptions) -> ReadFile:
    """Read ``path`` into rows for a project of ``task_type`` (not checked yet)."""
    fmt = options.fmt or format_of(path)
    if fmt is None:
        raise SubmitFileError(
            f"cannot tell the format of {path.name} from its extension: pass --format",
            "unknown_format",
        )
    return read_data(
        path.read_bytes(),
        fmt,
        task_type,
        options,
        lambda: _server_schema(client, task_type),
        name=path.name,
    )


def read_data(
    data: bytes,
    fmt: str,
    task_type: str,
    options: FileOptions,
    server_schema: Callable[[], dict[str, Any]] = dict,
    name: str = "the file",
) -> ReadFile:
    """Read a file's ``data`` in format ``fmt`` into rows for a project of ``task_type`` (not
    checked yet): the one reader of ``ruche submit`` and of the console's upload.
    ``server_schema`` gives the payload schema of a type this machine lacks; ``name`` names
    the file in messages."""
    validator = ItemValidator(task_type)
    notes: list[str] = []
    if fmt in CATALOG_FORMATS:
        if fmt not in validator.catalog_formats:
            raise SubmitFileError(
                f"{fmt.upper()} files make translation tasks; this project's type "
                f"({task_type}) does not take them",
                "not_catalog_type",
            )
        rows: Iterable[Row] = _catalog_rows(data, fmt, options)
    elif fmt == "csv":
        schema = validator.payload_schema() if validator.known else server_schema()
        header = csv_header_check(data, schema)
        if header.problems:
            # Said once, for the file: every row would fail the same way.
            detail = "; ".join(header.problems)
            raise SubmitFileError(
                f"the header row of {name} (line 1): {detail}", "bad_header", detail
            )
        notes = header.notes
        rows = read_csv(data, schema)
    elif fmt == "jsonl":
        rows = read_jsonl(data)
    else:
        raise SubmitFileError(f"unknown format {fmt!r}: csv, jsonl, po or xliff", "unknown_format")
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    return ReadFile(rows, lines, f"{fmt}:{hashlib.sha256(data).hexdigest()}", validator, notes)


def prepare_file(
    client: RucheClient, task_type: str, path: Path, options: FileOptions
) -> tuple[list[dict[str, Any]], list[BadRow]]:
    """Read and check the whole file: the good rows' items and the bad rows."""
    bad: list[BadRow] = []
    good: list[Row] = []
    for _ in read_file(client, task_type, path, options).checked(bad, good):
        pass
    return [row.item for row in good if row.item is not None], bad


def _server_schema(client: RucheClient, task_type: str) -> dict[str, Any]:
    for info in client.task_types():
        if info.name == task_type:
            return info.payload_schema
    return {}


def submit_file(
    client: RucheClient,
    project_id: str,
    path: Path,
    options: FileOptions | None = None,
    *,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> FileSubmission:
    """Read, check and upload ``path`` into the project; see the module docstring.

    ``on_start`` gets the number of lines in the file; ``on_progress`` the line reached
    (uploaded, or found bad) after each chunk."""
    options = options or FileOptions()
    project = client.get_project(project_id)
    read = read_file(client, project.task_type, path, options)
    if on_start is not None:
        on_start(read.lines)
    outcome = FileSubmission(checked_locally=read.validator.known, notes=read.notes)
    good: list[Row] = []

    def chunk_done(done: ChunkDone) -> None:
        line = good[done.start + done.size - 1].line
        if on_progress is not None and line is not None:
            on_progress(line)

    outcome.report = submit_in_chunks(
        client,
        project_id,
        read.checked(outcome.bad, good),
        source=read.source,
        chunk_size=options.chunk_size,
        on_chunk=chunk_done,
    )
    outcome.rows = read.count
    if on_progress is not None:
        on_progress(read.lines)
    for refused in outcome.report.rejected:
        row = good[refused.index]
        problems = [
            Problem(".".join(str(part) for part in e.get("loc", [])), str(e.get("msg", "")))
            for e in refused.errors
        ]
        outcome.bad.append(BadRow(row.where + " (refused by the server)", problems, row.line))
    outcome.bad.sort(key=lambda bad: (bad.line is None, bad.line or 0))
    return outcome
