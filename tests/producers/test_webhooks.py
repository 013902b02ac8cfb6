"""The NGO's webhook check (``producers.webhooks.verify``) against what Ruche really signs.

Deliveries are signed by the server's own code (``core.delivery.signing``) with a secret made the
way ``PUT /v1/webhook`` makes it (``core.delivery.webhooks.new_secret``); the reference library
``standardwebhooks`` must agree with every verdict on a fresh delivery.
"""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceError

from core.delivery.results import ResultEntry
from core.delivery.signing import delivery_id, event_body, sign, signed_headers
from core.delivery.webhooks import new_secret
from producers import webhooks
from producers.webhooks import WebhookVerificationError, verify

ENTRY = ResultEntry(
    cursor="1714564800000-0",
    task_id="t0000000001",
    external_id="guide-1",
    answer={"text": "Welcome to our short guide."},
    confidence=0.93,
    method="agreement",
    decided_at_ms=1714564800000,
    contributors=[],
    decision_id="dec_1",
)


def delivery(secret: str, at: int | None = None) -> tuple[dict[str, str], bytes]:
    body = event_body("prj_demo", ENTRY)
    msg_id = delivery_id("org_1", "prj_demo", ENTRY.cursor)
    return signed_headers(secret, msg_id, int(time.time()) if at is None else at, body), body


def test_a_delivery_signed_by_ruche_verifies_and_gives_the_event() -> None:
    secret = new_secret()
    headers, body = delivery(secret)
    event = verify(headers, body, secret)
    assert event["type"] == "result.ready"
    assert event["data"]["external_id"] == "guide-1"
    assert event["data"]["answer"] == {"text": "Welcome to our short guide."}
    assert Webhook(secret).verify(body, headers) == event  # the reference library agrees
    # Header names in any case, as frameworks pass them; the body as text works too.
    assert verify({k.title(): v for k, v in headers.items()}, body.decode(), secret) == event


def test_the_helper_signs_exactly_as_the_server_does() -> None:
    secret = new_secret()
    assert webhooks.sign(secret, "msg_1", 1714564800, b"{}") == sign(
        secret, "msg_1", 1714564800, b"{}"
    )


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "id", "timestamp", "signature_version", "missing_header"],
)
def test_anything_changed_or_missing_is_refused(tamper: str) -> None:
    secret = new_secret()
    headers, body = delivery(secret)
    if tamper == "body":
        body = body.replace(b"0.93", b"0.99")
    elif tamper == "secret":
        secret = new_secret()
    elif tamper == "id":
        headers["webhook-id"] = "msg_someone_else"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    elif tamper == "signature_version":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    else:
        del headers["webhook-signature"]
    with pytest.raises(WebhookVerificationError):
        verify(headers, body, secret)
    with pytest.raises(ReferenceError):
        Webhook(secret).verify(body, headers)


def test_an_old_delivery_is_refused_unless_the_tolerance_allows_it() -> None:
    secret = new_secret()
    signed_at = int(time.time()) - 600
    headers, body = delivery(secret, at=signed_at)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(headers, body, secret)  # default tolerance: five minutes
    with pytest.raises(ReferenceError):
        Webhook(secret).verify(body, headers)
    assert verify(headers, body, secret, tolerance=3600)["type"] == "result.ready"
    future, _ = delivery(secret, at=int(time.time()) + 600)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(future, body, secret)
    assert verify(headers, body, secret, now=signed_at + 299)["type"] == "result.ready"
    with pytest.raises(WebhookVerificationError):
        verify(headers, body, secret, now=signed_at + 301)


def test_one_good_signature_among_several_is_enough() -> None:
    secret, old = new_secret(), new_secret()
    headers, body = delivery(secret)
    stale = sign(old, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    headers["webhook-signature"] = f"{stale} {headers['webhook-signature']}"
    assert verify(headers, body, secret)["data"]["task_id"] == "t0000000001"
    assert Webhook(secret).verify(body, headers)["data"]["task_id"] == "t0000000001"


def test_malformed_inputs_are_refused_not_crashed_on() -> None:
    secret = new_secret()
    headers, body = delivery(secret)
    for bad_headers in (
        {**headers, "webhook-timestamp": "yesterday"},
        {**headers, "webhook-signature": "garbage"},
        {**headers, "webhook-signature": "v1,"},
    ):
        with pytest.raises(WebhookVerificationError):
            verify(bad_headers, body, secret)
    with pytest.raises(WebhookVerificationError):
        verify(headers, body, "whsec_not base64!")
    with pytest.raises(WebhookVerificationError):
        verify(headers, body, "whsec_")
