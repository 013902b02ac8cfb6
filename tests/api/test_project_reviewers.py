"""Granting and withdrawing review rights on a project."""

from __future__ import annotations

import httpx
import pytest
import redis

from core.redis.keys import Keys
from tests.support.api.client import Actors
from tests.support.api.ngo import new_project, volunteer_token

pytestmark = pytest.mark.anyio


async def test_an_organisation_grants_and_withdraws_review_rights(
    api: httpx.AsyncClient, actors: Actors, redis_url: str, redis_client: redis.Redis
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    volunteer_id, _ = await volunteer_token(redis_url)
    url = f"/v1/projects/{project_id}/reviewers"

    granted = await api.post(url, json={"volunteer_id": volunteer_id}, headers=org)
    assert granted.status_code == 201
    assert granted.json() == {"project_id": project_id, "volunteer_id": volunteer_id}
    assert redis_client.sismember(Keys().project(project_id).reviewers, volunteer_id)
    assert (
        await api.post(url, json={"volunteer_id": volunteer_id}, headers=org)
    ).status_code == 201
    assert (await api.get(url, headers=org)).json() == {"items": [volunteer_id]}

    assert (await api.delete(f"{url}/{volunteer_id}", headers=org)).status_code == 204
    assert not redis_client.sismember(Keys().project(project_id).reviewers, volunteer_id)
    assert (await api.delete(f"{url}/{volunteer_id}", headers=org)).status_code == 204


async def test_unknown_volunteers_cannot_be_granted(api: httpx.AsyncClient, actors: Actors) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    for volunteer_id in ("vol_0123456789abcdefghjk", "nobody"):
        response = await api.post(
            f"/v1/projects/{project_id}/reviewers", json={"volunteer_id": volunteer_id}, headers=org
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "volunteer_not_found"
    bad = await api.post(
        f"/v1/projects/{project_id}/reviewers",
        json={"volunteer_id": "vol_x", "role": "admin"},
        headers=org,
    )
    assert bad.status_code == 422


async def test_volunteers_cannot_grant_themselves(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    _, org = await actors.org()
    project_id = (await new_project(api, org))["id"]
    volunteer_id, volunteer = await volunteer_token(redis_url)
    response = await api.post(
        f"/v1/projects/{project_id}/reviewers",
        json={"volunteer_id": volunteer_id},
        headers=volunteer,
    )
    assert response.status_code == 403
