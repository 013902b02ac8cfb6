"""Readers and writers for the files NGOs have: CSV, JSONL, PO and XLIFF."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FILE_FORMATS", "format_of"]

#: Formats ``ruche submit`` reads and ``ruche results`` writes.
FILE_FORMATS = ("csv", "jsonl", "po", "xliff")
_SUFFIXES = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".po": "po",
    ".pot": "po",
    ".xlf": "xliff",
    ".xliff": "xliff",
}


def format_of(path: Path) -> str | None:
    """The format a file's extension names, or None."""
    return _SUFFIXES.get(path.suffix.lower())
