"""A claim whose reply is lost on its way back from Redis (a connection cut, a master killed
after it ran the script): the volunteer is answered 503, and the lease the claim took all the
same is handed back by the API within seconds (core/board/hand_backs.py), not held for the whole
lease while nobody works on its task.

A real ``ruche api`` process reaches the session's real Redis through a real TCP proxy
(tests/support/servers/reply_cutter.py) that drops the reply to the claim script's EVALSHA.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import redis

from core.redis.keys import Keys
from core.redis.scripts import ScriptName, load_all
from core.redis.server import free_port
from tests.support.cluster_flow import start_api
from tests.support.crash_run import payload
from tests.support.live_ruche import ADMIN_TOKEN, bearer, sign_up, wait_for
from tests.support.servers.reply_cutter import ReplyCutter


def test_the_lease_of_a_claim_whose_reply_was_lost_is_handed_back(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    # Loaded beforehand, so the claim's EVALSHA runs at once (no NOSCRIPT reply to cut instead).
    claim_sha = load_all(redis_client)[ScriptName.CLAIM]
    with ReplyCutter.in_front_of(redis_url) as cutter:
        env = {"RUCHE_REDIS_URL": cutter.url(redis_url), "RUCHE_ADMIN_TOKEN": ADMIN_TOKEN}
        api = start_api(free_port(), env, tmp_path / "api.log")
        try:
            with httpx.Client(base_url=api.base_url, timeout=30) as http:
                org = http.post("/v1/orgs", json={"name": "NGO", "contact_email": "o@example.org"},
                                headers=bearer(ADMIN_TOKEN))  # fmt: skip
                assert org.status_code == 201, org.text
                ngo = bearer(org.json()["api_key"])
                spec = {"name": "Posts", "task_type": "moderation", "redundancy": 1,
                        "instructions": "Label the post."}  # fmt: skip
                project = http.post("/v1/projects", json=spec, headers=ngo)
                assert project.status_code == 201, project.text
                project_id = project.json()["id"]
                task = {"external_id": "post-1", "payload": payload("moderation", 1)}
                sent = http.post(f"/v1/projects/{project_id}/tasks", json={"tasks": [task]},
                                 headers=ngo)  # fmt: skip
                assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
                volunteer_id, volunteer = sign_up(http, "Volunteer")

                cutter.cut_reply_to(claim_sha.encode())
                lost = http.post("/v1/assignments", json={}, headers=volunteer)
                assert lost.status_code == 503, lost.text
                assert lost.json()["error"]["code"] == "redis_unavailable", lost.text
                assert cutter.cut.is_set()

                # Redis ran the claim: the lease is there, though nobody heard of it.
                leases = Keys().project(project_id).assignments
                [(assignment_id, raw)] = redis_client.hgetall(leases).items()
                assert json.loads(raw)["vol"] == volunteer_id

                def handed_back() -> bool:
                    record = json.loads(str(redis_client.hget(leases, assignment_id)))
                    return bool(record["state"] == "released")

                wait_for(handed_back, "the lost claim's lease handed back", timeout=30)
                assert json.loads(str(redis_client.hget(leases, assignment_id)))["reason"] == (
                    "reply_lost"
                )
                # The volunteer never saw the task: their next claim may serve it.
                again = http.post("/v1/assignments", json={}, headers=volunteer)
                assert again.status_code == 201, again.text
                assert again.json()["task"]["id"] == json.loads(raw)["task"]
        finally:
            api.stop()
