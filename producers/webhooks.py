"""Checking, in an NGO's own receiver, that a webhook delivery really comes from Ruche.

Ruche signs every delivery the Standard Webhooks way (https://www.standardwebhooks.com, and
``core/delivery/signing.py`` on the server side)::

    webhook-id:        msg_…   (the same on every retry of one result: use it to drop repeats)
    webhook-timestamp: 1714564800
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

keyed with the base64-decoded part of the ``whsec_…`` secret that ``PUT /v1/webhook`` returned.
In a receiver (any framework; the *raw* body bytes are needed, not re-serialised JSON)::

    from producers.webhooks import WebhookVerificationError, verify

    try:
        event = verify(request.headers, raw_body, secret=os.environ["RUCHE_WEBHOOK_SECRET"])
    except WebhookVerificationError:
        return 400
    result = event["data"]   # {"project_id", "task_id", "external_id", "answer", …}

The comparison is constant-time (``hmac.compare_digest``), several space-separated signatures
are accepted (a sender rotating its secret signs with both), and a timestamp further than
``tolerance`` seconds from now is refused, so a captured delivery cannot be replayed later.
Plain ``hmac`` rather than the ``standardwebhooks`` package: that one fixes the tolerance at
five minutes, and this helper adds no dependency (the tests check the two agree).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_TOLERANCE_S", "WebhookVerificationError", "sign", "verify"]

DEFAULT_TOLERANCE_S = 300.0
_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class WebhookVerificationError(ValueError):
    """The delivery is not provably from Ruche: refuse it (answer 400 or 401)."""


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    else:
        try:
            key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookVerificationError("the secret is not whsec_ followed by base64") from None
    if not key:
        raise WebhookVerificationError("the secret is empty")
    return key


def sign(secret: str | bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for ``body`` (tests, re-signing)."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    return (
        "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()
    )


def verify(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | bytes,
    tolerance: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> Any:
    """The event (parsed JSON) when the signature holds; WebhookVerificationError otherwise.

    ``headers`` may be any mapping (names are matched case-insensitively); ``now`` (unix
    seconds) is for tests."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not unix seconds") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("the delivery is too old (webhook-timestamp)")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("the delivery is from the future (webhook-timestamp)")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    expected = sign(secret, msg_id, timestamp, raw).split(",", 1)[1].encode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            try:
                return json.loads(raw)
            except ValueError:
                raise WebhookVerificationError("the body is not JSON") from None
    raise WebhookVerificationError("no signature matches")
