"""Bulk task submission: read a batch, validate every item on its own, create the valid ones.

A batch is JSON (``{"tasks": [item, …]}``) or NDJSON (one item a line). Each item is
``{external_id?, payload, priority?, gold_answer?, gold_explanation?}``; its payload is checked
by the project's task type, its gold answer (if any) by the type's answer rules against that
payload. An invalid
item is reported in ``rejected`` with where and why, never with what was sent (payloads may hold
personal data), and never blocks the valid items around it.

Limits (the API documents them):

- at most :data:`MAX_BATCH_ITEMS` items per request (more: the whole request is refused, 422);
- ``external_id`` at most :data:`MAX_EXTERNAL_ID_CHARS` characters;
- a payload's JSON at most :data:`MAX_PAYLOAD_BYTES` bytes (a bigger one is a rejected item);
- the request body itself is bounded by the API (413, see :mod:`api.limits`).

Re-sending an ``external_id`` never makes a second task. With the same payload (compared by
:func:`~core.board.models.payload_digest`: the same JSON, whatever the order of its keys) the
item counts as a duplicate and ``task_ids`` gives the existing task (its priority and gold answer
are left as they were). With another payload it is a conflict: the item is in ``rejected`` with
an error of type ``conflict`` on ``external_id``, and the existing task is left as it was. Tasks
stored before payloads were compared count as duplicates whatever the payload.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError

from core import json_input
from core.board.models import CREATE_CHUNK, MAX_PRIORITY, NewTask
from core.board.runner import AsyncBoard
from core.errors import BatchTooLarge, InvalidRequest
from core.text import ONE_LINE, PARAGRAPHS
from task_types import InvalidAnswer
from task_types.base import AnyTaskType

__all__ = [
    "MAX_BATCH_ITEMS",
    "MAX_EXTERNAL_ID_CHARS",
    "MAX_PAYLOAD_BYTES",
    "BulkOutcome",
    "ItemError",
    "RejectedItem",
    "Room",
    "TaskItem",
    "parse_json_batch",
    "parse_ndjson_batch",
    "submit_batch",
]

MAX_BATCH_ITEMS = 10_000
MAX_EXTERNAL_ID_CHARS = 200
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_GOLD_EXPLANATION_CHARS = 2_000


class ItemError(BaseModel):
    """Where (``loc``, inside the item) and why; never the submitted value."""

    loc: list[str | int]
    msg: str
    type: str


class RejectedItem(BaseModel):
    index: int = Field(
        description="Position of the item in the batch (0-based; NDJSON: "
        "among its non-blank lines)."
    )
    external_id: str | None
    errors: list[ItemError]


class BulkOutcome(BaseModel):
    accepted: int = Field(description="Tasks created by this request.")
    duplicates: int = Field(description="Items whose external_id already named a task.")
    rejected: list[RejectedItem]
    task_ids: list[str | None] = Field(
        description="One entry per item, in order: its task id (new or existing), or null "
        "when the item was rejected."
    )


class TaskItem(BaseModel):
    """One task of a batch."""

    model_config = ConfigDict(extra="forbid")

    external_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS), ONE_LINE]
        | None
    ) = Field(
        default=None,
        description="Your own id for the task; re-sending it never makes a second task.",
    )
    payload: dict[str, Any] = Field(description="The task, in its type's payload schema.")
    priority: Annotated[int, Strict()] = Field(default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    gold_answer: dict[str, Any] | None = Field(
        default=None,
        description="The known answer, which makes this a gold (control) task: mixed into "
        "volunteers' work unannounced, scored when answered, never a result or progress.",
    )
    gold_explanation: (
        Annotated[str, StringConstraints(max_length=MAX_GOLD_EXPLANATION_CHARS), PARAGRAPHS] | None
    ) = Field(
        default=None,
        description="Why the gold answer is right, shown to volunteers after they answered.",
    )


@dataclass(frozen=True, slots=True)
class _BadLine:
    """An NDJSON line that is not a JSON value, or one past core.json_input's bounds."""

    msg: str = "this line is not valid JSON"
    type: str = "json_invalid"


_BAD_LINE = _BadLine()


def _too_many(count: int) -> BatchTooLarge:
    return BatchTooLarge(
        f"a request holds at most {MAX_BATCH_ITEMS} tasks; split the batch",
        [{"max_items": MAX_BATCH_ITEMS, "items": count}],
    )


