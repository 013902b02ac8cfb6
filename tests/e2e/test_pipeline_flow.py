"""The event pipeline end to end, over real HTTP and real processes.

A real ``ruche api`` (uvicorn), a real dramatiq worker process (``ruche worker``) and a real
relay (``ruche relay``), all on the session's Redis. An NGO submits tasks of the three built-in
types; volunteers answer, disagreeing on one task of each type; the agreed results reach the
results cursor exactly once, without anyone calling the pipeline by hand. Midway the relay is
killed with SIGKILL and a new one started: whatever the dead one had read and not acknowledged is
taken over (tests/core/test_relay.py proves the takeover itself). A reviewer settles a
disagreement and its result appears too; the volunteers see their stats and feedback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live_ruche import ADMIN_TOKEN, Cursor, RunningApi, bearer, start, wait_for
from tests.support.processes import stop_group

TASKS_PER_TYPE = 4
DISPUTED = "x-disputed"

PROJECTS: dict[str, dict[str, Any]] = {
    "translation": {"name": "Guide FR->EN", "task_type": "translation", "redundancy": 3},
    "data_entry": {"name": "Donor forms", "task_type": "data_entry", "redundancy": 3},
    "moderation": {"name": "Forum posts", "task_type": "moderation", "redundancy": 3},
}
SOURCES = [
    "Merci de vérifier vos réponses avant de les envoyer.",
    "Chaque mission prend entre dix et trente minutes.",
    "Vous pouvez choisir les langues que vous maîtrisez.",
    "Les associations reçoivent les résultats chaque jour.",
]
TRANSLATIONS = [
    ["Please check your answers before sending them.",
     "Please check your answers before you send them.",
     "Please check your answers before sending them!"],
    ["Each mission takes between ten and thirty minutes.",
     "Every mission takes between ten and thirty minutes.",
     "Each mission takes between ten and thirty minutes!"],
    ["You can choose the languages you master.",
     "You can choose the languages that you master.",
     "You can pick the languages you master."],
    ["The weather is lovely in the mountains today.",
     "My cat sleeps all afternoon on the sofa.",
     "Trains to the coast leave every hour on weekends."],
]  # fmt: skip
NAMES = ["Ada Lovelace", "Grace Hopper", "Katherine Johnson", "Mary Jackson"]


def payload(task_type: str, n: int) -> dict[str, Any]:
    if task_type == "translation":
        return {"source_text": SOURCES[n], "source_lang": "fr", "target_lang": "en"}
    if task_type == "data_entry":
        return {
            "document": {"text": f"Donor: {NAMES[n]}"},
            "fields": [{"name": "name", "type": "string", "required": True}],
        }
    return {"content": f"Post number {n}: hello all!", "labels": ["ok", "spam"]}


def answer_for(task_type: str, body: dict[str, Any], who: int) -> dict[str, Any]:
    """Volunteer ``who``'s answer; the last task of each type is the disputed one."""
    if task_type == "translation":
        n = SOURCES.index(body["source_text"])
        return {"text": TRANSLATIONS[n][who]}
    if task_type == "data_entry":
        n = next(i for i, name in enumerate(NAMES) if name in body["document"]["text"])
        disputed = n == TASKS_PER_TYPE - 1
        return {"values": {"name": NAMES[(n + who) % 4] if disputed else NAMES[n]}}
    n = int(body["content"].split()[2].rstrip(":"))
    disputed = n == TASKS_PER_TYPE - 1
    return {"label": ("spam" if who != 1 else "ok") if disputed else "ok"}


