"""No sensitive value ever reaches a log line, a metrics page or an error response.

Real processes only (``capture_logs`` would bypass the processors that redact): a real uvicorn
(``ruche api``), a real dramatiq worker (``ruche worker``, serving its Prometheus metrics) and a
real relay, all logging JSON to files. Unique canary strings are planted in every sensitive field
of every built-in task type (and of a plugin type), in the volunteers' answers and in a webhook
receiver's error body. The whole flow runs: bulk submission (JSON and NDJSON), claims, answers,
aggregation, results, webhook deliveries (one refused, one delivered); the plugin type's
aggregation fails inside the actor with the content in its frames' locals and a pydantic error
quoting it as the cause. Requests with canaries in invalid bodies get their 4xx. Then no canary
(nor any token or secret) may appear in any process's output, on either metrics page, or in
any error response; every log line is JSON, and one request's id is found on the lines of the
actors that handled the work it caused.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.redis.server import free_port
from tests.support import canary_task_type
from tests.support.delivery import Answer, receiving
from tests.support.live_ruche import ADMIN_TOKEN, Cursor, RunningApi, bearer, start, wait_for
from tests.support.processes import stop_group as stop

MARK = "CANARY" + uuid.uuid4().hex[:12].upper()
TRACE = "trace-" + uuid.uuid4().hex


def canary(where: str) -> str:
    return f"{MARK}-{where}"


TASKS: dict[str, list[dict[str, Any]]] = {
    "translation": [
        {
            "source_text": f"Le code de la porte est {canary(f'source-{n}')}.",
            "source_lang": "fr",
            "target_lang": "en",
            "context": canary(f"context-{n}"),
        }
        for n in range(2)
    ],
    "data_entry": [
        {
            "document": {"text": f"Donor: {canary(f'document-{n}')}"},
            "fields": [{"name": "donor", "type": "string"}],
        }
        for n in range(2)
    ],
    "moderation": [
        {"content": f"Post {canary(f'post-{n}')}", "labels": ["ok", "spam"]} for n in range(2)
    ],
    canary_task_type.NAME: [{"content": canary("boom"), "labels": ["ok", "spam"]}],
}
REDUNDANCY = {"translation": 2, "data_entry": 2, "moderation": 2, canary_task_type.NAME: 1}


def answer(task_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Both volunteers give the same answer, so every built-in task is agreed on."""
    if task_type == "translation":
        n = payload["source_text"].rsplit("-", 1)[1].rstrip(".")
        return {"text": f"The door code is {canary(f'translation-{n}')}."}
    if task_type == "data_entry":
        n = payload["document"]["text"].rsplit("-", 1)[1]
        return {"values": {"donor": canary(f"value-{n}")}}
    return {"label": "spam", "reasons": [canary("reason")]}


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The canary task type installed as a plugin for every process started afterwards."""
    site = tmp_path / "plugins"
    info = site / "ruche_canary_plugin-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ruche-canary-plugin\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        f"[ruche.task_types]\n{canary_task_type.NAME} = tests.support.canary_task_type:TASK_TYPE\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


@pytest.fixture
def pipeline(
    plugin_path: Path, redis_url: str, tmp_path: Path
) -> Iterator[tuple[dict[str, subprocess.Popen[bytes]], int]]:
    metrics_port = free_port()
    running = {
        "worker": start(
            ["worker", "--processes", "1", "--threads", "4"], redis_url, tmp_path / "worker.log",
            RUCHE_WEBHOOK_ALLOW_PRIVATE="1", RUCHE_WORKER_METRICS_PORT=str(metrics_port),
            RUCHE_HOST="127.0.0.1", RUCHE_DATA_DIR=str(tmp_path / "data"),
        ),
        "relay": start(["relay"], redis_url, tmp_path / "relay.log"),
    }  # fmt: skip
    try:
        yield running, metrics_port
    finally:
        for process in running.values():
            stop(process)


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a process's output, each of which must be a JSON object."""
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"{path.name}:{number} is not structured: {line[:200]!r}")
    return lines


