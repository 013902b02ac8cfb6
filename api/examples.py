"""Examples for ``/docs``: a request and a response for every route, one per task type where the
type shapes the body (tasks, assignments, answers, results, reviews).

Each constant is an ``openapi_extra`` fragment for one route, attached in the route module with
``openapi_extra=examples.<NAME>``; the parts are made in :mod:`api.example_data`, from the task
types' own models. ``tests/api/test_docs_examples.py`` checks that every route has examples and
that each one validates against its own schema, its route's models and its task type.
"""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST

from api.example_data import (
    CLAIMED_AT,
    CURSOR,
    DECIDED_AT,
    ERROR_AT,
    EXPIRES_AT,
    NDJSON,
    ORG_ID,
    REVIEWER_ID,
    SAMPLES,
    TASK_ID,
    VOLUNTEER_ID,
    Sample,
    assignment,
    assignment_id,
    delivery,
    merged,
    new_project,
    one,
    openapi_with_examples,
    operation,
    per_type,
    project,
    result,
    review_id,
    task_out,
)

# Re-exported: route modules, the app and the tests reach everything through this module.
__all__ = ["SAMPLES", "Sample", "merged", "openapi_with_examples"]

# -- operations: organisations --------------------------------------------------------------------

CREATE_ORG = operation(
    request=one("An NGO", {"name": "Helping Hands", "contact_email": "ops@example.org"}),
    responses={
        201: one(
            "Its first API key, shown once",
            {"id": ORG_ID, "name": "Helping Hands", "api_key": "rk_org_example-first-key-9f2c"},
        )
    },
)
ORG_PROFILE = operation(
    responses={
        200: one(
            "The calling organisation",
            {
                "id": ORG_ID,
                "name": "Helping Hands",
                "contact_email": "ops@example.org",
                "created_at": "2025-11-02T10:00:00Z",
            },
        )
    }
)
CREATE_KEY = operation(
    responses={
        201: one(
            "A second key, to rotate without downtime",
            {"key_id": "key_9f2c4e6a8b1d3f5a", "api_key": "rk_org_example-second-key-4e6a"},
        )
    }
)
LIST_KEYS = operation(
    responses={
        200: one(
            "One live key and one revoked",
            [
                {"key_id": "key_9f2c4e6a8b1d3f5a", "created_at": CLAIMED_AT, "revoked_at": None},
                {
                    "key_id": "key_1a3c5e7f9b2d4f6a",
                    "created_at": "2025-11-02T10:00:00Z",
                    "revoked_at": CLAIMED_AT,
                },
            ],
        )
    }
)

# -- operations: projects and tasks ---------------------------------------------------------------

