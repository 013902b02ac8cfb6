"""Tasks of a project: bulk submission (JSON or NDJSON, idempotent) and reading one task."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import BoardDep, CurrentOrg, IdempotencyDep, OwnedProjectId, ProjectsDep, QuotasDep
from api.interactive import PeopleFirst
from api.json_body import BoundedJsonRoute, inline_schema, media_type
from api.limits import DEFAULT_MAX_BODY_BYTES
from api.openapi.error_responses import error_responses
from api.ratelimit import limits_of
from core import ids
from core.board.bulk import (
    MAX_BATCH_ITEMS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_PAYLOAD_BYTES,
    BulkOutcome,
    TaskItem,
)
from core.board.bulk_reading import read_json_batch, read_ndjson_batch
from core.board.bulk_submission import refuse_past_rate, write_batch
from core.errors import TaskNotFound, UnsupportedMediaType
from core.idempotency import MAX_KEY_CHARS, TTL_SECONDS, Claim, StoredResponse, fingerprint
from core.json_input import MAX_DEPTH as MAX_JSON_DEPTH
from core.json_input import MAX_NUMBER_CHARS
from core.settings import Settings
from task_types import get as get_task_type

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/projects/{project_id}/tasks", tags=["tasks"], route_class=BoundedJsonRoute
)

NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
    }
)
JSON_TYPES = frozenset({"", "application/json"})


class BulkTasks(BaseModel):
    """The JSON form of a batch (the NDJSON form sends the same items, one a line)."""

    tasks: list[TaskItem] = Field(max_length=MAX_BATCH_ITEMS)


_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": inline_schema(BulkTasks.model_json_schema())},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One task object per line."}
            },
        },
    }
}

_BULK_DESCRIPTION = f"""
Submit tasks in bulk, as JSON `{{"tasks": [...]}}` or as NDJSON
(`Content-Type: application/x-ndjson`, one task object per line; blank lines are skipped).
Each task is `{{external_id?, payload, priority?, gold_answer?}}`; its payload must fit the
project's task type, its gold answer (which makes it a gold task) the type's answer rules.

Every item is checked on its own: invalid ones are listed in `rejected` (index, external_id,
and errors saying where and why, never echoing what was sent) and do not block the others.
Re-sending an `external_id` never makes a second task. With the same payload (the same JSON,
whatever the order of its keys) the item counts in `duplicates` and `task_ids` gives the
existing task; with another payload it is a conflict, listed in `rejected` with an error of type
`conflict` on `external_id` (the existing task is left as it was).

**Limits**
- at most {MAX_BATCH_ITEMS:,} tasks per request (more: 422 `batch_too_large`);
- `external_id` at most {MAX_EXTERNAL_ID_CHARS} characters;
- a payload's JSON at most {MAX_PAYLOAD_BYTES // 1024} KiB (a bigger one is rejected);
- the whole body at most {DEFAULT_MAX_BODY_BYTES // (1024 * 1024)} MiB (more: 413
  `payload_too_large`, with or without a Content-Length);
- JSON nested at most {MAX_JSON_DEPTH} levels, numbers written in at most {MAX_NUMBER_CHARS}
  characters and finite, no `NaN`/`Infinity` (as on every route; the body past them: 422
  `json_too_deep`, `json_number_too_large` or `json_invalid`; an NDJSON line: a rejected item).

