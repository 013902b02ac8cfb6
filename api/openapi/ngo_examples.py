"""Examples for the routes of organisations and operators: organisations and their keys,
certificates (the operator revokes one), projects,
tasks, results, reviewers, reputations, task types, webhooks, health and metrics.

One request and one response per route, one per task type where the type shapes the body; the
per-type parts come from :mod:`api.openapi.samples`. :data:`BY_ROUTE` gives each route's
examples by method and path (a fragment, or a function of the samples that makes it);
``tests/api/test_docs_examples.py`` checks that every route has examples and that each one
validates against its own schema, its route's models and its task type.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from prometheus_client import CONTENT_TYPE_LATEST

from api.openapi.blocks import NDJSON, Fragment, merged, one, operation
from api.openapi.samples import (
    CLAIMED_AT,
    CURSOR,
    DECIDED_AT,
    ERROR_AT,
    ORG_ID,
    REVIEWER_ID,
    TASK_ID,
    VOLUNTEER_ID,
    RouteExamples,
    Sample,
    Samples,
    delivery,
    new_project,
    per_type,
    project,
    result,
)

__all__ = ["BY_ROUTE"]

# -- organisations --------------------------------------------------------------------------------

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

_INVITATION = {
    "id": "inv_5d1e9a7c3b2f4e6a",
    "uses": 20,
    "used": 3,
    "expires_at": "2025-12-01T10:00:00Z",
    "created_at": CLAIMED_AT,
}
CREATE_INVITATION = operation(
    request=one("A code for twenty people, for two weeks", {"uses": 20, "expires_in_days": 14}),
    responses={
        201: one(
            "The code, shown once, and the join page carrying it",
            {
                **_INVITATION,
                "used": 0,
                "code": "Jq3vT9xLm2Rk8wZp4Ya1",
                "url": "https://ruche.example.org/join?invite=Jq3vT9xLm2Rk8wZp4Ya1",
            },
        )
    },
)
LIST_INVITATIONS = operation(
    responses={200: one("One code, three of its twenty uses taken", {"items": [_INVITATION]})}
)
REVOKE_CERTIFICATE = operation(
    responses={
        200: one(
            "Revoked (again: the first time stays)",
            {"id": "crt_6f1d2c3b4a5968778695a4b3c2d1e0f1", "revoked_at": CLAIMED_AT},
        )
    }
)

# -- projects and tasks ---------------------------------------------------------------------------


def create_project(samples: Samples) -> Fragment:
    return operation(
        request=per_type(samples, new_project), responses={201: per_type(samples, project)}
    )


def list_projects(samples: Samples) -> Fragment:
    listed = {"items": [project(s) for s in samples]}
    return operation(responses={200: one("The organisation's projects", listed)})


def get_project(samples: Samples) -> Fragment:
    return operation(responses={200: per_type(samples, project)})


def edit_project(samples: Samples) -> Fragment:
    return operation(
        request={
            "pause": {"summary": "Pause the project", "value": {"state": "paused"}},
            "policy": {
                "summary": "Ask more answers of new tasks, review 10 % of results",
                "value": {"redundancy": 5, "review": {"spot_check_rate": 0.1}},
            },
        },
        responses={200: per_type(samples, lambda s: project(s, state="paused"))},
    )


def submit_tasks(samples: Samples) -> Fragment:
    as_json = operation(
        request=per_type(
            samples,
            lambda s: {
                "tasks": [{"external_id": s.external_id, "payload": s.payload, "priority": 0}]
            },
        ),
        responses={
            200: {
                "accepted": {
                    "summary": "Every task created",
                    "value": {
                        "accepted": 1,
                        "duplicates": 0,
                        "rejected": [],
                        "task_ids": [TASK_ID],
                    },
                },
                "mixed": {
                    "summary": "One new, one seen before, one refused (never echoing its values)",
                    "value": {
                        "accepted": 1,
                        "duplicates": 1,
                        "rejected": [
                            {"index": 2, "external_id": "leaflet-14", "errors": [ERROR_AT]}
                        ],
                        "task_ids": [TASK_ID, "t0000000007", None],
                    },
                },
            }
        },
    )
    as_ndjson = operation(
        request=per_type(
            samples,
            lambda s: json.dumps({"external_id": s.external_id, "payload": s.payload}) + "\n",
        ),
        request_media=NDJSON,
    )
    return merged(as_json, as_ndjson)


def get_task(samples: Samples) -> Fragment:
    def task(s: Sample) -> dict[str, Any]:
        return {
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

    return operation(responses={200: per_type(samples, task)})


# -- results --------------------------------------------------------------------------------------


def results(samples: Samples) -> Fragment:
    return operation(
        responses={200: per_type(samples, lambda s: {"items": [result(s)], "next": CURSOR})}
    )


def _po(sample: Sample) -> str:
    """A catalog type's result as the PO export writes it (its header cut short)."""
    payload, text = sample.payload, sample.result.get("text", "")
    return (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f'"Language: {payload["target_lang"]}\\n"\n\n'
        f"#. ruche: task {TASK_ID}, external id {sample.external_id}, confidence 0.97, "
        f"agreement\nmsgid {json.dumps(payload['source_text'], ensure_ascii=False)}\n"
        f"msgstr {json.dumps(text, ensure_ascii=False)}\n"
    )


