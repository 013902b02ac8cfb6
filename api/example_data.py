"""What the ``/docs`` examples are made of (:mod:`api.examples` assembles them per route).

The task-type parts come from the task types themselves: each :class:`Sample`'s payload and
answers go through the type's own models and checks at import, and a result shows the answer as
the type normalises it, so an example cannot drift from what the API accepts. The rest: fixed
ids and times, builders of the bodies several routes share, :func:`operation` (an
``openapi_extra`` fragment) and :func:`openapi_with_examples` (FastAPI drops nulls from the
document; this puts the examples back as written).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from task_types import data_entry, moderation, translation
from task_types.base import AnyTaskType

__all__ = [
    "CLAIMED_AT",
    "CURSOR",
    "DECIDED_AT",
    "DELIVERY_ID",
    "ERROR_AT",
    "EXPIRES_AT",
    "INSTRUCTIONS",
    "JSON",
    "NDJSON",
    "ORG_ID",
    "REVIEWER_ID",
    "SAMPLES",
    "TASK_ID",
    "VOLUNTEER_ID",
    "Examples",
    "Sample",
    "assignment",
    "assignment_id",
    "delivery",
    "merged",
    "new_project",
    "one",
    "openapi_with_examples",
    "operation",
    "per_type",
    "project",
    "result",
    "review_id",
    "task_out",
]

JSON = "application/json"
NDJSON = "application/x-ndjson"
Examples = dict[str, dict[str, Any]]

# -- the task types' samples ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One task of a type, two volunteers' answers to it, and the result they lead to."""

    task_type: AnyTaskType
    project_id: str
    external_id: str
    payload: dict[str, Any]
    answer: dict[str, Any]
    other_answer: dict[str, Any]
    summary: str
    project_name: str

    def __post_init__(self) -> None:
        # The type's own checks: an example the API would refuse fails at import, loudly.
        payload = self.task_type.parse_payload(self.payload)
        for answer in (self.answer, self.other_answer):
            self.task_type.parse_answer(payload, answer)

    @property
    def name(self) -> str:
        return self.task_type.name

    @property
    def result(self) -> dict[str, Any]:
        """The answer as a result shows it: normalised by the type."""
        payload = self.task_type.parse_payload(self.payload)
        answer = self.task_type.parse_answer(payload, self.answer)
        normalised: dict[str, Any] = self.task_type.normalise(payload, answer).model_dump(
            mode="json"
        )
        return normalised


SAMPLES: tuple[Sample, ...] = (
    Sample(
        translation.TASK_TYPE,
        project_id="prj_8d3kq2m7x1v9c4b6n0zt",
        external_id="leaflet-12",
        payload={
            "source_text": "Lavez-vous les mains avant chaque repas.",
            "source_lang": "fr",
            "target_lang": "en",
            "context": "Poster in a school canteen",
            "glossary": {"repas": "meal"},
        },
        answer={"text": "Wash your hands before every meal."},
        other_answer={"text": "Wash your hands before each meal."},
        summary="A sentence to translate, with its context and a glossary",
        project_name="Clinic leaflets, French to English",
    ),
    Sample(
        data_entry.TASK_TYPE,
        project_id="prj_5t1w8r4e6y2u9i3o7p0a",
        external_id="form-0042",
        payload={
            "document": {
                "text": "Donor: Ada Lovelace - 12/03/2024 - 25,00 EUR - ada@example.org",
                "image_url": "https://example.org/scans/form-0042.png",
            },
            "fields": [
                {"name": "donor", "type": "string"},
                {"name": "date", "type": "date"},
                {"name": "amount", "type": "number", "decimal_comma": True},
                {"name": "email", "type": "email", "required": False},
            ],
        },
        answer={
            "values": {
                "donor": "Ada Lovelace",
                "date": "12/03/2024",
                "amount": "25,00",
                "email": "ada@example.org",
            }
        },
        other_answer={
            "values": {"donor": "Ada Lovelace", "date": "12/03/2024", "amount": "25", "email": None}
        },
        summary="A scanned donation slip to type in",
        project_name="Donation slips 2025",
    ),
    Sample(
        moderation.TASK_TYPE,
        project_id="prj_2g6h0j4k8l1z5x9c3v7b",
        external_id="post-981",
        payload={
            "content": "Cheap watches!!! Visit www.example.com now",
            "labels": ["ok", "spam", "abuse"],
            "policy": "Advertising is spam; insults are abuse.",
        },
        answer={"label": "spam", "reasons": ["advertising"]},
        other_answer={"label": "ok"},
        summary="A forum post to moderate",
        project_name="Neighbourhood forum",
    ),
)

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


def assignment_id(sample: Sample) -> str:
    return f"{sample.project_id}.{TASK_ID}.k3j5h7g9f2d4s6a8p1o3i5u7y9"


