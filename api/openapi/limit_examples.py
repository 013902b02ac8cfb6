"""Examples for the routes of an organisation's limits (``api.routes.org_limits``), written like
:mod:`api.openapi.ngo_examples`."""

from __future__ import annotations

from typing import Any

from api.openapi.blocks import one, operation
from api.openapi.samples import RouteExamples

__all__ = ["BY_ROUTE"]

_LIMITS: dict[str, Any] = {
    "bulk_tasks": "60000/minute",
    "quota_tasks": 250_000,
    "quota_payload_bytes": 1_073_741_824,
    "set_by_operator": ["quota_tasks"],
    "usage": {"tasks": 18_250, "payload_bytes": 4_380_000},
}
READ_LIMITS = operation(responses={200: one("Its limits in force, and what it holds", _LIMITS)})
SET_LIMITS = operation(
    request=one(
        "A larger task quota, the rate back to the instance's",
        {
            "quota_tasks": 250_000,
            "bulk_tasks": None,
        },
    ),
    responses={200: one("Its limits in force now", _LIMITS)},
)

BY_ROUTE: dict[tuple[str, str], RouteExamples] = {
    ("GET", "/v1/org/limits"): READ_LIMITS,
    ("GET", "/v1/orgs/{org_id}/limits"): READ_LIMITS,
    ("PUT", "/v1/orgs/{org_id}/limits"): SET_LIMITS,
}
