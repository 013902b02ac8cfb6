"""Tasks from a CSV file: the header row names the payload fields, one task per row.

- Columns ``external_id``, ``priority`` and ``gold_answer`` (JSON) are the task item's own
  fields; every other column is a payload field. A dotted name nests: ``document.text``. A
  plain ``id`` column is the external id when there is no ``external_id`` column and the
  payload has no ``id`` field (:func:`csv_header_check` says so).
- The header is checked once (:func:`csv_header_check`): a column the payload does not have, or
  a required payload field no column gives, is one problem of the file, not one per row.
- Cells are text. A cell whose field the task type's payload schema does not allow to be text
  (a list, an object, a number) is read as JSON: ``labels`` as ``["ok", "spam"]``; a list of
  plain words may also be written ``ok|spam``.
- An empty cell leaves its field out (the task type's default applies, or the row is reported
  if the field is required).
- Line numbers are those of the file (the header is line 1), also when a quoted cell spans
  several lines; the file may start with a UTF-8 byte-order mark (as Excel writes it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from producers.formats.rows import Problem, Row

__all__ = ["HeaderCheck", "csv_header_check", "read_csv"]

_ITEM_COLUMNS = frozenset({"external_id", "priority", "gold_answer"})


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        found = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
        return found if isinstance(found, Mapping) else {}
    return schema


def _types(schema: Mapping[str, Any], root: Mapping[str, Any]) -> set[str]:
    """The JSON types a (sub)schema allows; empty when it does not say."""
    schema = _resolve(schema, root)
    found: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(k for k in kind if isinstance(k, str))
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(branch, Mapping):
            found |= _types(branch, root)
    if "enum" in schema and not found:
        found.add("string")
    return found


def _field_schema(root: Mapping[str, Any], path: list[str]) -> Mapping[str, Any]:
    node: Mapping[str, Any] = root
    for name in path:
        node = _resolve(node, root)
        if "properties" not in node:  # Optional[...] wraps the object in anyOf
            for branch in node.get("anyOf", []):
                branch = _resolve(branch, root)
                if "properties" in branch:
                    node = branch
                    break
        child = node.get("properties", {}).get(name)
        if not isinstance(child, Mapping):
            return {}
        node = child
    return node


@dataclass(frozen=True, slots=True)
class _Column:
    """How one column's cells are read, decided once from the header and the schema."""

    name: str
    path: tuple[str, ...]  # where in the payload; empty for the item's own fields
    as_text: bool  # the field takes text as it is
    as_list: bool  # the field takes a list: "a|b" splits


def _column(name: str, schema: Mapping[str, Any]) -> _Column:
    if not name or name in _ITEM_COLUMNS:
        return _Column(name, (), True, False)
    path = tuple(name.split("."))
    types = _types(_field_schema(schema, list(path)), schema)
    return _Column(name, path, not types or "string" in types, "array" in types)


def _cell(text: str, column: _Column) -> Any:
    if column.as_text:
        return text
    if column.as_list and not text.lstrip().startswith("["):
        return [part.strip() for part in text.split("|") if part.strip()]
    try:
        return json.loads(text)
    except ValueError:
        return text  # the task type's validation says what is wrong with it


def _put(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = payload
    for name in path[:-1]:
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            child = node[name] = {}
        node = child
    node[path[-1]] = value


def _row(columns: list[_Column], cells: list[str]) -> tuple[dict[str, Any], list[Problem]]:
    item: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    problems: list[Problem] = []
    for column, raw in zip(columns, cells, strict=True):
        if column.path:
            if raw and not raw.isspace():
                if len(column.path) == 1:
                    payload[column.name] = _cell(raw, column)
                else:
                    _put(payload, column.path, _cell(raw, column))
            continue
        text = raw.strip()
        if not column.name or not text:
            continue
        if column.name == "external_id":
            item["external_id"] = text
        elif column.name == "priority":
            try:
                item["priority"] = int(text)
            except ValueError:
                problems.append(Problem("priority", "not a whole number"))
        else:  # gold_answer
            try:
                item["gold_answer"] = json.loads(text)
            except ValueError:
                problems.append(Problem("gold_answer", "not valid JSON"))
    item["payload"] = payload
    return item, problems


@dataclass(frozen=True)
class HeaderCheck:
    problems: list[str]  # each makes every row fail: the file is refused as a whole
    notes: list[str]  # how a column is read, said once


def _header(data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
        return [name.strip() for name in next(csv.reader(io.StringIO(text, newline="")))]
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return []  # read_csv reports these, with their line


def _takes_id_as_external_id(header: list[str], schema: Mapping[str, Any]) -> bool:
    return (
        "id" in header and "external_id" not in header and "id" not in schema.get("properties", {})
    )


def csv_header_check(data: bytes, payload_schema: Mapping[str, Any]) -> HeaderCheck:
    """What is wrong with the header row, once: columns the payload schema does not know (when
    it forbids others) and required fields no column gives; and how ``id`` is read."""
    header = _header(data)
    properties = payload_schema.get("properties")
    if not header or not isinstance(properties, Mapping):
        return HeaderCheck([], [])
    notes, problems = [], []
    taken = set(_ITEM_COLUMNS)
    if _takes_id_as_external_id(header, payload_schema):
        notes.append("the column 'id' is read as each task's external_id")
        taken.add("id")
    payload_columns = [name for name in header if name and name not in taken]
    given = {name.split(".")[0] for name in payload_columns}
    fields = ", ".join(properties)
    if payload_schema.get("additionalProperties") is False:
        unknown = sorted({name for name in payload_columns if name.split(".")[0] not in properties})
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            problems.append(f"unknown column(s) {listed}; the payload's fields are: {fields}")
    missing = [name for name in payload_schema.get("required", []) if name not in given]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        problems.append(f"no column for the required field(s) {listed}")
    return HeaderCheck(problems, notes)


def read_csv(data: bytes, payload_schema: Mapping[str, Any]) -> Iterator[Row]:
    """Every data row of ``data`` (CSV, UTF-8), read against ``payload_schema``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        yield Row(None, None, [Problem("", f"the file is not UTF-8 text ({error.reason})")])
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error as error:
        yield Row(1, None, [Problem("", f"the header row is not valid CSV ({error})")])
        return
    id_column = _takes_id_as_external_id(header, payload_schema)
    columns = [
        _column("external_id" if id_column and name == "id" else name, payload_schema)
        for name in header
    ]
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Row(line, None, [Problem("", f"not valid CSV ({error})")])
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not "".join(cells).strip():
            continue
        if len(cells) != len(header):
            message = f"{len(cells)} cells where the header has {len(header)} columns"
            yield Row(start, None, [Problem("", message)])
            continue
        item, problems = _row(columns, cells)
        yield Row(start, item, problems)
