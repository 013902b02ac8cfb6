"""The whole NGO -> volunteer -> reviewer flow over real HTTP, through a real uvicorn process.

Two steps belong to the event pipeline, which is not built yet (issue 4): routing a
disagreement into review and publishing the decided result. The test does them through the
same board operations the pipeline's actors will call; everything else is plain HTTP.
"""

from __future__ import annotations

import json

import httpx
import redis

from core.delivery.results import Result, publish_result
from tests.support.board import TestBoard
from tests.support.live_ruche import ADMIN_TOKEN, RunningApi


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_volunteer(http: httpx.Client, name: str) -> tuple[str, dict[str, str]]:
    signed_up = http.post("/v1/volunteers", json={"display_name": name, "languages": ["en"]})
    assert signed_up.status_code == 201, signed_up.text
    headers = bearer(signed_up.json()["token"])
    assert http.post("/v1/me/charter", json={"accept": True}, headers=headers).status_code == 200
    return signed_up.json()["id"], headers


def test_ngo_volunteers_and_reviewer_over_real_http(
    running_api: RunningApi, redis_client: redis.Redis
) -> None:
    with httpx.Client(base_url=running_api.base_url, timeout=10) as http:
        # An operator registers the NGO; the NGO opens a moderation project.
        org = http.post(
            "/v1/orgs",
            json={"name": "Forum Care", "contact_email": "team@example.org"},
            headers=bearer(ADMIN_TOKEN),
        )
        assert org.status_code == 201, org.text
        ngo = bearer(org.json()["api_key"])
        project = http.post(
            "/v1/projects",
            json={
                "name": "Forum posts, November",
                "task_type": "moderation",
                "redundancy": 2,
                "instructions": "Flag posts that break the forum rules.",
            },
            headers=ngo,
        )
        assert project.status_code == 201, project.text
        project_id = project.json()["id"]

        # Bulk submission as NDJSON; sending it again creates nothing new.
        lines = [
            {"external_id": f"post-{n}", "payload": {"content": text, "labels": ["ok", "spam"]}}
            for n, text in enumerate(["Hello all!", "BUY CHEAP PILLS", "Meeting at 6?"])
        ]
        body = "\n".join(json.dumps(line) for line in lines)
        ndjson = {**ngo, "Content-Type": "application/x-ndjson"}
        first = http.post(f"/v1/projects/{project_id}/tasks", content=body, headers=ndjson)
        assert first.status_code == 200, first.text
        assert (first.json()["accepted"], first.json()["duplicates"]) == (3, 0)
        again = http.post(f"/v1/projects/{project_id}/tasks", content=body, headers=ndjson)
        assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)

        # Two volunteers answer every task; they disagree on the second post.
        submissions: dict[str, dict[str, str]] = {}
        for name, verdict_on_pills in (("Ada", "spam"), ("Grace", "ok")):
            _, volunteer = new_volunteer(http, name)
            while True:
                claim = http.post(
                    "/v1/assignments", json={"project_id": project_id}, headers=volunteer
                )
                if claim.status_code == 204:
                    break
                assert claim.status_code == 201, claim.text
                task = claim.json()["task"]
                assert task["instructions"] == "Flag posts that break the forum rules."
                label = verdict_on_pills if "PILLS" in task["payload"]["content"] else "ok"
                submitted = http.post(
                    f"/v1/assignments/{claim.json()['id']}/submit",
                    json={"answer": {"label": label}, "seconds_spent": 20},
                    headers=volunteer,
                )
                assert submitted.status_code == 202, submitted.text
                submissions.setdefault(task["id"], {})[name] = label
        assert len(submissions) == 3
        assert all(len(by) == 2 for by in submissions.values())
        [disputed] = [tid for tid, by in submissions.items() if len(set(by.values())) == 2]

        counts = http.get(f"/v1/projects/{project_id}", headers=ngo).json()["counts"]
        assert counts.get("aggregating") == 3

        # The pipeline's part: the disagreement goes to review.
        board = TestBoard(redis_client)
        assert board.open_review(project_id, disputed, "disagreement")

        # The NGO makes a trusted volunteer a reviewer, who settles it.
        reviewer_id, reviewer = new_volunteer(http, "Katherine")
        granted = http.post(
            f"/v1/projects/{project_id}/reviewers",
            json={"volunteer_id": reviewer_id},
            headers=ngo,
        )
        assert granted.status_code == 201, granted.text
        review = http.post("/v1/reviews", json={"project_id": project_id}, headers=reviewer)
        assert review.status_code == 201, review.text
        assert review.json()["task"]["id"] == disputed
        candidates = review.json()["candidates"]
        assert sorted(c["answer"]["label"] for c in candidates) == ["ok", "spam"]
        spam = next(c for c in candidates if c["answer"]["label"] == "spam")
        decided = http.post(
            f"/v1/reviews/{review.json()['id']}/decision",
            json={"action": "accept", "submission_id": spam["submission_id"], "comment": "spam"},
            headers=reviewer,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["state"] == "resolved"

        # The pipeline's part: the result is published; the NGO reads it by cursor, once.
        board.run(
            publish_result(
                board.keys,
                project_id,
                Result(disputed, {"label": "spam"}, confidence=1.0, method="review"),
            )
        )
        page = http.get(f"/v1/projects/{project_id}/results", headers=ngo).json()
        assert [item["task_id"] for item in page["items"]] == [disputed]
        assert page["items"][0]["answer"] == {"label": "spam"}
        assert page["items"][0]["external_id"] == "post-1"
        later = http.get(
            f"/v1/projects/{project_id}/results", params={"after": page["next"]}, headers=ngo
        ).json()
        assert later == {"items": [], "next": page["next"]}

        # Another NGO sees none of it.
        other = http.post(
            "/v1/orgs",
            json={"name": "Elsewhere", "contact_email": "x@example.org"},
            headers=bearer(ADMIN_TOKEN),
        )
        outsider = bearer(other.json()["api_key"])
        assert http.get(f"/v1/projects/{project_id}", headers=outsider).status_code == 404
        assert http.get(f"/v1/projects/{project_id}/results", headers=outsider).status_code == 404
