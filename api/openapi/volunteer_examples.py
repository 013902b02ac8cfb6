"""Examples for the routes of volunteers and reviewers: signing up, the charter, their profile and
goal, assignments (claim, heartbeat, submit, release) and reviews (claim, decide).

Written like :mod:`api.openapi.ngo_examples`: :data:`BY_ROUTE` gives each route's examples by
method and path, one per task type where the type shapes the body.
"""

from __future__ import annotations

from typing import Any

from api.openapi.blocks import Fragment, one, operation
from api.openapi.samples import (
    CLAIMED_AT,
    DECIDED_AT,
    EXPIRES_AT,
    ORG_ID,
    ORG_NAME,
    TASK_ID,
    VOLUNTEER_ID,
    RouteExamples,
    Sample,
    Samples,
    assignment,
    assignment_id,
    per_type,
    project_context,
    review_id,
    task_out,
    volunteer_project,
)

__all__ = ["BY_ROUTE"]

SIGN_UP = operation(
    request=one("A volunteer", {"display_name": "Ada", "languages": ["fr", "en"], "skills": []}),
    responses={
        201: one(
            "Their token, shown once",
            {"id": VOLUNTEER_ID, "token": "rk_vol_example-token-shown-once"},
        )
    },
)
CHARTER = operation(
    request={
        "operator": {"summary": "Accept the charter", "value": {"accept": True}},
        "organisation": {
            "summary": "Accept an organisation's own charter",
            "value": {"accept": True, "org_id": ORG_ID},
        },
    },
    responses={200: one("Accepted", {"accepted_at": CLAIMED_AT, "version": 2})},
)
_CHARTER_TEXT = "The tasks you see may hold people's personal data: use them only for the task."
READ_CHARTER = operation(
    responses={
        200: one(
            "A new version to accept",
            {
                "text": _CHARTER_TEXT,
                "version": 2,
                "owner": "operator",
                "organisation": None,
                "accepted_version": 1,
                "needs_acceptance": True,
            },
        )
    }
)
SET_CHARTER = operation(
    request=one("The operator's charter", {"text": _CHARTER_TEXT}),
    responses={
        200: one(
            "Its new version",
            {"text": _CHARTER_TEXT, "version": 2, "owner": "operator", "organisation": None},
        )
    },
)
SET_ORG_CHARTER = operation(
    request=one("The organisation's own charter", {"text": _CHARTER_TEXT}),
    responses={
        200: one(
            "Its new version",
            {"text": _CHARTER_TEXT, "version": 1, "owner": ORG_ID, "organisation": ORG_NAME},
        )
    },
)


def _me(samples: Samples) -> dict[str, Any]:
    reviewed = samples[-1]
    return {
        "id": VOLUNTEER_ID,
        "display_name": "Ada",
        "languages": ["fr", "en"],
        "skills": [],
        "charter_accepted_at": CLAIMED_AT,
        "weekly_goal_minutes": 60,
        "stats": {
            "tasks": 42,
            "minutes": 95,
            "accepted_rate": 0.93,
            "week_minutes": 25,
            "contribution": {
                s.name: {"amount": 14, "unit": s.task_type.contribution_unit} for s in samples
            },
        },
        "reviewer_of": [reviewed.project_id],
        "feedback": [
            {
                "id": f"{reviewed.project_id}:{TASK_ID}:rev_5t7y9u1i3o",
                "kind": "review",
                "project_id": reviewed.project_id,
                "task_id": TASK_ID,
                "outcome": "overturned",
                "action": "correct",
                "review": "rev_5t7y9u1i3o",
                "submission_id": "sub_8h2j4k6l8z1x3c5v7b9n",
                "comment": "Close; see the answer kept.",
                "at": DECIDED_AT,
                "project_name": reviewed.example.project_name,
                "organisation": ORG_NAME,
                "task": reviewed.payload,
                "your_answer": reviewed.other_answer,
                "final_answer": reviewed.result,
            }
        ],
        "worked_on": [volunteer_project(reviewed)],
    }


def read_me(samples: Samples) -> Fragment:
    return operation(responses={200: one("Profile, stats and feedback", _me(samples))})


def edit_me(samples: Samples) -> Fragment:
    updated = _me(samples) | {"languages": ["fr", "en", "pt-BR"]}
    return operation(
        request=one("Add a language", {"languages": ["fr", "en", "pt-BR"]}),
        responses={200: one("The updated profile", updated)},
    )


def open_projects(samples: Samples) -> Fragment:
    items = [volunteer_project(s) | {"tasks_left": 120} for s in samples]
    return operation(responses={200: one("Projects that fit you", {"items": items})})


