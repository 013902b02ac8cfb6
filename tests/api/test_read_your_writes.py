"""What a person just changed is seen by their next request on any API process: two apps (two
processes' memories) on one Redis, then two real ``ruche api`` processes: a profile (languages,
display name), a project's policy and instructions, a reviewer's rights, each changed through
one and used at once through the other (core.accounts.store, core.projects.changes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.redis.server import free_port
from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN, Actors, app_client
from tests.support.api.volunteers import PROJECT, translation
from tests.support.cluster_flow import Api, start_api


@pytest.mark.anyio
async def test_a_charter_accepted_on_one_process_is_seen_at_once_by_another(
    redis_client: object, redis_url: str
) -> None:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)
    async with app_client(settings) as first, app_client(settings) as second:
        _, org = await Actors(first).org()
        made = await first.post("/v1/projects", json=PROJECT, headers=org)
        assert made.status_code == 201, made.text
        tasks = {"tasks": [{"payload": translation(1)}]}
        sent = await first.post(f"/v1/projects/{made.json()['id']}/tasks", json=tasks, headers=org)
        assert sent.status_code == 200, sent.text
        _, me = await Actors(first).volunteer(["en", "fr"], charter=False)
        refused = await second.post("/v1/assignments", json={}, headers=me)
        assert refused.status_code == 403, refused.text  # the second process read the profile
        accepted = await first.post("/v1/me/charter", json={"accept": True}, headers=me)
        assert accepted.is_success, accepted.text
        claimed = await second.post("/v1/assignments", json={}, headers=me)
        assert claimed.status_code == 201, claimed.text


# -- two real API processes ---------------------------------------------------------------------


@pytest.fixture
def two_apis(redis_client: object, redis_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two ``ruche api`` processes on one Redis: their base URLs."""
    env = {"RUCHE_REDIS_URL": redis_url, "RUCHE_ADMIN_TOKEN": ADMIN_TOKEN}
    started: list[Api] = []
    try:
        for name in ("first", "second"):
            started.append(start_api(free_port(), env, tmp_path / f"{name}.log"))
        yield [api.base_url for api in started]
    finally:
        for api in started:
            api.stop()


def _scene(first: httpx.Client, languages: list[str]) -> tuple[str, dict[str, str]]:
    """An organisation's translation project in ``languages`` with three tasks."""
    made = first.post(
        "/v1/orgs", json={"name": "Clinic", "contact_email": "a@example.org"}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    org = {"Authorization": f"Bearer {made.json()['api_key']}"}
    project = first.post("/v1/projects", json={**PROJECT, "languages": languages}, headers=org)
    assert project.status_code == 201, project.text
    tasks = {"tasks": [{"payload": translation(n)} for n in range(3)]}
    sent = first.post(f"/v1/projects/{project.json()['id']}/tasks", json=tasks, headers=org)
    assert sent.status_code == 200, sent.text
    return project.json()["id"], org


def _volunteer(first: httpx.Client, languages: list[str]) -> tuple[str, dict[str, str]]:
    signed = first.post("/v1/volunteers", json={"display_name": "Ada", "languages": languages})
    assert signed.status_code == 201, signed.text
    me = {"Authorization": f"Bearer {signed.json()['token']}"}
    assert first.post("/v1/me/charter", json={"accept": True}, headers=me).is_success
    return signed.json()["id"], me


def test_a_profile_changed_on_one_process_is_seen_by_the_next_claim_on_another(
    two_apis: list[str],
) -> None:
    with httpx.Client(base_url=two_apis[0]) as first, httpx.Client(base_url=two_apis[1]) as second:
        _scene(first, ["sw"])
        _, me = _volunteer(first, ["en"])
        # The second process reads the profile (and remembers it): nothing in English.
        assert second.post("/v1/assignments", json={}, headers=me).status_code == 204
        assert second.get("/v1/me", headers=me).json()["display_name"] == "Ada"
        edited = first.patch(
            "/v1/me", json={"languages": ["en", "sw"], "display_name": "Ada L."}, headers=me
        )
        assert edited.status_code == 200, edited.text
        claimed = second.post("/v1/assignments", json={}, headers=me)
        assert claimed.status_code == 201, claimed.text
        assert second.get("/v1/me", headers=me).json()["display_name"] == "Ada L."
        # And back: Swahili dropped on the first, the second claims nothing more.
        assert first.patch("/v1/me", json={"languages": ["en", "sw"]}, headers=me).is_success
        assert second.post("/v1/assignments", json={}, headers=me).status_code == 201
        assert first.patch("/v1/me", json={"languages": ["en"]}, headers=me).is_success
        assert second.post("/v1/assignments", json={}, headers=me).status_code == 204
        # Erased on the first: the second, which still knows the token, claims nothing.
        assert first.patch("/v1/me", json={"languages": ["en", "sw"]}, headers=me).is_success
        assert second.get("/v1/me", headers=me).status_code == 200  # remembered there again
        assert first.delete("/v1/me", headers=me).status_code == 202
        assert second.post("/v1/assignments", json={}, headers=me).status_code in (401, 404)


def test_a_project_policy_changed_on_one_process_is_seen_by_the_next_claim_on_another(
    two_apis: list[str],
) -> None:
    with httpx.Client(base_url=two_apis[0]) as first, httpx.Client(base_url=two_apis[1]) as second:
        project_id, org = _scene(first, ["sw"])
        _, me = _volunteer(first, ["en"])
        # The second process reads the claim index (and remembers it): nothing in English.
        assert second.post("/v1/assignments", json={}, headers=me).status_code == 204
        changed = first.patch(
            f"/v1/projects/{project_id}",
            json={"languages": ["en"], "instructions": "Keep it short."},
            headers=org,
        )
        assert changed.status_code == 200, changed.text
        claimed = second.post("/v1/assignments", json={}, headers=me)
        assert claimed.status_code == 201, claimed.text
        assert claimed.json()["task"]["instructions"] == "Keep it short.", claimed.json()
        # The NGO's own next read, on the second process, shows what it wrote.
        seen = second.get(f"/v1/projects/{project_id}", headers=org).json()
        assert seen["languages"] == ["en"] and seen["instructions"] == "Keep it short."
        edited = first.patch(
            f"/v1/projects/{project_id}", json={"instructions": "Keep it shorter."}, headers=org
        )
        assert edited.status_code == 200, edited.text
        again = second.post("/v1/assignments", json={}, headers=me)
        assert (
            again.status_code == 201 and again.json()["task"]["instructions"] == "Keep it shorter."
        )


def test_a_reviewer_granted_on_one_process_reviews_at_once_on_another(
    two_apis: list[str],
) -> None:
    with httpx.Client(base_url=two_apis[0]) as first, httpx.Client(base_url=two_apis[1]) as second:
        project_id, org = _scene(first, ["en"])
        reviewer_id, reviewer = _volunteer(first, ["en"])
        refused = second.post("/v1/reviews", json={}, headers=reviewer)
        assert refused.status_code == 403, refused.text
        granted = first.post(
            f"/v1/projects/{project_id}/reviewers",
            json={"volunteer_id": reviewer_id},
            headers=org,
        )
        assert granted.status_code == 201, granted.text
        assert second.post("/v1/reviews", json={}, headers=reviewer).status_code == 204
        assert second.get("/v1/me", headers=reviewer).json()["reviewer_of"] == [project_id]
        withdrawn = first.delete(f"/v1/projects/{project_id}/reviewers/{reviewer_id}", headers=org)
        assert withdrawn.status_code == 204, withdrawn.text
        assert second.post("/v1/reviews", json={}, headers=reviewer).status_code == 403
