"""MkDocs hook: the configuration page's table, rendered from ``core.settings.Settings``.

``mkdocs.yml`` lists this file under ``hooks:``. Where a page holds the line
``<!-- settings-table -->``, the hook puts a table of every ``Settings`` field: its environment
variable, type, default, bounds and description, all read from the model at build time, so the
page cannot drift from the code. ``tests/test_docs.py`` renders it too.

Nothing here imports mkdocs: the hook is a plain function MkDocs calls by name.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from core.settings import Settings

__all__ = ["MARKER", "on_page_markdown", "settings_table"]

#: The line a page writes where the table goes.
MARKER = "<!-- settings-table -->"

_TYPE_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret string",
}


def _type(annotation: Any) -> tuple[str, bool]:
    """A reader's name for a field's type, and whether it may be left unset (``None``)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " or ".join(f"`{value}`" for value in typing.get_args(annotation)), False
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        named = [_type(arg)[0] for arg in args if arg is not type(None)]
        return " or ".join(named), type(None) in args
    return _TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation))), False


def _default(field: FieldInfo, optional: bool) -> str:
    value = field.default
    if value is None:
        return "unset" if optional else "—"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    """The constraints pydantic enforces on the field (range, length, pattern)."""
    low = high = ""
    shortest = longest = None
    pattern = None
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = f"{item.ge} ≤"
        elif isinstance(item, annotated_types.Gt):
            low = f"{item.gt} <"
        elif isinstance(item, annotated_types.Le):
            high = f"≤ {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"< {item.lt}"
        elif isinstance(item, annotated_types.MinLen):
            shortest = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            longest = item.max_length
        elif getattr(item, "pattern", None):
            pattern = item.pattern
    parts = []
    if low or high:
        parts.append(" ".join(part for part in (low, "value", high) if part))
    if shortest is not None and longest is not None:
        parts.append(f"{shortest} to {longest} characters")
    elif longest is not None:
        parts.append(f"at most {longest} characters")
    elif shortest == 1:
        parts.append("not empty")
    elif shortest is not None:
        parts.append(f"at least {shortest} characters")
    if pattern is not None:
        parts.append(f"matches `{pattern}`")
    return "; ".join(parts)


def _cell(text: str) -> str:
    """Table cells are one line, and a pipe would end the cell."""
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    """The Markdown table of every ``Settings`` field, in the model's order."""
    prefix = Settings.model_config.get("env_prefix", "")
    rows = [
        "| variable | type | default | allowed | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        type_name, optional = _type(field.annotation)
        cells = [
            f"`{prefix}{name.upper()}`",
            type_name,
            _default(field, optional),
            _bounds(field),
            field.description or "",
        ]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs event: put the table where the page asks for it."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, settings_table())
