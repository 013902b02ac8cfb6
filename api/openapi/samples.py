"""What the per-type examples are made of: each task type's sample, and the bodies several routes
share (a project, a task, an assignment, a result, a webhook delivery).

A :class:`Sample` is a type's own ``TaskType.example`` (:class:`~task_types.example.TaskExample`):
its payload and answers pass the type's models and answer rules, and a result shows the answer as
the type normalises it, so an example cannot drift from what the API accepts. The samples are
made when the document is first rendered, from every registered type that declares one (plugins
included); a type whose example its own rules refuse is left out, with a warning in the log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from api.openapi.blocks import Examples, Fragment
from task_types import InvalidAnswer
from task_types.base import AnyTaskType
from task_types.example import TaskExample

__all__ = [
    "CLAIMED_AT",
    "CURSOR",
    "DECIDED_AT",
    "DELIVERY_ID",
    "ERROR_AT",
    "EXPIRES_AT",
    "INSTRUCTIONS",
    "ORG_ID",
    "REVIEWER_ID",
    "TASK_ID",
    "VOLUNTEER_ID",
    "RouteExamples",
    "Sample",
    "Samples",
    "assignment",
    "assignment_id",
    "delivery",
    "new_project",
    "per_type",
    "project",
    "result",
    "review_id",
    "samples_of",
    "task_out",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One task of a type, two volunteers' answers to it, and the result they lead to."""

    task_type: AnyTaskType
    example: TaskExample
    #: The answer as a result shows it: normalised by the type.
    result: dict[str, Any]

    @classmethod
    def of(cls, task_type: AnyTaskType, example: TaskExample) -> Sample:
        """The type's example, checked by the type's own rules (``InvalidAnswer`` or a
        ``ValidationError`` when it refuses it)."""
        payload = task_type.parse_payload(example.payload)
        answer = task_type.parse_answer(payload, example.answer)
        task_type.parse_answer(payload, example.other_answer)
        normalised: dict[str, Any] = task_type.normalise(payload, answer).model_dump(mode="json")
        return cls(task_type, example, normalised)

    @property
    def name(self) -> str:
        return self.task_type.name

    @property
    def project_id(self) -> str:
        """A project id of the right shape, the same for the type in every document."""
        return "prj_" + hashlib.sha256(self.name.encode()).hexdigest()[:20]

    @property
    def payload(self) -> dict[str, Any]:
        return self.example.payload

    @property
    def answer(self) -> dict[str, Any]:
        return self.example.answer

    @property
    def other_answer(self) -> dict[str, Any]:
        return self.example.other_answer

    @property
    def external_id(self) -> str:
        return self.example.external_id


#: The samples of one document, one per type that has one, in the registry's (name) order.
Samples = tuple[Sample, ...]
#: A route's examples: a fragment, or a function of the document's samples that makes it.
RouteExamples = Fragment | Callable[[Samples], Fragment]


def samples_of(task_types: Iterable[AnyTaskType]) -> Samples:
    """The sample of each type that declares an example its own rules accept."""
    found = []
    for task_type in task_types:
        if task_type.example is None:
            continue
        try:
            found.append(Sample.of(task_type, task_type.example))
        except (InvalidAnswer, ValidationError, ValueError) as error:
            logger.warning(
                "task type %s: its example is left out of /docs: %s", task_type.name, error
            )
    return tuple(found)


def per_type(samples: Sequence[Sample], build: Callable[[Sample], Any]) -> Examples:
    """One example per task type: ``build(sample)`` gives its value."""
    return {
        s.name: {"summary": f"{s.name}: {s.example.summary}", "value": build(s)} for s in samples
    }


TASK_ID = "t0000000042"
ORG_ID = "org_3m8n2b6v0c4x7z1l5k9j"
VOLUNTEER_ID = "vol_7q2w6e0r4t8y1u5i9o3p"
REVIEWER_ID = "vol_1a5s9d3f7g2h6j0k4l8z"
DELIVERY_ID = "msg_q7d2x8k4m1n6b3v9c5z0l2j7h4g8f1d6s3a9p5o"
CURSOR = "1767225600000-0"
CLAIMED_AT = "2026-01-01T09:00:00Z"
EXPIRES_AT = "2026-01-01T09:10:00Z"
DECIDED_AT = "2026-01-01T09:30:00Z"
INSTRUCTIONS = "Read the whole task first; skip it if you are unsure."
ORG_NAME = "Helping Hands"
IMPACT_NOTE = "Your work reaches 2,000 families this spring."
ERROR_AT = {
    "loc": ["payload", "source_lang"],
    "msg": "String should match pattern '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'",
    "type": "string_pattern_mismatch",
}