def _xliff(sample: Sample) -> str:
    """A catalog type's result as the XLIFF 1.2 export writes it (its notes left out)."""
    payload, text = sample.payload, str(sample.result.get("text", ""))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">\n'
        f'<file original="results" datatype="plaintext" '
        f"source-language={quoteattr(str(payload['source_lang']))} "
        f"target-language={quoteattr(str(payload['target_lang']))}><body>"
        f'<trans-unit id="{TASK_ID}"><source>{escape(str(payload["source_text"]))}</source>'
        f'<target state="translated">{escape(text)}</target></trans-unit></body></file>\n'
        "</xliff>\n"
    )


def export(samples: Samples) -> Fragment:
    def catalogs(fmt: str) -> Samples:
        return tuple(s for s in samples if fmt in s.task_type.catalog_formats)

    return merged(
        merged(
            operation(
                responses={
                    200: per_type(
                        samples,
                        lambda s: json.dumps(result(s), ensure_ascii=False, separators=(",", ":"))
                        + "\n",
                    )
                },
                response_media=NDJSON,
            ),
            operation(
                responses={
                    200: per_type(
                        samples,
                        lambda s: "task_id,external_id,answer,confidence,method,decided_at\r\n"
                        f"{TASK_ID},{s.external_id},"
                        + '"' + json.dumps(s.result, separators=(",", ":")).replace('"', '""')
                        + '"' + f",0.97,agreement,{DECIDED_AT}\r\n",
                    )
                },
                response_media="text/csv",
            ),
        ),
        merged(
            operation(
                responses={200: per_type(catalogs("po"), _po)},
                response_media="text/x-gettext-translation",
            ),
            operation(
                responses={200: per_type(catalogs("xliff"), _xliff)},
                response_media="application/xliff+xml",
            ),
        ),
    )  # fmt: skip


# -- reviewers, reputation, task types ------------------------------------------------------------


def grant_reviewer(samples: Samples) -> Fragment:
    granted = {"project_id": samples[0].project_id, "volunteer_id": REVIEWER_ID}
    return operation(
        request=one("A volunteer who will review", {"volunteer_id": REVIEWER_ID}),
        responses={201: one("Granted", granted)},
    )


LIST_REVIEWERS = operation(
    responses={200: one("The project's reviewers", {"items": [REVIEWER_ID]})}
)


def volunteer_reputation(samples: Samples) -> Fragment:
    def standing(s: Sample) -> dict[str, Any]:
        return {
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

    return operation(responses={200: per_type(samples, standing)})


def task_types(samples: Samples) -> Fragment:
    described = [s.task_type.describe() for s in samples]
    return operation(responses={200: one("The registered types", described)})


# -- webhooks -------------------------------------------------------------------------------------

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


def deliveries(samples: Samples) -> Fragment:
    shown = [delivery(samples[0].project_id), delivery(samples[0].project_id, "pending")]
    return operation(
        responses={200: one("Delivered on the second attempt, one waiting", {"items": shown})}
    )


def redeliver(samples: Samples) -> Fragment:
    again = delivery(samples[0].project_id, "pending")
    return operation(responses={202: one("Sent again within a tick", again)})


# -- operations -----------------------------------------------------------------------------------

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

BY_ROUTE: dict[tuple[str, str], RouteExamples] = {
    ("POST", "/v1/orgs"): CREATE_ORG,
    ("DELETE", "/v1/certificates/{certificate_id}"): REVOKE_CERTIFICATE,
    ("GET", "/v1/org"): ORG_PROFILE,
    ("POST", "/v1/org/keys"): CREATE_KEY,
    ("GET", "/v1/org/keys"): LIST_KEYS,
    ("POST", "/v1/invitations"): CREATE_INVITATION,
    ("GET", "/v1/invitations"): LIST_INVITATIONS,
    ("POST", "/v1/projects"): create_project,
    ("GET", "/v1/projects"): list_projects,
    ("GET", "/v1/projects/{project_id}"): get_project,
    ("PATCH", "/v1/projects/{project_id}"): edit_project,
    ("POST", "/v1/projects/{project_id}/tasks"): submit_tasks,
    ("GET", "/v1/projects/{project_id}/tasks/{task_id}"): get_task,
    ("GET", "/v1/projects/{project_id}/results"): results,
    ("GET", "/v1/projects/{project_id}/export"): export,
    ("POST", "/v1/projects/{project_id}/reviewers"): grant_reviewer,
    ("GET", "/v1/projects/{project_id}/reviewers"): LIST_REVIEWERS,
    ("GET", "/v1/projects/{project_id}/volunteers/{volunteer_id}/reputation"): volunteer_reputation,
    ("GET", "/v1/task-types"): task_types,
    ("PUT", "/v1/webhook"): SET_WEBHOOK,
    ("GET", "/v1/webhook"): GET_WEBHOOK,
    ("GET", "/v1/webhook/deliveries"): deliveries,
    ("POST", "/v1/webhook/deliveries/{delivery_id}/redeliver"): redeliver,
    ("GET", "/healthz"): HEALTHZ,
    ("GET", "/readyz"): READYZ,
    ("GET", "/metrics"): METRICS,
}