def review_id(sample: Sample) -> str:
    return f"{sample.project_id}.{TASK_ID}.rm4n6b8v1c3x5z7l9k2j4h6g8f"


# -- building blocks ------------------------------------------------------------------------------


def one(summary: str, value: Any) -> Examples:
    return {"default": {"summary": summary, "value": value}}


def per_type(build: Callable[[Sample], Any]) -> Examples:
    """One example per task type: ``build(sample)`` gives its value."""
    return {s.name: {"summary": f"{s.name}: {s.summary}", "value": build(s)} for s in SAMPLES}


def operation(
    *,
    request: Examples | None = None,
    responses: Mapping[int, Examples] | None = None,
    request_media: str = JSON,
    response_media: str = JSON,
) -> dict[str, Any]:
    """An ``openapi_extra`` fragment: examples for the request body and for responses."""
    fragment: dict[str, Any] = {}
    if request is not None:
        fragment["requestBody"] = {"content": {request_media: {"examples": request}}}
    if responses:
        fragment["responses"] = {
            str(status): {"content": {response_media: {"examples": examples}}}
            for status, examples in responses.items()
        }
    return fragment


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings merged too (neither is changed)."""
    result = dict(base)
    for key, value in extra.items():
        current = result.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[key] = merged(current, value)
        else:
            result[key] = value
    return result


def openapi_with_examples(
    app: FastAPI, routers: Sequence[APIRouter]
) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with every example as written. FastAPI renders the document without
    nulls (``exclude_none``), which would drop a nullable field from an example that shows it
    null (a live key's ``revoked_at``): the examples of each route are put back afterwards."""

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)  # cached by FastAPI; putting examples back is idempotent
        for router in routers:
            for route in router.routes:
                if isinstance(route, APIRoute) and route.openapi_extra:
                    operations = document["paths"][route.path]
                    for method in route.methods or ():
                        _put_back(operations[method.lower()], route.openapi_extra)
        return document

    return openapi


def _put_back(rendered: dict[str, Any], written: Mapping[str, Any]) -> None:
    for key, value in written.items():
        if key == "examples":
            rendered[key] = copy.deepcopy(value)
        elif isinstance(value, Mapping) and isinstance(rendered.get(key), dict):
            _put_back(rendered[key], value)


def task_out(sample: Sample) -> dict[str, Any]:
    return {
        "id": TASK_ID,
        "project_id": sample.project_id,
        "type": sample.name,
        "payload": sample.payload,
        "instructions": INSTRUCTIONS,
    }


def assignment(sample: Sample) -> dict[str, Any]:
    return {"id": assignment_id(sample), "task": task_out(sample), "expires_at": EXPIRES_AT}


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
    languages = ["fr", "en"] if sample.name == "translation" else []
    return {
        "id": sample.project_id,
        "name": sample.project_name,
        "task_type": sample.name,
        "redundancy": 3,
        "lease_seconds": 600,
        "priority": 0,
        "deadline": None,
        "languages": languages,
        "skills": [],
        "instructions": INSTRUCTIONS,
        "impact_note": "Your work helps families find the right clinic.",
        "review": {"agreement": None, "spot_check_rate": 0.05},
        "gold_rate": 0.0,
        "gold": {"initial_rate": None, "warmup_tasks": 20, "settle_tasks": 60},
        "qualification": None,
        "max_redundancy": 5,
        "state": state,
        "counts": {"open": 120, "collecting": 14, "aggregating": 1, "in_review": 2,
                   "resolved": 863, "stalled": 0, "expired": 0},
        "gold_tasks": 0,
        "created_at": "2025-12-01T08:00:00Z",
        "updated_at": CLAIMED_AT,
    }  # fmt: skip


def new_project(sample: Sample) -> dict[str, Any]:
    shown = project(sample)
    return {
        key: shown[key]
        for key in ("name", "task_type", "redundancy", "languages", "instructions", "impact_note")
    } | {"review": {"spot_check_rate": 0.05}, "max_redundancy": 5}


def delivery(status: str = "delivered") -> dict[str, Any]:
    return {
        "delivery_id": DELIVERY_ID,
        "project_id": SAMPLES[0].project_id,
        "task_id": TASK_ID,
        "result_id": CURSOR,
        "status": status,
        "attempts": 2 if status == "delivered" else 0,
        "last_error": "HTTP 503" if status == "delivered" else None,
        "next_attempt_at": None if status == "delivered" else CLAIMED_AT,
        "created_at": DECIDED_AT,
    }


ERROR_AT = {
    "loc": ["payload", "source_lang"],
    "msg": "String should match pattern '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'",
    "type": "string_pattern_mismatch",
}
