"""``ruche up`` on a Redis that speaks only TLS: every process reaches it through ``rediss://``.

The server's plain port is closed, so each piece that works proves its own TLS connection: the
API (its redis-py client and the multiplexed connection of the claim and submission), the relay
(the answer's event), the dramatiq broker and the workers (the aggregation of the answer), and the
scheduler (the retention lock its first tick takes).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

from tests.support.processes import wait_until
from tests.support.ruche_up import EXIT_TIMEOUT, ruche_env, ruche_up, wait_until_ready
from tests.support.tls import TlsRedis

ADMIN_TOKEN = "rk_admin_" + "tls" * 12
WAIT_S = 60.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_process_of_ruche_up_works_over_tls(tmp_path: Path, tls_redis: TlsRedis) -> None:
    with redis.Redis.from_url(tls_redis.url, decode_responses=True) as check:
        check.flushall()
        env = ruche_env(tmp_path, RUCHE_REDIS_URL=tls_redis.url, RUCHE_ADMIN_TOKEN=ADMIN_TOKEN)
        with ruche_up(tmp_path, env) as up:
            wait_until_ready(up)
            with httpx.Client(base_url=up.base_url, timeout=10) as http:
                counts = claim_and_submit_one_task(http)
                # A lone answer is not enough agreement: the aggregation sends it to review.
                wait_until(lambda: counts()["in_review"] == 1, "the aggregation", WAIT_S, 0.2)
            assert check.exists("ruche:dramatiq:__heartbeats__")  # the workers' broker
            assert check.exists("ruche:retention:lock")  # the scheduler's first tick

            up.process.send_signal(signal.SIGTERM)
            assert up.process.wait(timeout=EXIT_TIMEOUT) == 0, up.output()
        logs = up.output()
        for failure in ("tick_failed", "Error connecting", "SSL"):
            assert failure not in logs, logs


def claim_and_submit_one_task(http: httpx.Client) -> Callable[[], dict[str, int]]:
    """An NGO's one-task project, answered once by a volunteer; a function reading its counts."""
    org = http.post(
        "/v1/orgs",
        json={"name": "Helping Hands", "contact_email": "ops@example.org"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert org.status_code == 201, org.text
    ngo = bearer(org.json()["api_key"])
    project = http.post(
        "/v1/projects",
        json={
            "name": "Clinic leaflets",
            "task_type": "translation",
            "instructions": "Translate the sentence.",
            "redundancy": 1,
        },
        headers=ngo,
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    task = {"source_text": "Wash your hands.", "source_lang": "en", "target_lang": "fr"}
    sent = http.post(f"/v1/projects/{project_id}/tasks", json={"tasks": [{"payload": task}]},
                     headers=ngo)  # fmt: skip
    assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text

    signed = http.post("/v1/volunteers", json={"display_name": "Ada", "languages": ["en", "fr"]})
    assert signed.status_code == 201, signed.text
    volunteer = bearer(signed.json()["token"])
    assert http.post("/v1/me/charter", json={"accept": True}, headers=volunteer).is_success
    claim = http.post("/v1/assignments", json={"project_id": project_id}, headers=volunteer)
    assert claim.status_code == 201, claim.text
    submitted = http.post(
        f"/v1/assignments/{claim.json()['id']}/submit",
        json={"answer": {"text": "Lavez-vous les mains."}, "seconds_spent": 60},
        headers=volunteer,
    )
    assert submitted.status_code == 202, submitted.text

    def counts() -> dict[str, int]:
        page = http.get(f"/v1/projects/{project_id}", headers=ngo)
        assert page.status_code == 200, page.text
        return dict(page.json()["counts"])

    return counts
