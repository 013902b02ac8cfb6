"""Redis stopped and restarted under the running API: 503 with Retry-After, then recovery."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core.redis.server import RedisServer
from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN, app_client

pytestmark = pytest.mark.anyio


async def test_the_api_answers_503_while_redis_is_down_and_recovers_alone(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    try:
        settings = Settings(redis_url=server.url, admin_token=ADMIN_TOKEN)
        async with app_client(settings) as api:
            created = await api.post(
                "/v1/orgs", json={"name": "Before", "contact_email": "a@example.org"}, headers=ADMIN
            )
            assert created.status_code == 201, created.text
            org_headers = {"Authorization": f"Bearer {created.json()['api_key']}"}

            server.stop()
            for call in (
                api.get("/readyz"),
                api.get("/v1/org", headers=org_headers),
                api.post(
                    "/v1/orgs",
                    json={"name": "During", "contact_email": "b@example.org"},
                    headers=ADMIN,
                ),
            ):
                response: httpx.Response = await call
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"]
                assert response.json()["error"]["code"] == "redis_unavailable"

            server.start()  # same port, same data directory: the AOF brings the data back
            assert (await api.get("/readyz")).status_code == 200
            again = await api.get("/v1/org", headers=org_headers)
            assert again.status_code == 200, again.text
            assert again.json()["name"] == "Before"
            after = await api.post(
                "/v1/orgs", json={"name": "After", "contact_email": "c@example.org"}, headers=ADMIN
            )
            assert after.status_code == 201
    finally:
        server.stop()