CREATE_PROJECT = operation(request=per_type(new_project), responses={201: per_type(project)})
LIST_PROJECTS = operation(
    responses={200: one("The organisation's projects", {"items": [project(s) for s in SAMPLES]})}
)
GET_PROJECT = operation(responses={200: per_type(project)})
EDIT_PROJECT = operation(
    request={
        "pause": {"summary": "Pause the project", "value": {"state": "paused"}},
        "policy": {
            "summary": "Ask more answers of new tasks, review 10 % of results",
            "value": {"redundancy": 5, "review": {"spot_check_rate": 0.1}},
        },
    },
    responses={200: per_type(lambda s: project(s, state="paused"))},
)
SUBMIT_TASKS_NDJSON = operation(
    request=per_type(
        lambda s: json.dumps({"external_id": s.external_id, "payload": s.payload}) + "\n"
    ),
    request_media=NDJSON,
)
SUBMIT_TASKS_JSON = operation(
    request=per_type(
        lambda s: {"tasks": [{"external_id": s.external_id, "payload": s.payload, "priority": 0}]}
    ),
    responses={
        200: {
            "accepted": {
                "summary": "Every task created",
                "value": {"accepted": 1, "duplicates": 0, "rejected": [], "task_ids": [TASK_ID]},
            },
            "mixed": {
                "summary": "One new, one seen before, one refused (never echoing its values)",
                "value": {
                    "accepted": 1,
                    "duplicates": 1,
                    "rejected": [{"index": 2, "external_id": "leaflet-14", "errors": [ERROR_AT]}],
                    "task_ids": [TASK_ID, "t0000000007", None],
                },
            },
        }
    },
)
SUBMIT_TASKS = merged(SUBMIT_TASKS_JSON, SUBMIT_TASKS_NDJSON)
GET_TASK = operation(
    responses={
        200: per_type(
            lambda s: {
                "id": TASK_ID,
                "external_id": s.external_id,
                "state": "collecting",
                "priority": 0,
                "answers": 1,
                "need": 3,
                "live": 1,
                "attempts": 0,
                "releases": 0,
                "created_at": "2025-12-01T08:05:00Z",
                "payload": s.payload,
            }
        )
    }
)
RESULTS = operation(responses={200: per_type(lambda s: {"items": [result(s)], "next": CURSOR})})
_PO_EXAMPLE = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: fr\\n"\n\n'
    f"#. ruche: task {TASK_ID}, external id page-12, confidence 0.97, agreement\n"
    'msgid "Wash your hands."\nmsgstr "Lavez-vous les mains."\n'
)
_XLIFF_EXAMPLE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">\n'
    '<file original="results" datatype="plaintext" source-language="en" target-language="fr">'
    f'<body><trans-unit id="{TASK_ID}"><source>Wash your hands.</source>'
    '<target state="translated">Lavez-vous les mains.</target></trans-unit></body></file>\n'
    "</xliff>\n"
)
EXPORT = merged(
    operation(
        responses={
            200: per_type(
                lambda s: json.dumps(result(s), ensure_ascii=False, separators=(",", ":")) + "\n"
            )
        },
        response_media=NDJSON,
    ),
    operation(
        responses={
            200: per_type(
                lambda s: "task_id,external_id,answer,confidence,method,decided_at\r\n"
                f"{TASK_ID},{s.external_id},"
                + '"' + json.dumps(s.result, separators=(",", ":")).replace('"', '""') + '"'
                + f",0.97,agreement,{DECIDED_AT}\r\n"
            )
        },
        response_media="text/csv",
    ),
)  # fmt: skip
EXPORT = merged(
    merged(
        EXPORT,
        operation(
            responses={200: one("A translation project as PO", _PO_EXAMPLE)},
            response_media="text/x-gettext-translation",
        ),
    ),
    operation(
        responses={200: one("A translation project as XLIFF 1.2", _XLIFF_EXAMPLE)},
        response_media="application/xliff+xml",
    ),
)
GRANT_REVIEWER = operation(
    request=one("A volunteer who will review", {"volunteer_id": REVIEWER_ID}),
    responses={
        201: one("Granted", {"project_id": SAMPLES[0].project_id, "volunteer_id": REVIEWER_ID})
    },
)
LIST_REVIEWERS = operation(
    responses={200: one("The project's reviewers", {"items": [REVIEWER_ID]})}
)
VOLUNTEER_REPUTATION = operation(
    responses={
        200: per_type(
            lambda s: {
                "volunteer_id": VOLUNTEER_ID,
                "task_type": s.name,
                "standing": {
                    "accuracy": 0.91,
                    "evidence": 21.4,  # faded: less than the 26.25 observed
                    "observations": {"gold": 12.0, "review": 3.0, "agreement": 22.5},
                    "floor": 0.6,
                    "below_floor": False,
                    "prior_only": False,
                },
            }
        )
    }
)
TASK_TYPES = operation(
    responses={200: one("The built-in types", [s.task_type.describe() for s in SAMPLES])}
)

# -- operations: webhooks -------------------------------------------------------------------------

SET_WEBHOOK = operation(
    request=one("Your receiver", {"url": "https://hooks.example.org/ruche"}),
    responses={
        200: one(
            "The signing secret, shown once",
            {
                "url": "https://hooks.example.org/ruche",
                "secret": "whsec_ZXhhbXBsZS1zZWNyZXQtc2hvd24tb25jZQ==",
            },
        )
    },
)
GET_WEBHOOK = operation(
    responses={
        200: one(
            "The endpoint (never its secret)",
            {"url": "https://hooks.example.org/ruche", "created_at": CLAIMED_AT},
        )
    }
)
DELIVERIES = operation(
    responses={
        200: one(
            "Delivered on the second attempt, one waiting",
            {"items": [delivery(), delivery("pending")]},
        )
    }
)
REDELIVER = operation(responses={202: one("Sent again within a tick", delivery("pending"))})

