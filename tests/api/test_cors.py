"""CORS: closed by default; ``RUCHE_CORS_ORIGINS`` lets a volunteer app on another origin call
the API from a browser, with its token in the Authorization header (never with cookies)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from core.settings import Settings
from tests.support.api.client import app_client

pytestmark = pytest.mark.anyio

APP = "https://app.example.org"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_without_origins_no_cors_header_is_sent(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz", headers={"Origin": APP})
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)
    preflight = await api.options("/v1/assignments", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers


async def test_a_listed_origin_may_call_the_api_and_others_may_not(
    redis_client: object, redis_url: str
) -> None:
    settings = Settings(redis_url=redis_url, cors_origins=f"{APP}, http://localhost:5173")
    async with app_client(settings) as client:
        preflight = await client.options("/v1/assignments", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "access-control-allow-credentials" not in preflight.headers
        answer = await client.get("/healthz", headers={"Origin": APP})
        assert answer.headers["access-control-allow-origin"] == APP
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
        stranger = await client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        refused = await client.options(
            "/v1/assignments", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert refused.status_code == 400


@pytest.mark.parametrize("value", ["*", "app.example.org", "https://app.example.org/path"])
def test_an_origin_must_be_scheme_and_host(value: str) -> None:
    with pytest.raises(ValidationError, match="not an origin"):
        Settings(cors_origins=value)
