"""Every 429 the API answers carries ``Retry-After``, whatever raised it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import HTTPException

from api.main import create_app
from core.errors import TooManyAssignments, TooManyRequests
from core.settings import Settings

pytestmark = pytest.mark.anyio


async def test_each_kind_of_429_says_when_to_retry(redis_url: str) -> None:
    app = create_app(Settings(redis_url=redis_url))

    async def own() -> None:
        raise TooManyRequests("slow down", retry_after_s=30)

    async def cap() -> None:
        raise TooManyAssignments("full", [{"live": 5}], retry_after_s=0)  # never below 1

    async def bare() -> None:
        raise HTTPException(status_code=429)

    for path, endpoint in (("/own", own), ("/cap", cap), ("/bare", bare)):
        app.add_api_route(path, endpoint)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ruche") as client:
        retry = {}
        for path in ("/own", "/cap", "/bare"):
            response = await client.get(path)
            assert response.status_code == 429
            assert response.json()["error"]["code"] in {
                "too_many_requests", "too_many_assignments",
            }  # fmt: skip
            retry[path] = response.headers["retry-after"]
    assert retry == {"/own": "30", "/cap": "1", "/bare": "1"}