def parse_json_batch(raw: bytes) -> list[Any]:
    """The items of a ``{"tasks": [...]}`` body (each still unchecked)."""
    try:
        body = json_input.loads(raw)
    except json_input.JsonRefused as refused:
        raise InvalidRequest(
            "the body is not valid JSON",
            [{"loc": ["body"], "msg": refused.msg, "type": refused.type}],
        ) from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise InvalidRequest(
            "the body is not valid JSON",
            [{"loc": ["body"], "msg": "not valid JSON", "type": "json_invalid"}],
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("tasks"), list):
        raise InvalidRequest(
            'the body must be an object {"tasks": [...]}',
            [{"loc": ["body", "tasks"], "msg": "a list of tasks is required", "type": "missing"}],
        )
    unknown = sorted(set(body) - {"tasks"})
    if unknown:
        raise InvalidRequest(
            "unknown fields in the body",
            [
                {"loc": ["body", name], "msg": "unknown field", "type": "extra_forbidden"}
                for name in unknown[:20]
            ],
        )
    items: list[Any] = body["tasks"]
    if len(items) > MAX_BATCH_ITEMS:
        raise _too_many(len(items))
    return items


def parse_ndjson_batch(raw: bytes) -> list[Any]:
    """The items of an NDJSON body, one a line; blank lines are skipped."""
    lines = [line.strip() for line in raw.split(b"\n")]
    lines = [line for line in lines if line]
    if len(lines) > MAX_BATCH_ITEMS:
        raise _too_many(len(lines))
    items: list[Any] = []
    for line in lines:
        try:
            items.append(json_input.loads(line))
        except json_input.JsonRefused as refused:
            items.append(_BadLine(f"this line holds {refused.msg}", refused.type))
        except ValueError:  # JSONDecodeError, UnicodeDecodeError
            items.append(_BAD_LINE)
    return items


# Task types' own rules word their messages for the person who sent the value, quoting it
# ("'x' is not an email address"); quoted parts are cut before a message reaches the response.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_CUSTOM_TYPES = frozenset({"value_error", "assertion_error", "invalid_answer"})


def _scrub(message: str) -> str:
    return _QUOTED.sub("…", message)


def _errors(error: ValidationError, prefix: Sequence[str | int] = ()) -> list[ItemError]:
    found = error.errors(include_input=False, include_url=False, include_context=False)
    return [
        ItemError(
            loc=[*prefix, *(part if isinstance(part, int) else str(part) for part in e["loc"])],
            msg=_scrub(str(e["msg"])) if e["type"] in _CUSTOM_TYPES else str(e["msg"]),
            type=str(e["type"]),
        )
        for e in found
    ]


@dataclass(frozen=True, slots=True)
class _Valid:
    index: int
    task: NewTask


def _external_id(item: Any) -> str | None:
    """The item's external id when it is a usable one (shown back in ``rejected``)."""
    if isinstance(item, dict):
        value = item.get("external_id")
        if (
            isinstance(value, str)
            and 0 < len(value) <= MAX_EXTERNAL_ID_CHARS
            and ONE_LINE.allows(value)
        ):
            return value
    return None


def _check(task_type: AnyTaskType, index: int, item: Any) -> _Valid | RejectedItem:
    def rejected(*errors: ItemError) -> RejectedItem:
        return RejectedItem(index=index, external_id=_external_id(item), errors=list(errors))

    if isinstance(item, _BadLine):
        return rejected(ItemError(loc=[], msg=item.msg, type=item.type))
    try:
        parsed = TaskItem.model_validate(item)
    except ValidationError as error:
        return rejected(*_errors(error))
    # pydantic-core's encoder: compact JSON like ``dumps`` (a float may be spelt differently,
    # 1e-7 for 1e-07: the same value) at a seventh of its cost.
    try:
        raw_json = pydantic_core.to_json(parsed.payload)
    except pydantic_core.PydanticSerializationError:
        # JSON's \ud800-style escapes can spell a lone surrogate, which is no text at all.
        return rejected(
            ItemError(loc=["payload"], msg="the payload holds invalid Unicode", type="unicode")
        )
    size = len(raw_json)
    if size > MAX_PAYLOAD_BYTES:
        return rejected(
            ItemError(
                loc=["payload"],
                msg=f"the payload is {size} bytes of JSON; the limit is {MAX_PAYLOAD_BYTES}",
                type="payload_too_large",
            )
        )
    try:
        payload = task_type.parse_payload(parsed.payload)
    except ValidationError as error:
        return rejected(*_errors(error, ["payload"]))
    gold: dict[str, Any] | None = None
    if parsed.gold_answer is None and parsed.gold_explanation is not None:
        return rejected(
            ItemError(
                loc=["gold_explanation"],
                msg="an explanation needs a gold_answer",
                type="value_error",
            )
        )
    if parsed.gold_answer is not None:
        try:
            answer = task_type.parse_answer(payload, parsed.gold_answer)
        except ValidationError as error:
            return rejected(*_errors(error, ["gold_answer"]))
        except InvalidAnswer as invalid:
            return rejected(
                *(
                    ItemError(loc=["gold_answer", *d["loc"]], msg=_scrub(d["msg"]), type=d["type"])
                    for d in invalid.details
                )
            )
        gold = {"answer": answer.model_dump(mode="json"), "explanation": parsed.gold_explanation}
    # The payload is stored as the NGO sent it (it validated); workers parse it again.
    task = NewTask(
        payload=parsed.payload,
        external_id=parsed.external_id,
        priority=parsed.priority,
        gold=gold,
        payload_json=raw_json.decode(),
    )
    return _Valid(index, task)