SET_GOAL = operation(
    request=one("An hour a week", {"weekly_minutes": 60}),
    responses={200: one("The goal", {"weekly_minutes": 60})},
)

# -- assignments ----------------------------------------------------------------------------------


def claim(samples: Samples) -> Fragment:
    first = samples[0]
    return operation(
        request={
            "any": {"summary": "Any task that fits me", "value": {}},
            "types": {"summary": "Only some task types", "value": {"task_types": [first.name]}},
            "project": {"summary": "Only one project", "value": {"project_id": first.project_id}},
        },
        responses={201: per_type(samples, assignment)},
    )


def live_assignments(samples: Samples) -> Fragment:
    first = samples[0]
    live = {
        "id": assignment_id(first),
        "project_id": first.project_id,
        "task_id": TASK_ID,
        "expires_at": EXPIRES_AT,
    }
    return operation(responses={200: one("One live assignment", {"items": [live]})})


def read_assignment(samples: Samples) -> Fragment:
    return operation(responses={200: per_type(samples, assignment)})


HEARTBEAT = operation(
    responses={200: one("Extended", {"expires_at": "2026-01-01T09:20:00Z", "capped": False})}
)


def submit(samples: Samples) -> Fragment:
    return operation(
        request=per_type(samples, lambda s: {"answer": s.answer, "seconds_spent": 45}),
        responses={202: one("Recorded", {"submission_id": "sub_8h2j4k6l8z1x3c5v7b9n"})},
    )


RELEASE = operation(request=one("Not my language", {"reason": "not_my_language"}))

# -- reviews --------------------------------------------------------------------------------------


def claim_review(samples: Samples) -> Fragment:
    def item(s: Sample) -> dict[str, Any]:
        return {
            "id": review_id(s),
            "task": task_out(s) | project_context(s),
            "candidates": [
                {"submission_id": "sub_8h2j4k6l8z1x3c5v7b9n", "answer": s.answer},
                {"submission_id": "sub_1q3w5e7r9t2y4u6i8o0p", "answer": s.other_answer},
            ],
            "reason": "disagreement",
            "expires_at": "2026-01-01T09:15:00Z",
        }

    one_project = {"project_id": samples[-1].project_id}
    return operation(
        request={
            "any": {"summary": "Any project I review", "value": {}},
            "project": {"summary": "One project", "value": one_project},
        },
        responses={201: per_type(samples, item)},
    )


def decide(samples: Samples) -> Fragment:
    corrections = {
        f"correct_{s.name}": {
            "summary": f"{s.name}: correct it with your own answer",
            "value": {"action": "correct", "answer": s.answer, "comment": "Fixed a typo."},
        }
        for s in samples
    }
    return operation(
        request={
            "accept": {
                "summary": "Accept a candidate",
                "value": {"action": "accept", "submission_id": "sub_8h2j4k6l8z1x3c5v7b9n"},
            },
            **corrections,
            "reopen": {"summary": "Ask one more answer", "value": {"action": "reopen"}},
            "reject": {
                "summary": "Reject the task as unanswerable",
                "value": {"action": "reject", "comment": "The scan is unreadable."},
            },
        },
        responses={200: one("Resolved", {"task_id": TASK_ID, "state": "resolved"})},
    )


BY_ROUTE: dict[tuple[str, str], RouteExamples] = {
    ("POST", "/v1/volunteers"): SIGN_UP,
    ("POST", "/v1/me/charter"): CHARTER,
    ("GET", "/v1/me/charter"): READ_CHARTER,
    ("PUT", "/v1/charter"): SET_CHARTER,
    ("PUT", "/v1/org/charter"): SET_ORG_CHARTER,
    ("GET", "/v1/me"): read_me,
    ("PATCH", "/v1/me"): edit_me,
    ("PUT", "/v1/me/goal"): SET_GOAL,
    ("GET", "/v1/me/projects"): open_projects,
    ("POST", "/v1/assignments"): claim,
    ("GET", "/v1/me/assignments"): live_assignments,
    ("GET", "/v1/assignments/{assignment_id}"): read_assignment,
    ("POST", "/v1/assignments/{assignment_id}/heartbeat"): HEARTBEAT,
    ("POST", "/v1/assignments/{assignment_id}/submit"): submit,
    ("POST", "/v1/assignments/{assignment_id}/release"): RELEASE,
    ("POST", "/v1/reviews"): claim_review,
    ("POST", "/v1/reviews/{review_id}/decision"): decide,
}
