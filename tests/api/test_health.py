"""/healthz and /readyz through the real ASGI app, against a real Redis."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.main import create_app
from core.redis.server import RedisServer, free_port
from core.settings import Settings
from tests.support.api.client import AppClient

pytestmark = pytest.mark.anyio


def assert_redis_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "error": {
            "code": "redis_unavailable",
            "message": "Redis does not answer; retry shortly.",
            "details": [],
        }
    }


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_redis_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_503_with_retry_after_when_redis_is_unreachable(
    make_client: AppClient,
) -> None:
    closed = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with make_client(closed) as unready:
        assert_redis_unavailable(await unready.get("/readyz"))
        assert (await unready.get("/healthz")).status_code == 200  # the process itself is fine


async def test_readyz_follows_redis_going_away(make_client: AppClient, tmp_path: Path) -> None:
    server = RedisServer(tmp_path, appendonly=False)
    server.start()
    try:
        async with make_client(Settings(redis_url=server.url)) as app_client:
            assert (await app_client.get("/readyz")).status_code == 200
            server.stop()
            assert_redis_unavailable(await app_client.get("/readyz"))
    finally:
        server.stop()


async def test_the_app_refuses_to_start_without_a_redis_url() -> None:
    with pytest.raises(RuntimeError, match="RUCHE_REDIS_URL"):
        create_app(Settings(redis_url=None))


async def test_openapi_documents_the_probes_and_their_error_shape(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Ruche"
    assert {"/healthz", "/readyz"} <= set(spec["paths"])
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]
    assert (await client.get("/docs")).status_code == 200