def sample(text: str, name: str, **labels: str) -> float | None:
    """One sample's value in a Prometheus text page (labels in any order), or None."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def exception_stacks(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [line["exception"] for line in lines if isinstance(line.get("exception"), list)]


def test_no_canary_in_logs_metrics_or_error_responses(
    plugin_path: Path,
    running_api: RunningApi,
    pipeline: tuple[dict[str, subprocess.Popen[bytes]], int],
    redis_url: str,
    tmp_path: Path,
) -> None:
    processes, metrics_port = pipeline
    secrets: list[str] = []
    errors: list[httpx.Response] = []
    refused_delivery = Answer(status=503, body=canary("receiver-body").encode())
    with (
        receiving(refused_delivery) as receiver,
        httpx.Client(base_url=running_api.base_url, timeout=10) as http,
    ):
        org = http.post(
            "/v1/orgs",
            json={"name": "Canary Care", "contact_email": "ops@example.org"},
            headers=bearer(ADMIN_TOKEN),
        )
        assert org.status_code == 201, org.text
        secrets.append(org.json()["api_key"])
        ngo = bearer(org.json()["api_key"])
        hook = http.put("/v1/webhook", json={"url": receiver.url}, headers=ngo)
        assert hook.status_code == 200, hook.text
        secrets.append(hook.json()["secret"])

        # Bulk submission: the first task of each type as JSON, the second as NDJSON.
        projects: dict[str, str] = {}
        for task_type, payloads in TASKS.items():
            made = http.post(
                "/v1/projects",
                json={
                    "name": f"Canary {task_type}",
                    "task_type": task_type,
                    "redundancy": REDUNDANCY[task_type],
                    "instructions": "Answer carefully.",
                    # Two agreeing moderation votes are 0.84 sure: enough for this test.
                    "review": {"agreement": 0.8},
                },
                headers=ngo,
            )
            assert made.status_code == 201, made.text
            projects[task_type] = made.json()["id"]
            path = f"/v1/projects/{projects[task_type]}/tasks"
            first = http.post(path, json={"tasks": [{"payload": payloads[0]}]}, headers=ngo)
            assert (first.status_code, first.json()["accepted"]) == (200, 1), first.text
            for payload in payloads[1:]:
                ndjson = {**ngo, "Content-Type": "application/x-ndjson"}
                more = http.post(path, content=json.dumps({"payload": payload}), headers=ndjson)
                assert (more.status_code, more.json()["accepted"]) == (200, 1), more.text

        # Two volunteers answer everything; one answer carries the traced request id.
        traced_answer = None
        for who in range(2):
            signed = http.post(
                "/v1/volunteers", json={"display_name": f"V{who}", "languages": ["fr", "en"]}
            )
            assert signed.status_code == 201, signed.text
            secrets.append(signed.json()["token"])
            volunteer = bearer(signed.json()["token"])
            assert http.post("/v1/me/charter", json={"accept": True}, headers=volunteer).is_success
            for task_type, project_id in projects.items():
                while True:
                    claim = http.post(
                        "/v1/assignments", json={"project_id": project_id}, headers=volunteer
                    )
                    if claim.status_code == 204:
                        break
                    assert claim.status_code == 201, claim.text
                    body = claim.json()
                    headers = dict(volunteer)
                    if who == 1 and task_type == "translation" and traced_answer is None:
                        headers["X-Request-ID"] = TRACE  # this answer completes its task
                        traced_answer = body["task"]["id"]
                    sent = http.post(
                        f"/v1/assignments/{body['id']}/submit",
                        json={"answer": answer(task_type, body["task"]["payload"])},
                        headers=headers,
                    )
                    assert sent.status_code == 202, sent.text
                    if headers.get("X-Request-ID") == TRACE:
                        assert sent.headers["X-Request-ID"] == TRACE
        assert traced_answer is not None

        # Invalid requests carrying canaries: refused, and the refusal never echoes them.
        translation_tasks = f"/v1/projects/{projects['translation']}/tasks"
        moderation_tasks = f"/v1/projects/{projects['moderation']}/tasks"
        bad_items = {
            "tasks": [
                {"payload": {**TASKS["translation"][0], "source_lang": canary("bad-lang")}},
                {"payload": {"source_text": 5, "context": canary("bad-context")}},
                {"external_id": "x", "payload": {"content": canary("bad-extra"), "labels": []}},
            ]
        }
        rejected = http.post(translation_tasks, json=bad_items, headers=ngo)
        assert rejected.status_code == 200 and len(rejected.json()["rejected"]) == 3
        errors.append(rejected)
        errors.append(http.post(translation_tasks, json={"tasks": canary("tasks")}, headers=ngo))
        broken = b'{"tasks": [{"payload": {"source_text": "' + canary("broken").encode()
        errors.append(http.post(translation_tasks, content=broken, headers=ngo))
        lines = {**ngo, "Content-Type": "application/x-ndjson"}
        errors.append(http.post(translation_tasks, content=canary("ndjson") + "\n{", headers=lines))
        errors.append(
            http.post(
                "/v1/projects",
                json={"name": "x", "task_type": canary("type"), "redundancy": canary("r")},
                headers=ngo,
            )
        )
        spare = http.post(
            moderation_tasks,
            json={"tasks": [{"payload": {"content": canary("spare"), "labels": ["ok", "spam"]}}]},
            headers=ngo,
        )
        assert spare.json()["accepted"] == 1, spare.text
        third = http.post("/v1/volunteers", json={"display_name": "V3", "languages": ["en"]})
        secrets.append(third.json()["token"])
        volunteer = bearer(third.json()["token"])
        http.post("/v1/me/charter", json={"accept": True}, headers=volunteer)
        claim = http.post(
            "/v1/assignments", json={"project_id": projects["moderation"]}, headers=volunteer
        )
        assert claim.status_code == 201, claim.text
        submit = f"/v1/assignments/{claim.json()['id']}/submit"
        for bad_answer in (
            {"answer": {"label": canary("label")}},
            {"answer": {"label": "ok", "reasons": [canary("long") * 200]}},
            {"answer": {"label": "ok", "note": canary("extra")}},
            {"answer": canary("answer")},
        ):
            errors.append(http.post(submit, json=bad_answer, headers=volunteer))
        for refused in errors[1:]:
            if refused.status_code == 200:  # a bad NDJSON line is one rejected item
                assert refused.json()["rejected"], refused.text
            else:
                assert refused.status_code == 422, refused.text
                assert refused.json()["error"]["code"], refused.text

        # The pipeline did its work: results, deliveries, and the plugin's failure.
        for task_type in ("translation", "data_entry", "moderation"):
            Cursor(http, projects[task_type], ngo).poll_until(2)
        wait_for(lambda: len(receiver.requests) >= 6, "six webhook deliveries (one refused)")
        worker_log = tmp_path / "worker.log"
        wait_for(
            lambda: any(
                s["exc_type"] == "ValidationError"
                for stacks in exception_stacks(log_lines(worker_log))
                for s in stacks
            ),
            "the forced failure in the plugin's aggregation",
        )
        api_metrics = http.get("/metrics")
        assert api_metrics.status_code == 200
        assert sample(api_metrics.text, "ruche_claims_total", outcome="claimed") == 14
        pages: list[str] = []

        def delivered() -> bool:
            try:  # dramatiq starts the metrics server once its workers are up
                page = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
            except httpx.TransportError:
                return False
            pages.append(page.text)
            return sample(pages[-1], "ruche_webhook_deliveries_total", outcome="delivered") == 5

        wait_for(delivered, "five deliveries on the workers' metrics page")
        worker_metrics = pages[-1]
        assert sample(worker_metrics, "ruche_webhook_deliveries_total", outcome="retrying") == 1
        processed = {"actor_name": "tasks.aggregate", "queue_name": "tasks"}
        assert (sample(worker_metrics, "dramatiq_messages_total", **processed) or 0) >= 7
        assert (sample(worker_metrics, "dramatiq_message_errors_total", **processed) or 0) >= 1

    for name in ("relay", "worker"):
        stop(processes[name])  # their last lines are written before the logs are read
    outputs = {
        "api": running_api.log,
        "worker": tmp_path / "worker.log",
        "relay": tmp_path / "relay.log",
    }
    for name, log in outputs.items():
        text = log.read_text()
        assert MARK not in text, f"a canary reached the {name}'s log"
        for secret in secrets:
            assert secret not in text, f"a token or secret reached the {name}'s log"
        log_lines(log)  # every line structured
    for page in (api_metrics.text, *pages):
        assert MARK not in page
    for refused in errors:
        assert MARK not in refused.text, refused.text

    # The failure was logged with its cause, and without a single frame's locals.
    worker = log_lines(outputs["worker"])
    [stacks, *_] = [
        s for s in exception_stacks(worker) if any(x["exc_type"] == "RuntimeError" for x in s)
    ]
    assert [s["exc_type"] for s in stacks] == ["RuntimeError", "ValidationError"]
    assert all("locals" not in frame for s in stacks for frame in s["frames"])

    # One request's id follows its answer into the actors that handled it.
    traced = {line.get("actor") for line in worker if line.get("request_id") == TRACE}
    assert {"tasks.aggregate", "stats.record"} <= traced
    assert any(line.get("request_id") == TRACE for line in log_lines(running_api.log))