def _conflict(entry: _Valid) -> RejectedItem:
    return RejectedItem(
        index=entry.index,
        external_id=entry.task.external_id,
        errors=[
            ItemError(
                loc=["external_id"],
                msg="this external_id already names a task with another payload; the task was "
                "left as it is (send a new external_id for a new task)",
                type="conflict",
            )
        ],
    )


@dataclass(slots=True)
class Room:
    """What a quota leaves to fill: new tasks, payload bytes (None: no bound)."""

    tasks: int | None = None
    payload_bytes: int | None = None


def _over_quota(entry: _Valid) -> RejectedItem:
    return RejectedItem(
        index=entry.index,
        external_id=entry.task.external_id,
        errors=[
            ItemError(
                loc=[],
                msg="your organisation's storage quota is full: this task was not created "
                "(delete tasks, or ask the operator for a larger quota)",
                type="quota_exceeded",
            )
        ],
    )


async def submit_batch(
    board: AsyncBoard,
    project_id: str,
    task_type: AnyTaskType,
    items: Sequence[Any],
    *,
    chunk: int = CREATE_CHUNK,
    room: Room | None = None,
    between: Callable[[], Awaitable[None]] | None = None,
) -> BulkOutcome:
    """Validate every item, create the valid ones (gold answers stored with their task).

    In steps of ``chunk`` items (at most :data:`CREATE_CHUNK`), each validated then written in
    one script call, letting the event loop serve other requests between two (and calling
    ``between``, e.g. to renew a lock): a batch never holds the process or Redis for longer than
    one step (fair sharing, docs/limits.md). A step written stays written if a later one fails.
    ``room``: the quota's room, used up as tasks are created; the items past it are rejected
    (``quota_exceeded``)."""
    step = max(1, min(chunk, CREATE_CHUNK))
    rejected: list[RejectedItem] = []
    task_ids: list[str | None] = [None] * len(items)
    accepted = duplicates = 0
    for start in range(0, len(items), step):
        valid: list[_Valid] = []
        for index in range(start, min(start + step, len(items))):
            checked = _check(task_type, index, items[index])
            if isinstance(checked, RejectedItem):
                rejected.append(checked)
            else:
                valid.append(checked)
        if valid:
            create = board.ops.create_tasks(
                project_id,
                [v.task for v in valid],
                max_new=room.tasks if room else None,
                max_bytes=room.payload_bytes if room else None,
            )
            created = await board.run(create)
            for entry, outcome in zip(valid, created, strict=True):
                if outcome.over_quota:
                    rejected.append(_over_quota(entry))
                    continue
                if outcome.conflict:
                    rejected.append(_conflict(entry))
                    continue
                task_ids[entry.index] = outcome.task_id
                if outcome.created:
                    accepted += 1
                    if room is not None:
                        _use(room, entry.task)
                else:
                    duplicates += 1
        else:
            await asyncio.sleep(0)  # no Redis call to yield at: let other requests run
        if between is not None and start + step < len(items):
            await between()
    rejected.sort(key=lambda item: item.index)
    return BulkOutcome(
        accepted=accepted, duplicates=duplicates, rejected=rejected, task_ids=task_ids
    )


def _use(room: Room, task: NewTask) -> None:
    if room.tasks is not None:
        room.tasks -= 1
    if room.payload_bytes is not None:
        payload = task.payload_json or pydantic_core.to_json(task.payload).decode()
        room.payload_bytes -= len(payload.encode())
