"""The client's retries and back-off, against a real local HTTP server answering from a script.

The server is real (sockets, HTTP/1.1, dropped connections); only the waiting is recorded
instead of slept, through the policy's own ``sleep`` hook, so the delays can be checked exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.redis.server import free_port
from producers import NewProject, RetryPolicy, RucheClient, RucheConnectionError, RucheError
from producers.bulk import chunk_key, submit_in_chunks
from producers.retry import parse_retry_after
from tests.support.servers.scripted_server import Reply, ScriptedServer, error_body

OUTCOME = json.dumps({"accepted": 2, "duplicates": 0, "rejected": [], "task_ids": ["t1", "t2"]})
PROJECT = json.dumps(
    {
        "id": "prj_x",
        "name": "n",
        "task_type": "moderation",
        "redundancy": 3,
        "lease_seconds": 600,
        "priority": 0,
        "state": "active",
        "created_at": "2030-01-01T00:00:00Z",
        "updated_at": "2030-01-01T00:00:00Z",
    }
).encode()
SPEC = NewProject(name="n", task_type="moderation", instructions="Label it.")
TASKS = [{"external_id": "a", "payload": {"content": "x", "labels": ["ok", "spam"]}}] * 2


def unavailable(retry_after: str | None = None, status: int = 503) -> Reply:
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Reply(status, error_body("unavailable", "retry shortly"), headers)


def client_for(url: str, delays: list[float], **policy: float) -> RucheClient:
    retry = RetryPolicy(
        attempts=int(policy.get("attempts", 4)),
        base_delay=policy.get("base_delay", 0.5),
        max_delay=policy.get("max_delay", 1.5),
        sleep=delays.append,
        jitter=lambda: policy.get("jitter", 1.0),
    )
    return RucheClient(url, "rk_org_test", retry=retry, timeout=5)


@dataclass
class Scene:
    server: ScriptedServer
    client: RucheClient


@contextmanager
def scripted(
    *replies: Reply, delays: list[float], default: Reply | None = None, **policy: float
) -> Iterator[Scene]:
    """A scripted server and a client of it whose waits go into ``delays``."""
    server = ScriptedServer(*replies, default=default)
    with server, client_for(server.url, delays, **policy) as client:
        yield Scene(server, client)


def test_503_is_retried_after_the_delay_its_retry_after_names() -> None:
    delays: list[float] = []
    with scripted(unavailable("2"), Reply(body=b'{"items": []}'), delays=delays) as scene:
        assert scene.client.list_projects() == []
    assert delays == [2.0]
    assert len(scene.server.seen) == 2
    assert scene.server.seen[1].headers["Authorization"] == "Bearer rk_org_test"


def test_429_without_retry_after_backs_off_exponentially_up_to_the_cap() -> None:
    delays: list[float] = []
    replies = [unavailable(status=429)] * 3 + [Reply(body=b'{"items": []}')]
    with scripted(*replies, delays=delays) as scene:
        scene.client.list_projects()
    assert delays == [0.5, 1.0, 1.5]  # 0.5 * 2**n, capped at max_delay


def test_the_jitter_scales_each_delay_within_its_ceiling() -> None:
    delays: list[float] = []
    replies = [unavailable(status=429)] * 3 + [Reply(body=b'{"items": []}')]
    with scripted(*replies, delays=delays, jitter=0.25) as scene:
        scene.client.list_projects()
    assert delays == [0.125, 0.25, 0.375]
    # With the real random jitter every delay stays in [0, ceiling].
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    for attempt in range(8):
        assert 0.0 <= policy.backoff(attempt) <= min(30.0, 0.5 * 2**attempt)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(later, now=lambda: now) == 7.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
    delays: list[float] = []
    stamp = format_datetime(datetime.now(tz=UTC) + timedelta(seconds=60), usegmt=True)
    with scripted(unavailable(stamp), Reply(body=b'{"items": []}'), delays=delays) as scene:
        scene.client.list_projects()
    assert len(delays) == 1 and 55.0 <= delays[0] <= 60.0


def test_after_the_last_attempt_the_servers_error_is_raised() -> None:
    delays: list[float] = []
    with (
        scripted(default=unavailable("0"), delays=delays, attempts=3) as scene,
        pytest.raises(RucheError) as raised,
    ):
        scene.client.get_project("prj_x")
    assert (raised.value.status, raised.value.code) == (503, "unavailable")
    assert len(scene.server.seen) == 3 and delays == [0.0, 0.0]


def test_a_refusal_is_not_retried_and_carries_the_api_error_shape() -> None:
    details = [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]
    refusal = Reply(422, error_body("invalid_request", "the request is not valid", details))
    delays: list[float] = []
    with scripted(refusal, delays=delays) as scene, pytest.raises(RucheError) as raised:
        scene.client.create_project(SPEC)
    error = raised.value
    assert (error.status, error.code, error.message) == (
        422, "invalid_request", "the request is not valid"
    )  # fmt: skip
    assert error.details == details
    assert "body.name: Field required" in error.describe()
    assert len(scene.server.seen) == 1 and delays == []


def test_an_answer_not_in_the_error_shape_still_raises_a_ruche_error() -> None:
    page = Reply(502, b"<html>Bad gateway</html>", {"content-type": "text/html"})
    with scripted(page, delays=[]) as scene, pytest.raises(RucheError) as raised:
        scene.client.list_projects()
    assert (raised.value.status, raised.value.code) == (502, "http_502")


def test_a_refused_connection_is_retried_even_for_a_post_then_reported() -> None:
    delays: list[float] = []
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with (
        client_for(url, delays, attempts=3) as client,
        pytest.raises(RucheConnectionError) as raised,
    ):
        client.create_project(SPEC)
    assert raised.value.code == "connection_error"
    assert len(delays) == 2  # nothing was sent: trying again cannot create two projects


def test_a_post_dropped_after_sending_is_not_repeated_without_an_idempotency_key() -> None:
    delays: list[float] = []
    with (
        scripted(Reply(drop=True), Reply(201, PROJECT), delays=delays) as scene,
        pytest.raises(RucheConnectionError),
    ):
        scene.client.create_project(SPEC)
    assert len(scene.server.seen) == 1  # the server may have made the project: not sent twice


def test_a_dropped_bulk_chunk_is_sent_again_with_the_same_idempotency_key() -> None:
    delays: list[float] = []
    with scripted(Reply(drop=True), Reply(body=OUTCOME.encode()), delays=delays) as scene:
        outcome = scene.client.submit_tasks("prj_x", TASKS, idempotency_key="key-1")
    assert outcome.accepted == 2
    assert [seen.headers["Idempotency-Key"] for seen in scene.server.seen] == ["key-1", "key-1"]
    assert scene.server.seen[0].body == scene.server.seen[1].body
    assert scene.server.seen[0].headers["Content-Type"] == "application/x-ndjson"


def test_idempotency_in_progress_is_waited_out() -> None:
    busy = Reply(409, error_body("idempotency_in_progress", "still running"))
    delays: list[float] = []
    with scripted(busy, Reply(body=OUTCOME.encode()), delays=delays) as scene:
        assert scene.client.submit_tasks("prj_x", TASKS, idempotency_key="k").accepted == 2
    assert len(scene.server.seen) == 2 and delays == [0.5]


def test_chunk_keys_are_the_same_on_every_run_and_change_with_the_content() -> None:
    items = [{"external_id": f"e{n}", "payload": {"n": n}} for n in range(5)]
    runs: list[list[str]] = []
    replayed = Reply(body=OUTCOME.encode(), headers={"Idempotent-Replayed": "true"})
    for reply in (Reply(body=OUTCOME.encode()), replayed):
        with scripted(default=reply, delays=[]) as scene:
            report = submit_in_chunks(scene.client, "prj_x", items, source="file:abc", chunk_size=2)
        runs.append([seen.headers["Idempotency-Key"] for seen in scene.server.seen])
        assert report.chunks == 3
    assert runs[0] == runs[1] and len(set(runs[0])) == 3
    assert report.created == 0 and report.already_there == 6 and report.replayed_chunks == 3
    body = b'{"payload":{}}\n'
    assert chunk_key("p", "s", 0, body) != chunk_key("p", "s", 0, body + b"\n")
    assert chunk_key("p", "s", 0, body) != chunk_key("p", "s", 1, body)
    assert chunk_key("p", "s", 0, body) != chunk_key("q", "s", 0, body)


def test_an_export_dropped_before_its_first_byte_is_asked_for_again() -> None:
    """A GET is harmless to repeat, and nothing has reached the caller yet."""
    po = Reply(body=b'msgid ""\nmsgstr ""\n', headers={"content-type": "text/x-gettext"})
    delays: list[float] = []
    with scripted(Reply(drop=True), po, delays=delays) as scene:
        assert b"".join(scene.client.iter_export("prj_x", "po")) == b'msgid ""\nmsgstr ""\n'
    assert [seen.path for seen in scene.server.seen] == ["/v1/projects/prj_x/export?format=po"] * 2
    assert delays == [0.5]


def test_an_export_that_keeps_dropping_is_reported_as_a_connection_error() -> None:
    delays: list[float] = []
    with (
        scripted(default=Reply(drop=True), delays=delays, attempts=3) as scene,
        pytest.raises(RucheConnectionError) as raised,
    ):
        b"".join(scene.client.iter_export("prj_x", "xliff"))
    assert len(scene.server.seen) == 3 and len(delays) == 2
    assert "0 bytes received" in raised.value.message
