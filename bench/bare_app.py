"""A bare FastAPI app, served exactly as ``ruche api`` serves Ruche's, for ``bench/api.py``.

Two trivial POST endpoints with the paths and request/response shapes of a claim and a submit
(``POST /v1/assignments`` -> 201 assignment JSON, ``POST /v1/assignments/{id}/submit`` -> 202
``{submission_id}``): each parses a small JSON body into a pydantic model and returns a pydantic
model as JSON. No auth, no Redis, no work: what is left is FastAPI, uvicorn and the process's
logging.

Run it as a module from the repository root (``bench/`` must not be on ``sys.path``, where
``bench/api.py`` would shadow the ``api`` package)::

    RUCHE_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.bare_app --port 8001

It goes through ``ruche.cli.main(["api", ...])`` itself, with ``api.main.create_app`` swapped for
this app, so the settings, ``configure_logging`` and every ``uvicorn.run`` argument (loop, http
implementation, access log, workers, ...) are the ones ``ruche api`` uses, even after
``ruche/cli.py`` changes. ``RUCHE_REDIS_URL`` must be set (``ruche api`` insists) but is not used.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Body, FastAPI, status
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["app", "main"]

_PAYLOAD = {"content": "Post number 1234: is this spam or not?", "labels": ["ok", "spam"]}
_INSTRUCTIONS = "Label the post with one of its labels."
_PROJECT = "prj_0123456789abcdef0123456789"
_TASK = "t0000001234"


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_types: list[str] | None = Field(default=None, max_length=20)
    project_id: str | None = Field(default=None, max_length=64)


class TaskOut(BaseModel):
    id: str
    project_id: str
    type: str
    payload: dict[str, Any]
    instructions: str


class AssignmentOut(BaseModel):
    id: str
    task: TaskOut
    expires_at: datetime


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: dict[str, Any]
    seconds_spent: float | None = Field(default=None, ge=0, le=86_400)


class SubmissionAccepted(BaseModel):
    submission_id: str


class Healthy(BaseModel):
    status: str = "ok"


app = FastAPI(title="bare")
_counter = 0


@app.get("/healthz", response_model=Healthy)
async def healthz() -> Healthy:
    return Healthy()


@app.post("/v1/assignments", status_code=status.HTTP_201_CREATED, response_model=AssignmentOut)
async def claim(body: Annotated[ClaimRequest | None, Body()] = None) -> AssignmentOut:
    global _counter
    _counter += 1
    return AssignmentOut(
        id=f"{_PROJECT}.{_TASK}.{_counter:022d}",
        task=TaskOut(
            id=_TASK,
            project_id=_PROJECT,
            type="moderation",
            payload=_PAYLOAD,
            instructions=_INSTRUCTIONS,
        ),
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )


@app.post(
    "/v1/assignments/{assignment_id}/submit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmissionAccepted,
)
async def submit(assignment_id: str, body: Submission) -> SubmissionAccepted:
    return SubmissionAccepted(submission_id=f"s_{len(assignment_id):04d}{len(body.answer):018d}")


def main(argv: Sequence[str] | None = None) -> int:
    import api.main
    from ruche.cli import main as ruche_main

    # ruche.cli._api does `from api.main import create_app` when it runs: it gets this app.
    api.main.create_app = lambda settings=None: app  # type: ignore[assignment,misc]
    return ruche_main(["api", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