**Idempotency-Key** (optional header, at most {MAX_KEY_CHARS} characters, scoped to your
organisation, kept {TTL_SECONDS // 3600} h): the same key with the same body replays the first
response (same status and JSON, with `Idempotent-Replayed: true`); with a different body it is
refused with 422 `idempotency_key_reused`. While the first request is still running, a retry
waits for its response, or gets 409 `idempotency_in_progress` after a few seconds.
"""


class ProvisionalOut(BaseModel):
    answer: dict[str, Any] = Field(description="An answer of the project's task type.")
    confidence: float = Field(
        description=(
            "How likely it is right, from 0 to 1: the aggregation's confidence, or the refit's "
            "(its posterior for a label type, the type's aggregation run again with today's "
            "reliabilities for the others), each calibrated on the project's gold checks."
        )
    )
    by: Literal["aggregation", "refit"]
    refit_id: str | None = Field(default=None, description="The refit that chose it.")


class TaskOut(BaseModel):
    id: str
    external_id: str | None
    state: str = Field(description="open, collecting, aggregating, in_review, resolved, stalled…")
    priority: int
    answers: int = Field(description="Answers submitted so far.")
    need: int = Field(description="Answers wanted (the project's redundancy when created).")
    live: int = Field(description="Volunteers working on it right now.")
    attempts: int = Field(description="Leases that expired without an answer.")
    releases: int = Field(description="Times a volunteer gave it back.")
    created_at: datetime
    payload: dict[str, Any]
    provisional: ProvisionalOut | None = Field(
        default=None,
        description=(
            "Only while the task is in_review: what it would be if no reviewer came. First the "
            "aggregation's best guess (by: aggregation), then each quality refit's, judged on "
            "everything the project saw since (by: refit). Not a result: never published or "
            "sent by webhook; the reviewer's decision replaces it."
        ),
    )


@router.post(
    "",
    response_model=BulkOutcome,
    summary="Submit tasks in bulk (JSON or NDJSON)",
    description=_BULK_DESCRIPTION,
    openapi_extra=_BULK_BODY,
    responses=error_responses(401, 403, 404, 409, 413, 415, 422, 429, 507),
)
async def submit_tasks(
    request: Request,
    project_id: OwnedProjectId,
    org: CurrentOrg,
    board: BoardDep,
    projects: ProjectsDep,
    idempotency: IdempotencyDep,
    quotas: QuotasDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=MAX_KEY_CHARS)
    ] = None,
) -> JSONResponse:
    media = media_type(request)
    if media in NDJSON_TYPES:
        read = read_ndjson_batch
    elif media in JSON_TYPES or media.endswith("+json"):
        read = read_json_batch
    else:
        raise UnsupportedMediaType("send application/json or application/x-ndjson")
    own_limits = await refuse_past_rate(quotas, limits_of(request), org.id)
    raw = await request.body()
    claim: Claim | None = None
    if idempotency_key is not None:
        found = await idempotency.begin(
            org.id,
            idempotency_key,
            fingerprint("POST", request.url.path, raw),
            project_id=project_id,
        )
        if isinstance(found, StoredResponse):
            return JSONResponse(
                found.body, status_code=found.status, headers={"Idempotent-Replayed": "true"}
            )
        claim = found
    people = cast(PeopleFirst, request.app.state.people_first)
    try:
        document = await projects.document(org.id, project_id)
        outcome = await write_batch(
            board=board,
            quotas=quotas,
            limits=limits_of(request),
            lanes=cast(asyncio.Semaphore, request.app.state.bulk_lanes),
            org_id=org.id,
            project_id=project_id,
            task_type=get_task_type(document["task_type"]),
            # Read in the batch's lane, in steps that let people's requests go first.
            items=lambda: read(raw, people.pause),
            chunk=cast(Settings, request.app.state.settings).bulk_chunk_tasks,
            own=own_limits,
            wait_turn=people.wait_turn,
        )
        body = outcome.model_dump(mode="json")
        if claim is not None:
            await idempotency.complete(claim, 200, body)
    except BaseException:
        if claim is not None:
            await idempotency.abandon(claim)
        raise
    return JSONResponse(body, status_code=200)


@router.get(
    "/{task_id}",
    response_model=TaskOut,
    summary="One task: its state, answers so far, and its payload",
    responses=error_responses(401, 403, 404),
)
async def get_task(project_id: OwnedProjectId, task_id: str, board: BoardDep) -> TaskOut:
    if not ids.TASK_ID.match(task_id):
        raise TaskNotFound("no such task")
    view = await board.run(board.ops.get_task(project_id, task_id))
    return TaskOut(
        id=view.task_id,
        external_id=view.external_id,
        state=view.state,
        priority=view.priority,
        answers=view.answers,
        need=view.need,
        live=view.live,
        attempts=view.attempts,
        releases=view.releases,
        created_at=datetime.fromtimestamp(view.created_at_ms / 1000, tz=UTC),
        payload=view.payload,
        provisional=None if view.provisional is None else ProvisionalOut(**view.provisional),
    )
