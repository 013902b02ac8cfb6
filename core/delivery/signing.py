"""Standard Webhooks signing: the delivery id, the event body and the signature headers.

A result is delivered as one event::

    {"type": "result.ready", "timestamp": "<decided at, ISO 8601>",
     "data": {"project_id": …, "task_id": …, "external_id": …, "answer": …,
              "confidence": …, "method": …, "decided_at": …, "cursor": …}}

``data`` is the result exactly as ``GET /v1/projects/{id}/results`` shows it, plus the project id
and the result's ``cursor`` (pass it as ``after`` to poll from there). The body is compact JSON,
built once per delivery and stored, so every attempt sends the same bytes.

Each attempt carries three headers (https://www.standardwebhooks.com):

- ``webhook-id``: the delivery id, the same on every attempt and every redelivery of one result
  to one organisation, so the receiver can drop duplicates;
- ``webhook-timestamp``: when this attempt was signed, in unix seconds;
- ``webhook-signature``: ``v1,`` + base64 HMAC-SHA256, keyed with the base64-decoded part of the
  ``whsec_…`` secret, over ``"{webhook-id}.{webhook-timestamp}.{body}"``.

Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from core.delivery.results import ResultEntry

__all__ = [
    "CONTENT_TYPE",
    "EVENT_TYPE",
    "delivery_id",
    "event_body",
    "iso_time",
    "secret_key",
    "sign",
    "signed_headers",
]

EVENT_TYPE = "result.ready"
CONTENT_TYPE = "application/json"
_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_ID_PREFIX = "msg_"


def delivery_id(org_id: str, project_id: str, result_id: str) -> str:
    """The stable id of one result's delivery to one organisation (also its ``webhook-id``).

    Derived, not drawn: whichever worker handles the result's event, however often, computes the
    same id. A result is published once per decision, so its feed entry id names it.
    """
    digest = hashlib.sha256(f"{org_id}\n{project_id}\n{result_id}".encode()).digest()
    return _ID_PREFIX + base64.b32encode(digest[:20]).decode().lower()


def iso_time(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with a ``Z`` (``2024-05-01T12:00:00.123Z``)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_body(project_id: str, entry: ResultEntry) -> bytes:
    """The ``result.ready`` event for ``entry``, as compact UTF-8 JSON."""
    decided_at = iso_time(entry.decided_at_ms)
    data: dict[str, Any] = {
        "project_id": project_id,
        "task_id": entry.task_id,
        "external_id": entry.external_id,
        "answer": entry.answer,
        "confidence": entry.confidence,
        "method": entry.method,
        "decided_at": decided_at,
        "cursor": entry.cursor,
    }
    event = {"type": EVENT_TYPE, "timestamp": decided_at, "data": data}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError when it is not one."""
    if not secret.startswith(_SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one attempt."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header an attempt carries besides the transport's own."""
    return {
        "content-type": CONTENT_TYPE,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