@pytest.fixture
def processes(redis_url: str, tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running = {
        "worker": start(["worker", "--processes", "1", "--threads", "4"], redis_url,
                        tmp_path / "worker.log"),
        "relay": start(["relay"], redis_url, tmp_path / "relay-1.log",
                       RUCHE_RELAY_CLAIM_IDLE_SECONDS="1"),
    }  # fmt: skip
    try:
        yield running
    finally:
        for process in running.values():
            stop_group(process)


def test_results_flow_from_answers_through_the_pipeline_exactly_once(
    running_api: RunningApi,
    redis_url: str,
    tmp_path: Path,
    processes: dict[str, subprocess.Popen[bytes]],
) -> None:
    with httpx.Client(base_url=running_api.base_url, timeout=10) as http:
        org = http.post(
            "/v1/orgs",
            json={"name": "Helping Hands", "contact_email": "ops@example.org"},
            headers=bearer(ADMIN_TOKEN),
        )
        assert org.status_code == 201, org.text
        ngo = bearer(org.json()["api_key"])

        projects: dict[str, str] = {}
        external: dict[str, str] = {}  # external id -> task type
        for task_type, spec in PROJECTS.items():
            made = http.post(
                "/v1/projects", json={**spec, "instructions": "Be careful."}, headers=ngo
            )
            assert made.status_code == 201, made.text
            projects[task_type] = made.json()["id"]
            tasks = []
            for n in range(TASKS_PER_TYPE):
                ext = f"{task_type}-{n}" if n < TASKS_PER_TYPE - 1 else f"{task_type}-{DISPUTED}"
                external[ext] = task_type
                tasks.append({"external_id": ext, "payload": payload(task_type, n)})
            sent = http.post(
                f"/v1/projects/{projects[task_type]}/tasks", json={"tasks": tasks}, headers=ngo
            )
            assert sent.status_code == 200, sent.text
            assert sent.json()["accepted"] == TASKS_PER_TYPE

        # Three volunteers answer every task of every project.
        volunteers = []
        for who in range(3):
            signed = http.post(
                "/v1/volunteers", json={"display_name": f"V{who}", "languages": ["en", "fr"]}
            )
            assert signed.status_code == 201, signed.text
            headers = bearer(signed.json()["token"])
            assert http.post("/v1/me/charter", json={"accept": True}, headers=headers).is_success
            volunteers.append((signed.json()["id"], headers))
            for task_type, project_id in projects.items():
                while True:
                    claim = http.post(
                        "/v1/assignments", json={"project_id": project_id}, headers=headers
                    )
                    if claim.status_code == 204:
                        break
                    assert claim.status_code == 201, claim.text
                    body = claim.json()["task"]["payload"]
                    submitted = http.post(
                        f"/v1/assignments/{claim.json()['id']}/submit",
                        json={"answer": answer_for(task_type, body, who), "seconds_spent": 120},
                        headers=headers,
                    )
                    assert submitted.status_code == 202, submitted.text
            if who == 1:
                # The relay dies without a word; another takes over what it had not acked.
                os.killpg(processes["relay"].pid, signal.SIGKILL)
                processes["relay"].wait()
                processes["relay"] = start(
                    ["relay"], redis_url, tmp_path / "relay-2.log",
                    RUCHE_RELAY_CLAIM_IDLE_SECONDS="1",
                )  # fmt: skip

        # Every agreed task's result reaches the cursor; the disputed ones wait for review.
        cursors = {t: Cursor(http, pid, ngo) for t, pid in projects.items()}
        for task_type, cursor in cursors.items():
            items = cursor.poll_until(TASKS_PER_TYPE - 1)
            assert {i["external_id"] for i in items} == {
                f"{task_type}-{n}" for n in range(TASKS_PER_TYPE - 1)
            }
            assert {i["method"] for i in items} == {"agreement"}
        translated = {i["external_id"]: i["answer"]["text"] for i in cursors["translation"].items}
        assert translated["translation-0"].startswith("Please check your answers")
        entered = cursors["data_entry"].items
        names = {i["external_id"]: i["answer"]["values"]["name"] for i in entered}
        assert names["data_entry-1"] == "Grace Hopper"

        for project_id in projects.values():
            counts = http.get(f"/v1/projects/{project_id}", headers=ngo).json()["counts"]
            assert (counts["resolved"], counts["in_review"]) == (TASKS_PER_TYPE - 1, 1), counts

        # A reviewer settles the disputed moderation post.
        reviewer = http.post("/v1/volunteers", json={"display_name": "R", "languages": ["en"]})
        reviewer_id, reviewer_headers = reviewer.json()["id"], bearer(reviewer.json()["token"])
        http.post("/v1/me/charter", json={"accept": True}, headers=reviewer_headers)
        granted = http.post(
            f"/v1/projects/{projects['moderation']}/reviewers",
            json={"volunteer_id": reviewer_id},
            headers=ngo,
        )
        assert granted.status_code == 201, granted.text
        item = http.post(
            "/v1/reviews", json={"project_id": projects["moderation"]}, headers=reviewer_headers
        )
        assert item.status_code == 201, item.text
        assert item.json()["reason"] == "disagreement"
        # Meanwhile its NGO sees what it would be if nobody came (core.quality.provisional).
        disputed = f"/v1/projects/{projects['moderation']}/tasks/{item.json()['task']['id']}"
        waiting = http.get(disputed, headers=ngo).json()
        assert waiting["state"] == "in_review", waiting
        assert waiting["provisional"]["by"] == "aggregation", waiting
        assert waiting["provisional"]["answer"]["label"] in ("ok", "spam"), waiting
        spam = next(c for c in item.json()["candidates"] if c["answer"]["label"] == "spam")
        decided = http.post(
            f"/v1/reviews/{item.json()['id']}/decision",
            json={"action": "accept", "submission_id": spam["submission_id"], "comment": "ads"},
            headers=reviewer_headers,
        )
        assert decided.status_code == 200, decided.text
        assert http.get(disputed, headers=ngo).json()["provisional"] is None
        settled = cursors["moderation"].poll_until(TASKS_PER_TYPE)[-1]
        assert (settled["external_id"], settled["method"]) == (f"moderation-{DISPUTED}", "review")
        assert settled["answer"]["label"] == "spam"

        # Exactly once: nothing more comes, and every task appears once on each cursor.
        time.sleep(2.0)
        for task_type, cursor in cursors.items():
            assert cursor.poll() == []
            ids = [i["task_id"] for i in cursor.items]
            assert len(ids) == len(set(ids)), task_type
        exported = http.get(
            f"/v1/projects/{projects['moderation']}/export", params={"format": "jsonl"},
            headers=ngo,
        )  # fmt: skip
        lines = [json.loads(line) for line in exported.text.splitlines()]
        assert sorted(line["task_id"] for line in lines) == sorted(
            i["task_id"] for i in cursors["moderation"].items
        )

        # The volunteers see what their work became: stats, and the reviewer's verdict.
        def counted() -> bool:
            me = http.get("/v1/me", headers=volunteers[1][1]).json()
            return bool(me["stats"]["tasks"] == 3 * TASKS_PER_TYPE and me["feedback"])

        wait_for(counted, "stats and feedback of volunteer 1")
        me = http.get("/v1/me", headers=volunteers[1][1]).json()
        # Lease time (claim to submission, here moments), not the 120 s each client reported.
        assert me["stats"]["minutes"] < 3 * TASKS_PER_TYPE * 2
        assert me["stats"]["contribution"]["moderation"]["amount"] == TASKS_PER_TYPE
        assert [f["outcome"] for f in me["feedback"]] == ["overturned"]  # they said "ok"
        assert me["feedback"][0]["comment"] == "ads"
        first = http.get("/v1/me", headers=volunteers[0][1]).json()
        assert [f["outcome"] for f in first["feedback"]] == ["upheld"]
        assert first["stats"]["accepted_rate"] is not None