def assignment_id(sample: Sample) -> str:
    return f"{sample.project_id}.{TASK_ID}.k3j5h7g9f2d4s6a8p1o3i5u7y9"


def review_id(sample: Sample) -> str:
    return f"{sample.project_id}.{TASK_ID}.rm4n6b8v1c3x5z7l9k2j4h6g8f"


def task_out(sample: Sample) -> dict[str, Any]:
    return {
        "id": TASK_ID,
        "project_id": sample.project_id,
        "type": sample.name,
        "payload": sample.payload,
        "instructions": INSTRUCTIONS,
    }


def project_context(sample: Sample) -> dict[str, Any]:
    """What a volunteer is told of the task's project (``core.projects.facts``)."""
    return {
        "project_name": sample.example.project_name,
        "organisation": ORG_NAME,
        "impact_note": IMPACT_NOTE,
    }


def assignment(sample: Sample) -> dict[str, Any]:
    task = task_out(sample) | project_context(sample)
    return {"id": assignment_id(sample), "task": task, "expires_at": EXPIRES_AT}


def volunteer_project(sample: Sample) -> dict[str, Any]:
    """A project as ``GET /v1/me`` (``worked_on``) and ``GET /v1/me/projects`` show it."""
    return {
        "id": sample.project_id,
        "name": sample.example.project_name,
        "organisation": ORG_NAME,
        "task_type": sample.name,
        "instructions": INSTRUCTIONS,
        "impact_note": IMPACT_NOTE,
        "languages": list(sample.example.languages),
        "skills": [],
    }


def result(sample: Sample) -> dict[str, Any]:
    return {
        "task_id": TASK_ID,
        "external_id": sample.external_id,
        "answer": sample.result,
        "confidence": 0.97,
        "method": "agreement",
        "decided_at": DECIDED_AT,
    }


def project(sample: Sample, state: str = "active") -> dict[str, Any]:
    return {
        "id": sample.project_id,
        "name": sample.example.project_name,
        "task_type": sample.name,
        "redundancy": 3,
        "lease_seconds": 600,
        "priority": 0,
        "deadline": None,
        "languages": list(sample.example.languages),
        "skills": [],
        "instructions": INSTRUCTIONS,
        "impact_note": "Your work helps families find the right clinic.",
        "review": {"agreement": None, "spot_check_rate": 0.05, "target_share": 0.1,
                   "target_accuracy": 0.9},
        "gold_rate": 0.0,
        "gold": {"initial_rate": None, "warmup_tasks": 20, "settle_tasks": 60},
        "qualification": None,
        "max_redundancy": 5,
        "state": state,
        "counts": {"open": 120, "collecting": 14, "aggregating": 1, "in_review": 2,
                   "resolved": 863, "stalled": 0, "expired": 0},
        "gold_tasks": 0,
        "warnings": [],
        "created_at": "2025-12-01T08:00:00Z",
        "updated_at": CLAIMED_AT,
    }  # fmt: skip


def new_project(sample: Sample) -> dict[str, Any]:
    shown = project(sample)
    return {
        key: shown[key]
        for key in ("name", "task_type", "redundancy", "languages", "instructions", "impact_note")
    } | {"review": {"spot_check_rate": 0.05}, "max_redundancy": 5}


def delivery(project_id: str, status: str = "delivered") -> dict[str, Any]:
    return {
        "delivery_id": DELIVERY_ID,
        "project_id": project_id,
        "task_id": TASK_ID,
        "result_id": CURSOR,
        "status": status,
        "attempts": 2 if status == "delivered" else 0,
        "last_error": "HTTP 503" if status == "delivered" else None,
        "next_attempt_at": None if status == "delivered" else CLAIMED_AT,
        "created_at": DECIDED_AT,
    }
