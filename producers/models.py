"""What the API sends back, as typed models (``shared/API.md``).

Written from the contract, not imported from the server's code: a client built on these keeps
working against a newer server, whose extra fields are ignored. The few models the client
*sends* (``NewProject``, ``TaskItem``) forbid unknown fields so a typo fails here, not there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BulkOutcome",
    "Delivery",
    "NewProject",
    "Project",
    "RejectedItem",
    "Result",
    "ResultsPage",
    "Task",
    "TaskItem",
    "TaskTypeInfo",
    "Webhook",
    "WebhookSecret",
]

FIRST_CURSOR = "0-0"


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewProject(_Request):
    """``POST /v1/projects``; fields left ``None`` take the server's defaults."""

    name: str
    task_type: str
    instructions: str
    redundancy: int | None = None
    max_redundancy: int | None = None
    lease_seconds: int | None = None
    priority: int | None = None
    deadline: datetime | None = None
    languages: list[str] | None = None
    skills: list[str] | None = None
    impact_note: str | None = None
    review: dict[str, Any] | None = None
    gold_rate: float | None = None
    gold: dict[str, Any] | None = None
    qualification: dict[str, Any] | None = None
    reputation_floor: float | None = None
    max_tasks_per_volunteer: int | None = None
    retention_days: int | None = None
    translation_memory: bool | None = None
    invitation_only: bool | None = None


class TaskItem(_Request):
    """One task of a bulk submission."""

    payload: dict[str, Any]
    external_id: str | None = None
    priority: int | None = None
    gold_answer: dict[str, Any] | None = None


class Project(_Reply):
    id: str
    name: str
    task_type: str
    redundancy: int
    lease_seconds: int
    priority: int
    deadline: datetime | None = None
    languages: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    instructions: str = ""
    impact_note: str | None = None
    gold_rate: float = 0.0
    max_redundancy: int | None = None
    translation_memory: bool = True
    invitation_only: bool = False
    state: str
    counts: dict[str, int] = Field(default_factory=dict)
    #: What the policy will do that the NGO may not expect (e.g. every task to review).
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class RejectedItem(_Reply):
    index: int
    external_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkOutcome(_Reply):
    accepted: int
    duplicates: int
    rejected: list[RejectedItem] = Field(default_factory=list)
    task_ids: list[str | None] = Field(default_factory=list)
    #: Set by the client: the server replayed a stored answer to this Idempotency-Key, so the
    #: counts describe the first time the batch was sent, not this request.
    replayed: bool = False


class Task(_Reply):
    id: str
    external_id: str | None = None
    state: str
    priority: int = 0
    answers: int = 0
    need: int = 0
    created_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class Result(_Reply):
    task_id: str
    external_id: str | None = None
    answer: dict[str, Any] | None = None
    confidence: float
    method: str
    decided_at: datetime


class ResultsPage(_Reply):
    items: list[Result]
    next: str


class TaskTypeInfo(_Reply):
    name: str
    description: str = ""
    payload_schema: dict[str, Any] = Field(default_factory=dict)
    answer_schema: dict[str, Any] = Field(default_factory=dict)
    sensitive_fields: list[str] = Field(default_factory=list)


class WebhookSecret(_Reply):
    url: str
    secret: str


class Webhook(_Reply):
    url: str | None = None
    created_at: datetime | None = None


class Delivery(_Reply):
    delivery_id: str
    project_id: str
    task_id: str
    result_id: str
    status: str
    attempts: int
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