# -- operations: volunteers, assignments, reviews -------------------------------------------------

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
    request=one("Accept the charter", {"accept": True}),
    responses={200: one("Accepted", {"accepted_at": CLAIMED_AT})},
)
_ME = {
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
            s.name: {"amount": 14, "unit": s.task_type.contribution_unit} for s in SAMPLES
        },
    },
    "reviewer_of": [SAMPLES[2].project_id],
    "feedback": [
        {
            "id": "fb_2k4m6n8p",
            "kind": "review",
            "project_id": SAMPLES[2].project_id,
            "task_id": TASK_ID,
            "outcome": "upheld",
            "comment": "Well spotted.",
            "at": DECIDED_AT,
        }
    ],
}
READ_ME = operation(responses={200: one("Profile, stats and feedback", _ME)})
EDIT_ME = operation(
    request=one("Add a language", {"languages": ["fr", "en", "pt-BR"]}),
    responses={200: one("The updated profile", _ME | {"languages": ["fr", "en", "pt-BR"]})},
)
SET_GOAL = operation(
    request=one("An hour a week", {"weekly_minutes": 60}),
    responses={200: one("The goal", {"weekly_minutes": 60})},
)
CLAIM = operation(
    request={
        "any": {"summary": "Any task that fits me", "value": {}},
        "types": {"summary": "Only some task types", "value": {"task_types": ["translation"]}},
        "project": {"summary": "Only one project", "value": {"project_id": SAMPLES[0].project_id}},
    },
    responses={201: per_type(assignment)},
)
LIVE_ASSIGNMENTS = operation(
    responses={
        200: one(
            "One live assignment",
            {
                "items": [
                    {
                        "id": assignment_id(SAMPLES[0]),
                        "project_id": SAMPLES[0].project_id,
                        "task_id": TASK_ID,
                        "expires_at": EXPIRES_AT,
                    }
                ]
            },
        )
    }
)
READ_ASSIGNMENT = operation(responses={200: per_type(assignment)})
HEARTBEAT = operation(
    responses={200: one("Extended", {"expires_at": "2026-01-01T09:20:00Z", "capped": False})}
)
SUBMIT = operation(
    request=per_type(lambda s: {"answer": s.answer, "seconds_spent": 45}),
    responses={202: one("Recorded", {"submission_id": "sub_8h2j4k6l8z1x3c5v7b9n"})},
)
RELEASE = operation(request=one("Not my language", {"reason": "not_my_language"}))
CLAIM_REVIEW = operation(
    request={
        "any": {"summary": "Any project I review", "value": {}},
        "project": {"summary": "One project", "value": {"project_id": SAMPLES[2].project_id}},
    },
    responses={
        201: per_type(
            lambda s: {
                "id": review_id(s),
                "task": task_out(s),
                "candidates": [
                    {"submission_id": "sub_8h2j4k6l8z1x3c5v7b9n", "answer": s.answer},
                    {"submission_id": "sub_1q3w5e7r9t2y4u6i8o0p", "answer": s.other_answer},
                ],
                "reason": "disagreement",
                "expires_at": "2026-01-01T09:15:00Z",
            }
        )
    },
)
DECIDE = operation(
    request={
        "accept": {
            "summary": "Accept a candidate",
            "value": {"action": "accept", "submission_id": "sub_8h2j4k6l8z1x3c5v7b9n"},
        },
        **{
            f"correct_{s.name}": {
                "summary": f"{s.name}: correct it with your own answer",
                "value": {"action": "correct", "answer": s.answer, "comment": "Fixed a typo."},
            }
            for s in SAMPLES
        },
        "reopen": {"summary": "Ask one more answer", "value": {"action": "reopen"}},
        "reject": {
            "summary": "Reject the task as unanswerable",
            "value": {"action": "reject", "comment": "The scan is unreadable."},
        },
    },
    responses={200: one("Resolved", {"task_id": TASK_ID, "state": "resolved"})},
)

# -- operations: operations -----------------------------------------------------------------------

HEALTHZ = operation(responses={200: one("Up", {"status": "ok"})})
READYZ = operation(responses={200: one("Redis answers", {"status": "ready"})})
METRICS = operation(
    responses={
        200: one(
            "A few of the figures",
            "# HELP ruche_claims_total Volunteer claims by outcome.\n"
            "# TYPE ruche_claims_total counter\n"
            'ruche_claims_total{outcome="claimed"} 1234.0\n'
            'ruche_tasks{project="prj_8d3kq2m7x1v9c4b6n0zt",state="open"} 120.0\n',
        )
    },
    response_media=CONTENT_TYPE_LATEST,
)
