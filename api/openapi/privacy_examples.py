"""Examples for the personal-data routes: a volunteer's export and erasure, deleting a task, a
project or an organisation (:mod:`api.routes.privacy`)."""

from __future__ import annotations

from typing import Any

from api.openapi.blocks import Fragment, one, operation
from api.openapi.samples import ORG_ID, TASK_ID, VOLUNTEER_ID, RouteExamples

__all__ = ["BY_ROUTE"]

PROJECT_ID = "prj_4f8a2c6e0b3d7f1a5c9e"

EXPORT: dict[str, Any] = {
    "format": 1,
    "exported_at_ms": 1767258000000,
    "volunteer_id": VOLUNTEER_ID,
    "profile": {
        "display_name": "Ada",
        "languages": '["fr", "en"]',
        "skills": "[]",
        "created": "1767225600000",
        "charter": "1767225660000",
    },
    "stats": {"tasks": "1", "minutes": "2.000000", "contribution:moderation": "1"},
    "stats_markers": 1,
    "feedback": [],
    "reputation": {},
    "answers": [
        {
            "project_id": PROJECT_ID,
            "task_id": TASK_ID,
            "at": 1767258000000,
            "submission_id": "sub_8h2j4k6l8z1x3c5v7b9n",
            "assignment_id": f"{PROJECT_ID}.{TASK_ID}.2m4n6b8v0c2x4z6l8k0j2h4g6f",
            "volunteer_id": VOLUNTEER_ID,
            "seconds_spent": 120,
            "answer": {"label": "spam", "reasons": []},
        }
    ],
    "assignments": [],
    "review_rights": [],
    "review_decisions": [],
    "qualifications": {},
    "sessions": [],
}


def _deletion(kind: str, target: str) -> Fragment:
    return operation(
        responses={
            202: one(
                "Deleting: gone at once for the API, the rest in the background",
                {"status": "deleting", "kind": kind, "id": target},
            )
        }
    )


EXPORT_OP = operation(responses={200: one("Everything held about the volunteer", EXPORT)})

BY_ROUTE: dict[tuple[str, str], RouteExamples] = {
    ("GET", "/v1/me/export"): EXPORT_OP,
    ("GET", "/v1/volunteers/{volunteer_id}/export"): EXPORT_OP,
    ("DELETE", "/v1/me"): _deletion("volunteer", VOLUNTEER_ID),
    ("DELETE", "/v1/volunteers/{volunteer_id}"): _deletion("volunteer", VOLUNTEER_ID),
    ("DELETE", "/v1/projects/{project_id}"): _deletion("project", PROJECT_ID),
    ("DELETE", "/v1/orgs/{org_id}/projects/{project_id}"): _deletion("project", PROJECT_ID),
    ("DELETE", "/v1/projects/{project_id}/tasks/{task_id}"): _deletion("task", TASK_ID),
    ("DELETE", "/v1/orgs/{org_id}"): _deletion("organisation", ORG_ID),
}
