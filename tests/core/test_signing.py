"""Standard Webhooks signing, checked against the reference ``standardwebhooks`` library."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core.delivery.results import ResultEntry
from core.delivery.signing import (
    delivery_id,
    event_body,
    iso_time,
    secret_key,
    sign,
    signed_headers,
)
from core.delivery.webhooks import new_secret

ENTRY = ResultEntry(
    cursor="1700000000000-0",
    task_id="tsk_1",
    external_id="row-7",
    answer={"text": "Bonjour → Hello", "n": 1},
    confidence=0.875,
    method="agreement",
    decided_at_ms=1_700_000_000_123,
    contributors=["v1", "v2"],
    decision_id="tsk_1",
)


def test_every_signature_verifies_with_the_reference_library() -> None:
    secret = new_secret()
    body = event_body("prj_1", ENTRY)
    now = int(time.time())
    headers = signed_headers(secret, "msg_abc", now, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")


def test_our_signature_is_the_reference_librarys_signature() -> None:
    secret = new_secret()
    body = event_body("prj_1", ENTRY)
    moment = datetime.fromtimestamp(1_700_000_000, tz=UTC)
    expected = Webhook(secret).sign("msg_x", moment, body.decode())
    assert sign(secret, "msg_x", 1_700_000_000, body) == expected


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h | {"webhook-id": "msg_other"}, b),
        lambda h, b: (h | {"webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: (h, b.replace(b"0.875", b"0.999")),
    ],
)
def test_changing_the_id_timestamp_or_body_breaks_the_signature(
    tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]],
) -> None:
    secret = new_secret()
    body = event_body("prj_1", ENTRY)
    headers = signed_headers(secret, "msg_abc", int(time.time()), body)
    changed_headers, changed_body = tamper(headers, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(changed_body, changed_headers)


def test_another_secret_does_not_verify() -> None:
    body = event_body("prj_1", ENTRY)
    headers = signed_headers(new_secret(), "msg_abc", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_the_body_is_compact_json_of_the_result_and_its_project() -> None:
    body = event_body("prj_1", ENTRY)
    assert body == event_body("prj_1", ENTRY)  # the same bytes every time
    assert b": " not in body and b", " not in body
    assert "→".encode() in body  # UTF-8, not \\u escapes
    assert json.loads(body) == {
        "type": "result.ready",
        "timestamp": "2023-11-14T22:13:20.123Z",
        "data": {
            "project_id": "prj_1",
            "task_id": "tsk_1",
            "external_id": "row-7",
            "answer": {"text": "Bonjour → Hello", "n": 1},
            "confidence": 0.875,
            "method": "agreement",
            "decided_at": "2023-11-14T22:13:20.123Z",
            "cursor": "1700000000000-0",
        },
    }
    assert "contributors" not in body.decode()  # the polling shape: no volunteer ids


def test_the_delivery_id_is_stable_and_names_one_result_for_one_org() -> None:
    first = delivery_id("org_a", "prj_1", "1700000000000-0")
    assert first == delivery_id("org_a", "prj_1", "1700000000000-0")
    assert first.startswith("msg_") and len(first) == 36
    others = {
        delivery_id("org_b", "prj_1", "1700000000000-0"),
        delivery_id("org_a", "prj_2", "1700000000000-0"),
        delivery_id("org_a", "prj_1", "1700000000000-1"),
    }
    assert first not in others and len(others) == 3


def test_secrets_must_be_whsec_base64() -> None:
    raw = bytes(range(32))
    assert secret_key("whsec_" + base64.b64encode(raw).decode()) == raw
    for bad in ("", "whsec_", "sk_abc", "whsec_not base64!"):
        with pytest.raises(ValueError, match="webhook secret"):
            secret_key(bad)


def test_iso_time_is_utc_with_milliseconds() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
