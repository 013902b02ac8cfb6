"""What a person just changed is seen by their next request on any API process: two apps (two
processes' memories) on one Redis."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors, app_client
from tests.support.api.volunteers import PROJECT, translation

pytestmark = pytest.mark.anyio


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
